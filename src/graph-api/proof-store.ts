/**
 * Where proofs of reach live (read-access.ts decides what they prove): in this process's memory, or in Redis for a
 * fleet (src/redis/proof-store.ts), so a proof a token made on one instance serves it on every other. A proof is a
 * name made of a token's fingerprint and what it read (`<fingerprint>|<page>|<platform>`, `<fingerprint>|thread|<id>`…):
 * never a token, never a body. Each lives for the proof TTL from its last proving, and ends at once when revoked.
 */
import { DEFAULT_CAPACITY } from '../capacity.js';
import { SegmentedLru } from '../segmented-lru.js';

export interface ProofStore {
  /**
   * The ms each of `names` has left to live (`undefined` where none is live), in the order asked; `undefined` as a whole
   * when the store cannot answer now (Redis unreachable): the caller then keeps what it knows.
   */
  lookup(names: readonly string[]): Promise<Array<number | undefined> | undefined>;
  /** Makes `names` live for `ttlMs` from now. */
  prove(names: readonly string[], ttlMs: number): Promise<void>;
  /** Ends `names` at once. */
  revoke(names: readonly string[]): Promise<void>;
}

/**
 * The proofs of a process alone, `max` at most (CAPACITY_TOKENS × 4): in a segmented LRU, so that a pass of every agent
 * over more proofs than that still finds most of those kept (a proof missing costs its token one read from Graph).
 */
export class MemoryProofStore implements ProofStore {
  readonly #proofs: SegmentedLru<string, true>;

  constructor(options: { max?: number; now?: (() => number) | undefined } = {}) {
    this.#proofs = new SegmentedLru({ max: options.max ?? DEFAULT_CAPACITY.proofs, now: options.now });
  }

  async lookup(names: readonly string[]): Promise<Array<number | undefined>> {
    return names.map((name) => {
      const left = this.#proofs.get(name) === undefined ? 0 : this.#proofs.remainingTtl(name);
      return left > 0 ? left : undefined;
    });
  }

  async prove(names: readonly string[], ttlMs: number): Promise<void> {
    for (const name of names) this.#proofs.set(name, true, Math.max(1, ttlMs));
  }

  async revoke(names: readonly string[]): Promise<void> {
    for (const name of names) this.#proofs.delete(name);
  }
}
