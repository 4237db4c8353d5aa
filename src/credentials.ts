/**
 * Whose token a request carries, and which token to use for each Page. A caller's token may be a
 * Page token or a user token; the gateway learns which from `/me` and `/me/accounts` (one batch,
 * remembered per token fingerprint for a while) and never sends a user token where a Page token is
 * needed: with a user token, each Page is read with the Page token `/me/accounts` gives for it.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { LRUCache } from 'lru-cache';
import { type CapacityBounds, DEFAULT_CAPACITY } from './capacity.js';
import { createLruCache } from './lru-caches.js';
import { pageNotAccessible } from './gateway-errors.js';
import { GraphApiError } from './graph-api/errors.js';
import type { GraphRead, UpstreamUsage } from './graph-api/read.js';
import type { GraphScheduler } from './graph-api/scheduler.js';
import { tokenFingerprint } from './graph-api/tokens.js';
import { type IdentityStore, MemoryIdentityStore, type StoredIdentity } from './identity-store.js';

/** A Page the caller can reach, and the token that reaches it. */
export interface PageAccess {
  readonly id: string;
  readonly name: string | undefined;
  /** Tasks the caller may perform (from `/me/accounts`; unknown for a Page token). */
  readonly tasks: readonly string[] | undefined;
  readonly token: string;
}

export interface CallerIdentity {
  readonly kind: 'page' | 'user';
  readonly id: string;
  readonly name: string | undefined;
  readonly pages: readonly PageAccess[];
}

/** Who makes a request: the holder of a token, or (no token) the gateway's own configured Pages. */
export interface Caller {
  readonly token: string | undefined;
}

export interface CredentialsOptions {
  scheduler: GraphScheduler;
  /** How long an identity and its Page tokens are remembered (CREDENTIALS_TTL_SECONDS). */
  ttlMs: number;
  /** Server-side Page tokens by Page id (from a file): these Pages need no lookup. */
  pageTokens?: ReadonlyMap<string, string> | undefined;
  /**
   * Where identities are shared (the fleet's: Redis with REDIS_URL), behind this instance's own bounded memory of them;
   * a user token's Page tokens go there only sealed with a key derived from that user token. @default in memory
   */
  store?: IdentityStore | undefined;
  /** Identities remembered here (and by the default store), and Pages one token is followed to. @default DEFAULT_CAPACITY */
  capacity?: Pick<CapacityBounds, 'identities' | 'pagesPerToken'> | undefined;
  now?: () => number;
}

interface GraphAccountList {
  data?: GraphAccount[];
  paging?: { cursors?: { after?: string }; next?: string };
}

interface GraphAccount {
  id: string;
  name?: string;
  access_token?: string;
  tasks?: string[];
}

/** `/me/accounts` is read this many Pages at a time: Graph's cap on `limit` (Meta: Paginated Results). */
const ACCOUNTS_PAGE_SIZE = 100;
/** Pages of `/me/accounts` read in one batch after the first, each after the previous one's cursor. */
const ACCOUNT_PAGES_PER_BATCH = 10;
/** Graph's alias for the object a token belongs to. */
const ME = 'me';

export class Credentials {
  readonly #scheduler: GraphScheduler;
  readonly #pageTokens: ReadonlyMap<string, string>;
  /** Identities by token fingerprint, each for the TTL; `undefined` when the TTL is 0 (always look up). */
  readonly #identities: LRUCache<string, Promise<CallerIdentity>> | undefined;
  readonly #store: IdentityStore;
  readonly #ttlMs: number;
  readonly #maxPagesPerToken: number;

  constructor(options: CredentialsOptions) {
    this.#scheduler = options.scheduler;
    this.#pageTokens = options.pageTokens ?? new Map();
    this.#ttlMs = options.ttlMs;
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.#maxPagesPerToken = capacity.pagesPerToken;
    this.#store = options.store ?? new MemoryIdentityStore({ max: capacity.identities, now: options.now });
    this.#identities =
      options.ttlMs === 0
        ? undefined
        : createLruCache(capacity.identities, {
            ttl: options.ttlMs,
            ...(options.now === undefined ? {} : { perf: { now: options.now } }),
          });
  }

