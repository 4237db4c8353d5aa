/**
 * Where proofs of reach live (read-access.ts decides what they prove): in this process's memory, or in Redis for a
 * fleet (src/redis/proof-store.ts), so a proof a token made on one instance serves it on every other. A proof is a
 * name made of a token's fingerprint and what it read (`<fingerprint>|<page>|<platform>`, `<fingerprint>|thread|<id>`…):
 * never a token, never a body. Each lives for the proof TTL from its last proving, and ends at once when revoked.
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from '../lru-caches.js';

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

/** Proofs kept at most by the memory store (the least recently used are forgotten first). */
export const MAX_STORED_PROOFS = 20_000;

/** The proofs of a process alone. */
export class MemoryProofStore implements ProofStore {
  readonly #proofs: LRUCache<string, true>;

  constructor(options: { max?: number; now?: (() => number) | undefined } = {}) {
    const perf = options.now === undefined ? {} : { perf: { now: options.now } };
    this.#proofs = createLruCache(options.max ?? MAX_STORED_PROOFS, { ttlAutopurge: false, ttl: 1, ...perf });
  }

  async lookup(names: readonly string[]): Promise<Array<number | undefined>> {
    return names.map((name) => {
      const left = this.#proofs.getRemainingTTL(name);
      return left > 0 ? left : undefined;
    });
  }

  async prove(names: readonly string[], ttlMs: number): Promise<void> {
    for (const name of names) this.#proofs.set(name, true, { ttl: ttlMs });
  }

  async revoke(names: readonly string[]): Promise<void> {
    for (const name of names) this.#proofs.delete(name);
  }
}
