/**
 * The redelivery filter a fleet shares (see `RedeliveryFilter` in src/webhooks/redelivery.ts): the first
 * instance to see an event sets its key (SET NX PX), so a redelivery that reaches another instance is
 * dropped there too. Keys are a hash of the event's identity: no message id or customer id is stored.
 * While Redis is unreachable, each instance drops what it saw itself.
 */
import { createHash } from 'node:crypto';
import { MemoryRedeliveryFilter, REDELIVERY_WINDOW_MS, type RedeliveryFilter } from '../webhooks/redelivery.js';
import { type RedisConnection, UNREACHABLE } from './connection.js';

export class RedisRedeliveryFilter implements RedeliveryFilter {
  readonly #connection: RedisConnection;
  readonly #windowMs: number;
  readonly #local = new MemoryRedeliveryFilter();

  /** `windowMs`: how long an event is remembered. @default REDELIVERY_WINDOW_MS */
  constructor(connection: RedisConnection, windowMs = REDELIVERY_WINDOW_MS) {
    this.#connection = connection;
    this.#windowMs = windowMs;
  }

  async firstSeen(key: string): Promise<boolean> {
    const hashed = createHash('sha256').update(key).digest('base64url');
    const answer = await this.#connection.run((redis) =>
      redis.set(this.#connection.key(`redelivery:${hashed}`), '1', 'PX', this.#windowMs, 'NX'),
    );
    // Remembered here too: a redelivery arriving while Redis is away is still dropped by this instance.
    const local = await this.#local.firstSeen(key);
    return answer === UNREACHABLE ? local : answer === 'OK' && local;
  }
}