  /**
   * Who `token` belongs to and the Pages it reaches; failures are not remembered. A lookup's upstream
   * cost goes to `usage` (the operation that needed it first).
   */
  identify(token: string, usage?: UpstreamUsage): Promise<CallerIdentity> {
    const key = tokenFingerprint(token);
    const known = this.#identities?.get(key);
    if (known !== undefined) return known;
    const identity = this.#recallOrLookUp(token, key, usage ?? { requests: 0, calls: 0, coalesced: 0, cached: 0 });
    this.#identities?.set(key, identity);
    identity.catch(() => {
      if (this.#identities?.peek(key) === identity) this.#identities.delete(key);
    });
    return identity;
  }

  /** The Pages `caller` can reach; learning a token's identity costs `usage` its calls. */
  async pages(caller: Caller, usage?: UpstreamUsage): Promise<readonly PageAccess[]> {
    if (caller.token === undefined) {
      return [...this.#pageTokens].map(([id, token]) => ({ id, name: undefined, tasks: undefined, token }));
    }
    return (await this.identify(caller.token, usage)).pages;
  }

  /** The token to read `pageId` with on behalf of `caller`. */
  async tokenForPage(caller: Caller, pageId: string, usage?: UpstreamUsage): Promise<string> {
    const { token } = caller;
    if (token === undefined) {
      const configured = this.#pageTokens.get(pageId);
      if (configured !== undefined) return configured;
      throw pageNotAccessible(pageId, 'configured Pages');
    }
    const identity = await this.identify(token, usage);
    // A Page token is sent for its own Page, and for another Page Graph itself answers (#200).
    if (identity.kind === 'page') return token;
    const access = identity.pages.find((page) => page.id === pageId);
    if (access === undefined) {
      throw pageNotAccessible(pageId, 'user token');
    }
    return access.token;
  }

  /**
   * The numeric id of the Page a client names: `me` is the Page of a Page token (resolved per token, never
   * kept as a name, since it names another Page for every token); anything else is returned as given.
   */
  async resolvePageId(caller: Caller, pageId: string, usage?: UpstreamUsage): Promise<string> {
    if (pageId !== ME || caller.token === undefined) return pageId;
    const identity = await this.identify(caller.token, usage);
    return identity.kind === 'page' ? identity.id : pageId;
  }

  /**
   * Fails with PAGE_NOT_ACCESSIBLE unless `caller` reaches `pageId` itself: its Page token's own Page,
   * a Page its user token manages, or a configured Page. Stricter than {@link tokenForPage}, which lets
   * Graph judge a Page token used on another Page; for what only the gateway knows of a Page.
   */
  async checkReach(caller: Caller, pageId: string, usage?: UpstreamUsage): Promise<void> {
    if (caller.token === undefined) {
      if (!this.#pageTokens.has(pageId)) throw pageNotAccessible(pageId, 'configured Pages');
      return;
    }
    const identity = await this.identify(caller.token, usage);
    if (!identity.pages.some((page) => page.id === pageId))
      throw pageNotAccessible(pageId, identity.kind === 'page' ? 'Page token' : 'user token');
  }

  /** The identity the fleet's store holds for `token` (no Graph call), else Graph's, then stored for the others. */
  async #recallOrLookUp(token: string, key: string, usage: UpstreamUsage): Promise<CallerIdentity> {
    if (this.#identities === undefined) return this.#lookUp(token, usage);
    const stored = await this.#store.get(key).catch(() => undefined);
    const recalled = stored === undefined ? undefined : restoreIdentity(token, stored.identity);
    if (stored !== undefined && recalled !== undefined) {
      // Remembered here only for what is left of the fleet's TTL, not a whole TTL more.
      const remembered = this.#identities.peek(key);
      if (remembered !== undefined) this.#identities.set(key, remembered, { ttl: Math.max(1, Math.min(stored.ttlMs, this.#ttlMs)) });
      return recalled;
    }
    const identity = await this.#lookUp(token, usage);
    await this.#store.set(key, storedIdentityOf(token, identity), this.#ttlMs).catch(() => undefined);
    return identity;
  }

  async #lookUp(token: string, usage: UpstreamUsage): Promise<CallerIdentity> {
    // One batch: who the token is, and the first Pages it manages if it is a user token.
    const [me, accounts] = await this.#scheduler.readMany(
      [{ request: { path: 'me', params: { fields: 'id,name' } }, token }, accountsRead(token)],
      {
        usage,
      },
    );
    if (me instanceof Error) throw me;
    const self = me as { id: string; name?: string };
    if (accounts instanceof GraphApiError && accounts.code === 100) {
      // A Page has no `accounts` edge: this is a Page token.
      return { kind: 'page', id: self.id, name: self.name, pages: [{ id: self.id, name: self.name, tasks: undefined, token }] };
    }
    if (accounts instanceof Error) throw accounts;
    const pages = (await this.#allAccounts(token, accounts as GraphAccountList, usage)).flatMap((account) =>
      account.access_token === undefined ? [] : [{ id: account.id, name: account.name, tasks: account.tasks, token: account.access_token }],
    );
    return { kind: 'user', id: self.id, name: self.name, pages };
  }

  /**
   * Every Page of `/me/accounts` from its `first` page on: while Graph says there is more (`paging.next`), the next pages
   * are read after the last cursor, several at a time as dependent items of one batch. Not a
   * conversations call: no Page's budget is spent. Any page that fails fails the lookup (a partial list would hide Pages).
   */
  async #allAccounts(token: string, first: GraphAccountList, usage: UpstreamUsage): Promise<GraphAccount[]> {
    const accounts = [...(first.data ?? [])];
    let last = first;
    // Each batch reads twice as many pages as the one before (2, 4, 8, then 10): few calls past the end for a
    // list of a few hundred Pages, few round trips for thousands.
    for (let batchPages = 2; last.paging?.next !== undefined && last.paging.cursors?.after !== undefined; batchPages *= 2) {
      if (accounts.length >= this.#maxPagesPerToken)
        throw new TypeError(`/me/accounts: more than ${this.#maxPagesPerToken} Pages, or a cursor that does not advance`);
      const followUps: number[] = Array(Math.min(batchPages, ACCOUNT_PAGES_PER_BATCH) - 1).fill(ACCOUNTS_PAGE_SIZE);
      const read = { ...accountsRead(token, last.paging.cursors.after), followUps };
      const [chain] = await this.#scheduler.readMany([read], { usage });
      const pages = Array.isArray(chain) ? (chain as unknown[]) : [chain];
      for (const page of pages) if (page instanceof Error) throw page;
      for (const page of pages as GraphAccountList[]) accounts.push(...(page.data ?? []));
      const end = pages.at(-1) as GraphAccountList | undefined;
      // A chain cut short (a follow-up Graph could not reach) resumes after its own last page.
      if (end === undefined || (end.data ?? []).length === 0) break;
      last = end;
    }
    return accounts;
  }
}

/** A read of `/me/accounts`: the Pages a user token manages, with their Page tokens, after `after` when given. */
const accountsRead = (token: string, after?: string): GraphRead => ({
  request: { path: 'me/accounts', params: { fields: 'access_token,id,name,tasks', limit: ACCOUNTS_PAGE_SIZE, after } },
  token,
});

/** What the store keeps of `identity`: every Page token sealed with `token`'s key (a Page token's own Page needs none). */
function storedIdentityOf(token: string, identity: CallerIdentity): StoredIdentity {
  const pages = identity.pages.map(({ id, name, tasks }) => ({ id, name, tasks }));
  const sealedPageTokens =
    identity.kind === 'page'
      ? undefined
      : sealPageTokens(
          token,
          identity.pages.map((page) => page.token),
        );
  return { kind: identity.kind, id: identity.id, name: identity.name, pages, sealedPageTokens };
}

/** The identity `stored` describes, its Page tokens unsealed with `token`'s key; `undefined` when they do not unseal. */
function restoreIdentity(token: string, stored: StoredIdentity): CallerIdentity | undefined {
  if (stored.kind === 'page') return { ...stored, pages: stored.pages.map((page) => ({ ...page, token })) };
  const tokens = stored.sealedPageTokens === undefined ? undefined : unsealPageTokens(token, stored.sealedPageTokens);
  if (tokens === undefined || tokens.length !== stored.pages.length) return undefined;
  return { kind: 'user', id: stored.id, name: stored.name, pages: stored.pages.map((page, i) => ({ ...page, token: tokens[i]! })) };
}

/** AES-256-GCM, its 12-byte IV and 16-byte tag stored before the ciphertext. */
const SEAL = { cipher: 'aes-256-gcm', ivBytes: 12, tagBytes: 16 } as const;

/**
 * The key Page tokens are sealed with: derived (HKDF-SHA256) from the user token that Graph gave them to, which is never
 * stored; its fingerprint (the store's key) is another digest of it, from which neither the token nor this key follows.
 */
const sealingKey = (token: string): Buffer => Buffer.from(hkdfSync('sha256', token, 'inbox-gateway identity', 'page tokens v1', 32));

/** `pageTokens` sealed for the holder of `token` only. */
export function sealPageTokens(token: string, pageTokens: readonly string[]): string {
  const iv = randomBytes(SEAL.ivBytes);
  const cipher = createCipheriv(SEAL.cipher, sealingKey(token), iv);
  const sealed = Buffer.concat([cipher.update(JSON.stringify(pageTokens), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The Page tokens `sealed` holds, with the key of `token`; `undefined` when it is not theirs or was altered. */
export function unsealPageTokens(token: string, sealed: string): string[] | undefined {
  try {
    const bytes = Buffer.from(sealed, 'base64url');
    const iv = bytes.subarray(0, SEAL.ivBytes);
    const decipher = createDecipheriv(SEAL.cipher, sealingKey(token), iv);
    decipher.setAuthTag(bytes.subarray(SEAL.ivBytes, SEAL.ivBytes + SEAL.tagBytes));
    const plain = Buffer.concat([decipher.update(bytes.subarray(SEAL.ivBytes + SEAL.tagBytes)), decipher.final()]).toString('utf8');
    const tokens: unknown = JSON.parse(plain);
    return Array.isArray(tokens) && tokens.every((value) => typeof value === 'string') ? tokens : undefined;
  } catch {
    return undefined;
  }
}
