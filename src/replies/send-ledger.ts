/**
 * The ledger of sends: what makes a reply exactly once. Meta's Send API has no idempotency key (a send made
 * twice is two messages in the customer's thread), so the gateway records each send under its key before
 * making it: the first caller claims the key and sends; a retry with the same key (on any instance sharing
 * the ledger) gets the first send's outcome, waiting for it while it is in flight, and never sends again.
 * The key also travels in the message's `metadata`, which Meta returns in the echo webhook: an echo proves
 * a send whose answer was lost did arrive ({@link SendLedger.noteEcho}).
 *
 * In memory for one process ({@link MemorySendLedger}); `src/redis/` holds the ledger a fleet shares.
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from '../lru-caches.js';

/** What became of a send, as the ledger keeps it (JSON-safe: the Redis ledger stores it as is). */
export type SendOutcome =
  /** Graph accepted it: its message id, when, and whom it went to. */
  | { readonly kind: 'sent'; readonly messageId: string; readonly sentAt: number; readonly recipientId: string }
  /** Graph (or the gateway, with what Graph would answer) refused it for good: nothing was sent. */
  | { readonly kind: 'refused'; readonly refusal: Readonly<Record<string, unknown>> }
  /** The request left and no answer came: it may have arrived. Resolved by the echo, or by time. */
  | { readonly kind: 'unknown'; readonly since: number };

/** One key's entry. */
export interface SendRecord {
  /** What was asked under the key (a digest of conversation and content): a key reused for another send is refused. */
  readonly fingerprint: string;
  /** Epoch ms the key was claimed. */
  readonly claimedAt: number;
  /** `undefined` while the send is in flight (claimed, not yet settled). */
  readonly outcome: SendOutcome | undefined;
  /** The message id of an echo webhook that carried the key: the send arrived, whatever its outcome said. */
  readonly echoedMessageId: string | undefined;
}

/** The ledger's answer to a claim. */
export type ClaimResult = { readonly claimed: true } | { readonly claimed: false; readonly record: SendRecord };

/** Thrown by a ledger that cannot answer (Redis unreachable): a send is then refused rather than risked twice. */
export class SendLedgerUnavailableError extends Error {
  constructor(message = 'The send ledger is unreachable: no send is made that could not be told apart from a retry.') {
    super(message);
    this.name = 'SendLedgerUnavailableError';
  }
}

/** The sends of one process, or of a fleet; keys are opaque strings (the caller hashes what it is given). */
export interface SendLedger {
  /** How long a key is kept after it is claimed, in ms. */
  readonly ttlMs: number;
  /**
   * Takes `key` for a new send (atomically: of all concurrent claims on every instance, exactly one is
   * `claimed: true`), or returns the record already under it. An echo noted before the claim is kept.
   */
  claim(key: string, fingerprint: string, now: number): Promise<ClaimResult>;
  /** Records the outcome of the send holding `key`; the key keeps its TTL. */
  settle(key: string, outcome: SendOutcome): Promise<void>;
  /** Frees `key` (the send provably did not leave): a retry with it sends afresh. */
  release(key: string): Promise<void>;
  /** The record under `key`, if any (an echo noted for an unclaimed key shows as `undefined`). */
  get(key: string): Promise<SendRecord | undefined>;
  /**
   * Resolves with the record once its send is settled or an echo was noted, or when `deadline` (epoch ms) passes
   * (with the record as it stands); `undefined` if the key is not held.
   */
  whenSettled(key: string, deadline: number): Promise<SendRecord | undefined>;
  /** An echo webhook carried `key`: its message is `messageId`. Kept for the TTL, whether or not the key is claimed yet. */
  noteEcho(key: string, messageId: string): Promise<void>;
}

/** Most keys one process keeps, the oldest forgotten first. */
const MAX_KEYS = 100_000;

/** The ledger of one process. */
export class MemorySendLedger implements SendLedger {
  readonly ttlMs: number;
  readonly #records: LRUCache<string, SendRecord>;
  readonly #echoes: LRUCache<string, string>;
  readonly #waiters = new Map<string, Set<() => void>>();

  /** `ttlMs`: how long a key is kept (SEND_IDEMPOTENCY_TTL_SECONDS). */
  constructor(ttlMs: number) {
    if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new TypeError(`MemorySendLedger: ttlMs must be an integer ≥ 1, got ${ttlMs}`);
    this.ttlMs = ttlMs;
    this.#records = createLruCache(MAX_KEYS, { ttl: ttlMs });
    this.#echoes = createLruCache(MAX_KEYS, { ttl: ttlMs });
  }

  async claim(key: string, fingerprint: string, now: number): Promise<ClaimResult> {
    // Read and set in one turn of the event loop: an await between them would let concurrent claims all win.
    const record = this.#read(key);
    if (record !== undefined) return { claimed: false, record };
    this.#records.set(key, { fingerprint, claimedAt: now, outcome: undefined, echoedMessageId: undefined });
    return { claimed: true };
  }

  async settle(key: string, outcome: SendOutcome): Promise<void> {
    const record = this.#records.get(key);
    if (record === undefined) return;
    this.#records.set(key, { ...record, outcome }, { noUpdateTTL: true });
    this.#wake(key);
  }

  async release(key: string): Promise<void> {
    this.#records.delete(key);
    this.#wake(key);
  }

  async get(key: string): Promise<SendRecord | undefined> {
    return this.#read(key);
  }

  #read(key: string): SendRecord | undefined {
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    const echoed = this.#echoes.get(key);
    return echoed === undefined ? record : { ...record, echoedMessageId: echoed };
  }

  async whenSettled(key: string, deadline: number): Promise<SendRecord | undefined> {
    for (;;) {
      // Read and wait in one turn: a settle or echo between the two would otherwise never wake this waiter.
      const record = this.#read(key);
      if (record === undefined || record.outcome !== undefined || record.echoedMessageId !== undefined) return record;
      const left = deadline - Date.now();
      if (left <= 0) return record;
      await new Promise<void>((resolve) => {
        const waiters = this.#waiters.get(key) ?? new Set();
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          if (waiters.size === 0) this.#waiters.delete(key);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.set(key, waiters.add(done));
      });
    }
  }

  async noteEcho(key: string, messageId: string): Promise<void> {
    this.#echoes.set(key, messageId);
    this.#wake(key);
  }

  #wake(key: string): void {
    for (const waiter of [...(this.#waiters.get(key) ?? [])]) waiter();
  }
}
