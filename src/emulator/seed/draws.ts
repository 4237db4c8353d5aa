/** The demo world's random draws: the seeded PRNG plus the uniqueness of ids and message times across the world. */
import { mulberry32 } from '../random.js';

/** Digits drawn per PRNG call; 10^9 stays well inside a double's exact integers. */
const DIGIT_CHUNK = 9;

/** Random draws plus uniqueness bookkeeping shared across all Pages of the world. */
export class Draws {
  readonly #next: () => number;
  constructor(
    seed: number,
    private readonly usedIds: Set<string>,
    private readonly usedTimes: Set<number>,
  ) {
    this.#next = mulberry32(seed);
  }
  float(): number {
    return this.#next();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }
  chance(probability: number): boolean {
    return this.#next() < probability;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#next() * items.length)]!;
  }
  /** `length` digits, no leading zero, never drawn before in this world. */
  digits(length: number): string {
    return this.#unique(() => {
      let out = String(1 + Math.floor(this.#next() * 9));
      while (out.length < length) {
        const chunk = Math.min(DIGIT_CHUNK, length - out.length);
        out += String(Math.floor(this.#next() * 10 ** chunk)).padStart(chunk, '0');
      }
      return out;
    });
  }
  /** About `length` base64url characters after `prefix`, never drawn before in this world. */
  opaque(prefix: string, length: number): string {
    return this.#unique(() => {
      const bytes = Buffer.allocUnsafe(Math.ceil((length * 3) / 4));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(this.#next() * 256);
      return prefix + bytes.toString('base64url').slice(0, length);
    });
  }
  /** A Unix second not used by any other message in the world, at or before `wanted`. */
  time(wanted: number): number {
    let t = Math.floor(wanted);
    while (this.usedTimes.has(t)) t -= 1;
    this.usedTimes.add(t);
    return t;
  }
  #unique(draw: () => string): string {
    for (;;) {
      const value = draw();
      if (!this.usedIds.has(value)) {
        this.usedIds.add(value);
        return value;
      }
    }
  }
}
