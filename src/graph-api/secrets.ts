/**
 * The secrets this process knows by value: what scrub.ts removes from every error message and log line
 * whatever its shape, where the patterns only recognise Graph's own token shapes. Process-wide on purpose:
 * the log and the error classes scrub text with no request at hand.
 *
 * Two kinds: permanent secrets (every configured token, the app secret, the webhook verify token, the
 * cursor key, the Redis password, and the `appsecret_proof` of each configured token), registered once at
 * start-up; and the bearer tokens of recent callers, in a bounded LRU, registered where a request's token
 * is read (context.ts `bearerToken`, which the WebSocket path calls too).
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from '../lru-caches.js';
import { appSecretProof } from './tokens.js';

/**
 * Shortest value registered. Scrubbing replaces every occurrence of a value in any text: a short one
 * ("hunter2", "abc123", an ordinary word) would redact words of unrelated log lines and messages, so
 * values shorter than this are ignored (and cannot be caught by value; keep such secrets longer).
 */
export const MIN_SECRET_LENGTH = 8;
/** Caller tokens remembered for scrubbing, the least recently seen forgotten first. */
export const RECENT_CALLER_TOKENS = 1_000;

/** What replaces a secret: `[token]` for access tokens, `[redacted]` for other secrets and proofs. */
export type SecretMark = '[token]' | '[redacted]';

/** The forms a value takes in text: as is, URL-encoded (path or query, form body) and escaped inside a JSON string. */
function formsOf(value: string): string[] {
  const forms = new Set([
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
  ]);
  return [...forms];
}

const startOf = (prefix: string): number => (prefix.charCodeAt(0) << 16) | prefix.charCodeAt(1);

/** Secrets known by value. The process has one, behind the functions below; tests may make their own. */
export class SecretRegistry {
  /** The forms of permanent secrets. */
  readonly #permanent = new Set<string>();
  /** Recent caller tokens: the forms of each token and of its proof, with their marks. */
  readonly #callers: LRUCache<string, ReadonlyMap<string, SecretMark>>;
  #appSecret: string | undefined;
  /** Every form scrubbed, with its mark and how many secrets have it (two tokens may share a form: `a%2Fb…` and `a/b…` encoded). */
  readonly #marks = new Map<string, { readonly mark: SecretMark; holders: number }>();
  /**
   * The forms by their first {@link MIN_SECRET_LENGTH} characters, longest first: text is scanned once,
   * one lookup per position, however many secrets are known (one expression over a thousand tokens took
   * a hundred times longer).
   */
  readonly #byPrefix = new Map<string, string[]>();
  /**
   * The first two characters of every prefix, as `(first << 16) | second`: most positions of a text start none,
   * and are passed over without cutting a substring (a log line per request was scanned one slice per character).
   */
  readonly #starts = new Map<number, number>();

