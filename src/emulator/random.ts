/**
 * The one seeded PRNG of the project: the emulator's demo world draws from it, and so do the tools
 * (`npm run soak`) and tests that need a repeatable random sequence. Never `Math.random` where a
 * run must be repeatable.
 */

/** Small, fast, seedable PRNG (mulberry32); returns floats in [0, 1). Equal seeds give equal sequences. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
