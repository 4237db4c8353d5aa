/**
 * The ledger of sends a fleet shares (see `SendLedger` in src/replies/send-ledger.ts): the first instance
 * to claim a key takes it with SET NX, so of all concurrent claims on every instance exactly one sends.
 *
 * Per key (under the deployment's key prefix; the key itself hashed, so no caller's string is stored):
 *   - `send:<hash>`, the record as JSON (`fingerprint`, `claimedAt`, `outcome`), kept `ttlMs` from its claim;
 *   - `send-echo:<hash>`, the message id of an echo that carried the key, kept `ttlMs` from the echo (an
 *     echo may come before the claim is seen, and survives a release).
 * A settled outcome keeps the record's TTL. Waiting for another instance's send polls the record every
 * `pollMs`: sends are few, and no subscription has to be kept in step with the keys.
 *
 * While Redis is unreachable every method throws {@link SendLedgerUnavailableError}: unlike the budget or
 * the cache, the ledger has no local fallback, since an instance that claimed in its own memory could not
 * see a retry's claim on another instance, and the customer would get the message twice. A send is
 * refused instead, and the caller may retry once Redis answers.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type ClaimResult,
  type SendLedger,
  SendLedgerUnavailableError,
  type SendOutcome,
  type SendRecord,
} from '../replies/send-ledger.js';
import { type RedisConnection, runScript, UNREACHABLE } from './connection.js';

export interface RedisSendLedgerOptions {
  /** How long a key is kept after it is claimed (or an echo after it is noted), in ms (SEND_IDEMPOTENCY_TTL_SECONDS). */
  ttlMs: number;
  /** How often {@link RedisSendLedger.whenSettled} looks at the record again while another instance's send is in flight. @default 25 */
  pollMs?: number;
}

/** Most times a claim is tried when the record it lost to vanishes (released or expired) before it is read. */
const MAX_CLAIM_ATTEMPTS = 3;

/** The record as stored: JSON has no `undefined`, so an outcome in flight is `null`. */
interface StoredRecord {
  fingerprint: string;
  claimedAt: number;
  outcome: SendOutcome | null;
}

/**
 * KEYS: record. ARGV: outcome JSON. Sets the outcome of a record that is still there, keeping its TTL and its
 * claim; the outcome's JSON is stored byte for byte (decoding it in Lua would turn `[]` into `{}`).
 */
const SETTLE = `
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local record = cjson.decode(stored)
local head = '{"fingerprint":' .. cjson.encode(record.fingerprint) .. ',"claimedAt":' .. string.format('%.17g', record.claimedAt)
redis.call('SET', KEYS[1], head .. ',"outcome":' .. ARGV[1] .. '}', 'KEEPTTL')
return 1
`;

/** The ledger a fleet shares through Redis; refuses to answer (throws) while Redis is unreachable. */
export class RedisSendLedger implements SendLedger {
  readonly ttlMs: number;
  readonly #connection: RedisConnection;
  readonly #pollMs: number;

  constructor(connection: RedisConnection, options: RedisSendLedgerOptions) {
    const { ttlMs, pollMs = 25 } = options;
    if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new TypeError(`RedisSendLedger: ttlMs must be an integer ≥ 1, got ${ttlMs}`);
    if (!Number.isInteger(pollMs) || pollMs < 1) throw new TypeError(`RedisSendLedger: pollMs must be an integer ≥ 1, got ${pollMs}`);
    this.#connection = connection;
    this.ttlMs = ttlMs;
    this.#pollMs = pollMs;
  }

  async claim(key: string, fingerprint: string, now: number): Promise<ClaimResult> {
    const stored: StoredRecord = { fingerprint, claimedAt: now, outcome: null };
    const value = JSON.stringify(stored);
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const answer = await this.#run((redis) => redis.set(this.#recordKey(key), value, 'PX', this.ttlMs, 'NX'));
      if (answer === 'OK') return { claimed: true };
      const record = await this.get(key);
      if (record !== undefined) return { claimed: false, record };
    }
    // Claimed and freed again each time between two commands: no answer can be trusted, so no send is made.
    throw new SendLedgerUnavailableError(
      `The send ledger could not hold a claim: the key was taken and freed again ${MAX_CLAIM_ATTEMPTS} times in a row.`,
    );
  }

  async settle(key: string, outcome: SendOutcome): Promise<void> {
    await this.#run((redis) => runScript(redis, SETTLE, [this.#recordKey(key)], [JSON.stringify(outcome)]));
  }

  async release(key: string): Promise<void> {
    await this.#run((redis) => redis.del(this.#recordKey(key)));
  }

  async get(key: string): Promise<SendRecord | undefined> {
    const [stored, echoed] = await this.#run((redis) => redis.mget(this.#recordKey(key), this.#echoKey(key)));
    if (stored === null || stored === undefined) return undefined;
    const record = JSON.parse(stored) as StoredRecord;
    return {
      fingerprint: record.fingerprint,
      claimedAt: record.claimedAt,
      outcome: record.outcome ?? undefined,
      echoedMessageId: echoed ?? undefined,
    };
  }

  async whenSettled(key: string, deadline: number): Promise<SendRecord | undefined> {
    for (;;) {
      const record = await this.get(key);
      if (record === undefined || record.outcome !== undefined || record.echoedMessageId !== undefined) return record;
      const left = deadline - Date.now();
      if (left <= 0) return record;
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, this.#pollMs)));
    }
  }

  async noteEcho(key: string, messageId: string): Promise<void> {
    await this.#run((redis) => redis.set(this.#echoKey(key), messageId, 'PX', this.ttlMs));
  }

  /** Runs `command` on Redis, or throws: the ledger has no answer of its own to fall back to. */
  async #run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    const answer = await this.#connection.run(command);
    if (answer === UNREACHABLE) throw new SendLedgerUnavailableError();
    return answer;
  }

  #recordKey(key: string): string {
    return this.#connection.key(`send:${hashed(key)}`);
  }

  #echoKey(key: string): string {
    return this.#connection.key(`send-echo:${hashed(key)}`);
  }
}

/** The key as stored: a digest, so that no caller's key (nor what it was derived from) is kept in Redis. */
const hashed = (key: string): string => createHash('sha256').update(key).digest('base64url');