  /** @param recentCallerTokens caller tokens remembered. @default RECENT_CALLER_TOKENS */
  constructor(recentCallerTokens: number = RECENT_CALLER_TOKENS) {
    this.#callers = createLruCache(recentCallerTokens, {
      dispose: (forms) => {
        for (const form of forms.keys()) this.#forget(form);
      },
    });
  }

  /**
   * A secret scrubbed for the life of the process: `token` for access tokens (with its `appsecret_proof`
   * when an app secret is registered), `secret` for anything else. Values shorter than
   * {@link MIN_SECRET_LENGTH} are ignored.
   */
  register(value: string | undefined, kind: 'token' | 'secret'): void {
    if (value === undefined || value.length < MIN_SECRET_LENGTH) return;
    for (const [form, mark] of this.#formsWithProof(value, kind === 'token' ? '[token]' : '[redacted]')) {
      if (this.#permanent.has(form)) continue;
      this.#permanent.add(form);
      this.#remember(form, mark);
    }
  }

  /** The app secret: scrubbed, and the key of the proofs registered with each token from now on (register it before the tokens). */
  registerAppSecret(appSecret: string | undefined): void {
    if (appSecret === undefined) return;
    this.#appSecret = appSecret;
    this.register(appSecret, 'secret');
  }

  /**
   * A caller's bearer token, remembered among the most recent ones: scrubbed (with its proof) as `[token]`
   * wherever it appears, as is, URL-encoded or JSON-escaped. Cheap for a token already known.
   */
  registerCallerToken(token: string): void {
    if (token.length < MIN_SECRET_LENGTH || this.#permanent.has(token)) return;
    // `get` refreshes the token's recency; only a token not yet known is added.
    if (this.#callers.get(token) !== undefined) return;
    const forms = this.#formsWithProof(token, '[token]');
    this.#callers.set(token, forms);
    for (const [form, mark] of forms) this.#remember(form, mark);
  }

  /** `text` with every registered secret replaced by its mark. */
  redact(text: string): string {
    if (this.#byPrefix.size === 0) return text;
    let redacted = '';
    let copied = 0;
    let at = 0;
    while (at + MIN_SECRET_LENGTH <= text.length) {
      if (!this.#starts.has((text.charCodeAt(at) << 16) | text.charCodeAt(at + 1))) {
        at += 1;
        continue;
      }
      const candidates = this.#byPrefix.get(text.slice(at, at + MIN_SECRET_LENGTH));
      const found = candidates?.find((form) => text.startsWith(form, at));
      if (found === undefined) {
        at += 1;
        continue;
      }
      redacted += text.slice(copied, at) + (this.#marks.get(found)?.mark ?? '[redacted]');
      at += found.length;
      copied = at;
    }
    return copied === 0 ? text : redacted + text.slice(copied);
  }

  /** The forms of `value` marked `mark`, and for a token (with an app secret registered) those of its proof. */
  #formsWithProof(value: string, mark: SecretMark): Map<string, SecretMark> {
    const forms = new Map<string, SecretMark>();
    if (mark === '[token]' && this.#appSecret !== undefined) {
      for (const form of formsOf(appSecretProof(this.#appSecret, value))) forms.set(form, '[redacted]');
    }
    for (const form of formsOf(value)) forms.set(form, mark);
    return forms;
  }

  #remember(form: string, mark: SecretMark): void {
    const known = this.#marks.get(form);
    if (known !== undefined) {
      known.holders += 1;
      return;
    }
    this.#marks.set(form, { mark, holders: 1 });
    const prefix = form.slice(0, MIN_SECRET_LENGTH);
    const candidates = this.#byPrefix.get(prefix) ?? [];
    if (candidates.length === 0) this.#starts.set(startOf(prefix), (this.#starts.get(startOf(prefix)) ?? 0) + 1);
    // Longest first, so a secret that starts another is not replaced in part.
    candidates.push(form);
    candidates.sort((a, b) => b.length - a.length);
    this.#byPrefix.set(prefix, candidates);
  }

  #forget(form: string): void {
    const known = this.#marks.get(form);
    if (known === undefined) return;
    known.holders -= 1;
    if (known.holders > 0) return;
    this.#marks.delete(form);
    const prefix = form.slice(0, MIN_SECRET_LENGTH);
    const candidates = this.#byPrefix.get(prefix)?.filter((candidate) => candidate !== form) ?? [];
    if (candidates.length > 0) {
      this.#byPrefix.set(prefix, candidates);
      return;
    }
    this.#byPrefix.delete(prefix);
    const prefixes = (this.#starts.get(startOf(prefix)) ?? 1) - 1;
    if (prefixes === 0) this.#starts.delete(startOf(prefix));
    else this.#starts.set(startOf(prefix), prefixes);
  }
}

const processSecrets = new SecretRegistry();

/** A secret of the process, scrubbed from every message and log line from now on (see {@link SecretRegistry.register}). */
export function registerSecret(value: string | undefined, kind: 'token' | 'secret' = 'secret'): void {
  processSecrets.register(value, kind);
}

/** A caller's bearer token, scrubbed while it is among the recent ones (see {@link SecretRegistry.registerCallerToken}). */
export function registerCallerToken(token: string): void {
  processSecrets.registerCallerToken(token);
}

/** What the process is configured with, each scrubbed by value from then on. */
export interface ConfiguredSecrets {
  /** Access tokens: the default token, the Page tokens of GRAPH_PAGE_TOKENS_FILE. */
  readonly tokens: Iterable<string | undefined>;
  /** GRAPH_APP_SECRET: scrubbed, and the key of each token's `appsecret_proof`, scrubbed too. */
  readonly appSecret: string | undefined;
  /** Any other secret: the webhook verify token, the cursor key, the Redis password. */
  readonly others: Iterable<string | undefined>;
}

/** Registers what the process is configured with, at start-up, before any request. */
export function registerConfiguredSecrets({ tokens, appSecret, others }: ConfiguredSecrets): void {
  processSecrets.registerAppSecret(appSecret);
  for (const token of tokens) processSecrets.register(token, 'token');
  for (const secret of others) processSecrets.register(secret, 'secret');
}

/** `text` with every secret the process registered replaced by `[token]` or `[redacted]`. */
export function redactRegisteredSecrets(text: string): string {
  return processSecrets.redact(text);
}
