/**
 * Where the identities of tokens (credentials.ts) live: in this process's memory, or in Redis for a fleet
 * (src/redis/identity-store.ts), so a token one instance identified costs no `/me` read on another. Keyed by the
 * token's fingerprint, never the token. What is stored is {@link StoredIdentity}: the identity's kind, id, name and
 * Pages with their tasks in clear, and the Page tokens of a user token only sealed with a key derived from that user
 * token (credentials.ts `sealPageTokens`), which is stored nowhere: whoever reads the store without the token learns
 * no token.
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from './lru-caches.js';

/** An identity as stored: nothing in it is a token but sealed. */
export interface StoredIdentity {
  readonly kind: 'page' | 'user';
  readonly id: string;
  readonly name: string | undefined;
  /** The Pages it reaches, in `/me/accounts` order (a Page token: its own Page). */
  readonly pages: ReadonlyArray<{ readonly id: string; readonly name: string | undefined; readonly tasks: readonly string[] | undefined }>;
  /** A user token's Page tokens in the order of `pages`, sealed (AES-256-GCM) with a key only that token gives; none for a Page token. */
  readonly sealedPageTokens: string | undefined;
}

export interface IdentityStore {
  /** The identity stored for a token's fingerprint and the ms it has left; `undefined` when none is, or the store cannot answer now. */
  get(fingerprint: string): Promise<{ identity: StoredIdentity; ttlMs: number } | undefined>;
  /** Stores the identity of a token's fingerprint for `ttlMs`. */
  set(fingerprint: string, identity: StoredIdentity, ttlMs: number): Promise<void>;
}

/** Identities kept at most by the memory store. */
export const MAX_STORED_IDENTITIES = 10_000;

/** The identities of a process alone. */
export class MemoryIdentityStore implements IdentityStore {
  readonly #identities: LRUCache<string, StoredIdentity>;

  constructor(options: { max?: number; now?: (() => number) | undefined } = {}) {
    const perf = options.now === undefined ? {} : { perf: { now: options.now } };
    this.#identities = createLruCache(options.max ?? MAX_STORED_IDENTITIES, { ttl: 1, ...perf });
  }

  async get(fingerprint: string): Promise<{ identity: StoredIdentity; ttlMs: number } | undefined> {
    const identity = this.#identities.get(fingerprint);
    const ttlMs = this.#identities.getRemainingTTL(fingerprint);
    return identity === undefined || ttlMs <= 0 ? undefined : { identity, ttlMs };
  }

  async set(fingerprint: string, identity: StoredIdentity, ttlMs: number): Promise<void> {
    this.#identities.set(fingerprint, identity, { ttl: ttlMs });
  }
}
