/**
 * The proofs of reach a fleet shares (see `ProofStore` in src/graph-api/proof-store.ts): one key per proof,
 * `proof:<name>` under the deployment's prefix, set with the proof TTL (SET PX) and read with PTTL, so every
 * instance sees a proof the moment another made it, and its end the moment another revoked it. A name holds a
 * token's fingerprint, never the token. While Redis is unreachable, lookups answer `undefined` (each instance keeps
 * what it knows in its own front cache, read-access.ts) and writes are dropped.
 */
import type { ProofStore } from '../graph-api/proof-store.js';
import { type RedisConnection, UNREACHABLE } from './connection.js';

export class RedisProofStore implements ProofStore {
  readonly #connection: RedisConnection;

  constructor(connection: RedisConnection) {
    this.#connection = connection;
  }

  async lookup(names: readonly string[]): Promise<Array<number | undefined> | undefined> {
    if (names.length === 0) return [];
    const answers = await this.#connection.run(async (redis) => {
      const pipeline = redis.pipeline();
      for (const name of names) pipeline.pttl(this.#key(name));
      return (await pipeline.exec()) ?? [];
    });
    if (answers === UNREACHABLE) return undefined;
    return answers.map(([error, left]) => (error === null && typeof left === 'number' && left > 0 ? left : undefined));
  }

  async prove(names: readonly string[], ttlMs: number): Promise<void> {
    if (names.length === 0) return;
    await this.#connection.run(async (redis) => {
      const pipeline = redis.pipeline();
      for (const name of names) pipeline.set(this.#key(name), '1', 'PX', Math.max(1, Math.round(ttlMs)));
      await pipeline.exec();
    });
  }

  async revoke(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.#connection.run((redis) => redis.del(...names.map((name) => this.#key(name))));
  }

  #key(name: string): string {
    return this.#connection.key(`proof:${name}`);
  }
}
