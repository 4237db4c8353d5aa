/**
 * The identities of tokens a fleet shares (see `IdentityStore` in src/identity-store.ts): `identity:<fingerprint>`
 * under the deployment's prefix, the stored identity as JSON (no token in clear: a user token's Page tokens are
 * sealed), kept for the credentials TTL. While Redis is unreachable, nothing is found and nothing is written: each
 * instance then asks Graph, as it would alone.
 */
import type { IdentityStore, StoredIdentity } from '../identity-store.js';
import { type RedisConnection, UNREACHABLE } from './connection.js';

export class RedisIdentityStore implements IdentityStore {
  readonly #connection: RedisConnection;

  constructor(connection: RedisConnection) {
    this.#connection = connection;
  }

  async get(fingerprint: string): Promise<{ identity: StoredIdentity; ttlMs: number } | undefined> {
    const answer = await this.#connection.run(async (redis) => {
      const key = this.#key(fingerprint);
      const [[, stored], [, ttlMs]] = ((await redis.multi().get(key).pttl(key).exec()) ?? []) as [[unknown, unknown], [unknown, unknown]];
      return { stored, ttlMs };
    });
    if (answer === UNREACHABLE || typeof answer.stored !== 'string' || typeof answer.ttlMs !== 'number' || answer.ttlMs <= 0)
      return undefined;
    try {
      const parsed = JSON.parse(answer.stored) as StoredIdentity & { name: string | null; sealedPageTokens: string | null };
      const identity: StoredIdentity = {
        ...parsed,
        name: parsed.name ?? undefined,
        sealedPageTokens: parsed.sealedPageTokens ?? undefined,
        pages: parsed.pages.map((page) => ({ id: page.id, name: page.name ?? undefined, tasks: page.tasks ?? undefined })),
      };
      return { identity, ttlMs: answer.ttlMs };
    } catch {
      return undefined;
    }
  }

  async set(fingerprint: string, identity: StoredIdentity, ttlMs: number): Promise<void> {
    const json = JSON.stringify({
      ...identity,
      name: identity.name ?? null,
      sealedPageTokens: identity.sealedPageTokens ?? null,
      pages: identity.pages.map((page) => ({ id: page.id, name: page.name ?? null, tasks: page.tasks ?? null })),
    });
    await this.#connection.run((redis) => redis.set(this.#key(fingerprint), json, 'PX', Math.max(1, Math.round(ttlMs))));
  }

  #key(fingerprint: string): string {
    return this.#connection.key(`identity:${fingerprint}`);
  }
}
