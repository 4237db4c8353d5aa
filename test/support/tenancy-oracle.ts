/**
 * The emulator as the judge of tenancy: what Graph itself shows a token when asked directly (with the
 * token, or with the Page tokens its `/me/accounts` gives), and an index of every thread, message and
 * customer of the emulator's world, to find them in a gateway's answer whatever its shape.
 */
import type { Emulator } from '../../src/emulator/index.js';
import type { Platform } from '../../src/emulator/model.js';
import { TEST_VERSION } from './harness.js';

/** Where a thread lives. */
export interface ThreadFacts {
  readonly id: string;
  readonly pageId: string;
  readonly platform: Platform;
}

/** Something an answer names, and the thread it belongs to. */
export interface Named {
  /** The Graph id to ask the emulator about: a thread's or a message's. */
  readonly graphId: string;
  readonly thread: ThreadFacts;
  /** How the answer named it. */
  readonly as: 'thread id' | 'scoped thread key' | 'message id' | 'customer id' | 'global id' | 'marker';
}

/** Who a token is to Graph: the Page it is a token of (none for a user token) and the tokens it reads Pages with. */
export interface Grants {
  readonly ownPage: string | undefined;
  readonly graphTokens: readonly string[];
}

const PLATFORMS: readonly Platform[] = ['messenger', 'instagram'];
const GLOBAL_ID = /^(Conversation|Message):([^:]+):(.+)$/;
const BASE64 = /^[A-Za-z0-9+/]{12,}={0,2}$/;

/** Strings of a JSON value, keys aside. */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsOf(item, out);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) stringsOf(item, out);
  return out;
}

export class TenancyOracle {
  readonly #base: string;
  readonly #threads = new Map<string, ThreadFacts>();
  readonly #scopedKeys = new Map<string, ThreadFacts>();
  readonly #messages = new Map<string, ThreadFacts>();
  readonly #customers = new Map<string, ThreadFacts>();
  readonly #markers = new Map<string, ThreadFacts>();
  readonly #grants = new Map<string, Promise<Grants>>();
  readonly #readable = new Map<string, Promise<boolean>>();
  readonly #listable = new Map<string, Promise<boolean>>();

  /** Indexes the world of `emulator` as it is now; `pages` are every Page of it. */
  constructor(emulator: Emulator, pages: readonly string[]) {
    this.#base = `${emulator.url}/${TEST_VERSION}`;
    for (const pageId of pages) {
      for (const platform of PLATFORMS) {
        for (const summary of emulator.store.listConversations(pageId, { platform })) {
          const facts: ThreadFacts = { id: summary.id, pageId, platform };
          this.#threads.set(summary.id, facts);
          if (summary.scopedThreadKey !== undefined) this.#scopedKeys.set(summary.scopedThreadKey, facts);
          this.#customers.set(summary.customerId, facts);
          for (const messageId of emulator.store.messageIds(summary.id) ?? []) this.#messages.set(messageId, facts);
        }
      }
    }
  }

  /** Where the thread `id` lives; `undefined` for an id of no thread. */
  thread(id: string): ThreadFacts | undefined {
    return this.#threads.get(id);
  }

  /** Records a message added during the run, and the marker its text carries. */
  noteMessage(messageId: string, threadId: string, marker: string): void {
    const facts = this.#threads.get(threadId);
    if (facts === undefined) throw new Error(`noteMessage: unknown thread ${threadId}`);
    this.#messages.set(messageId, facts);
    this.#markers.set(marker, facts);
  }

  /** Who `token` is to Graph (asked once). */
  grants(token: string): Promise<Grants> {
    let known = this.#grants.get(token);
    if (known === undefined) {
      known = this.#askGrants(token);
      this.#grants.set(token, known);
    }
    return known;
  }

  /** Whether Graph shows `graphId` (a thread or a message) to `token` or to a Page token it grants: `GET /{id}?fields=id` answers 200. */
  readable(token: string, graphId: string): Promise<boolean> {
    return this.#memo(this.#readable, `${token}|${graphId}`, (graphToken) =>
      this.#answers200(`${encodeURIComponent(graphId)}?fields=id`, graphToken, token),
    );
  }

  /** Whether Graph lists the inbox (`page`, `platform`) for `token` or a Page token it grants. */
  canList(token: string, page: string, platform: Platform): Promise<boolean> {
    return this.#memo(this.#listable, `${token}|${page}|${platform}`, (graphToken) =>
      this.#answers200(`${page}/conversations?platform=${platform}&limit=1&fields=id`, graphToken, token),
    );
  }

  /**
   * Every thread and message `data` names: thread ids, scoped thread keys, message ids, customer ids and
   * the global ids of Conversations and Messages; and every marker of a message added in the run that
   * `text` (a whole body) holds.
   */
  named(data: unknown, text: string): Named[] {
    const found: Named[] = [];
    for (const value of stringsOf(data)) {
      const byId = this.#byId(value);
      if (byId !== undefined) found.push(byId);
      const decoded = BASE64.test(value) ? GLOBAL_ID.exec(Buffer.from(value, 'base64').toString('utf8')) : null;
      const inner = decoded === null ? undefined : this.#byId(decoded[3]!);
      if (inner !== undefined) found.push({ ...inner, as: 'global id' });
    }
    for (const [marker, thread] of this.#markers) if (text.includes(marker)) found.push({ graphId: thread.id, thread, as: 'marker' });
    return found;
  }

  #byId(value: string): Named | undefined {
    const thread = this.#threads.get(value);
    if (thread !== undefined) return { graphId: value, thread, as: 'thread id' };
    const scoped = this.#scopedKeys.get(value);
    if (scoped !== undefined) return { graphId: scoped.id, thread: scoped, as: 'scoped thread key' };
    const message = this.#messages.get(value);
    if (message !== undefined) return { graphId: value, thread: message, as: 'message id' };
    const customer = this.#customers.get(value);
    if (customer !== undefined) return { graphId: customer.id, thread: customer, as: 'customer id' };
    return undefined;
  }

  /** Asks once per key; true when any Graph token `token` grants gets a 200. */
  #memo(cache: Map<string, Promise<boolean>>, key: string, ask: (graphToken: string) => Promise<boolean>): Promise<boolean> {
    let known = cache.get(key);
    if (known === undefined) {
      const token = key.slice(0, key.indexOf('|'));
      known = this.grants(token).then(async ({ graphTokens }) => {
        for (const graphToken of graphTokens) if (await ask(graphToken)) return true;
        return false;
      });
      cache.set(key, known);
    }
    return known;
  }

  async #answers200(pathAndQuery: string, graphToken: string, caller: string): Promise<boolean> {
    const separator = pathAndQuery.includes('?') ? '&' : '?';
    const response = await fetch(`${this.#base}/${pathAndQuery}${separator}access_token=${encodeURIComponent(graphToken)}`);
    await response.arrayBuffer();
    if (response.status >= 500) throw new Error(`the emulator answered ${response.status} to the oracle (caller ${caller.slice(0, 8)}…)`);
    return response.status === 200;
  }

  async #askGrants(token: string): Promise<Grants> {
    const ask = async (path: string): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${this.#base}/${path}&access_token=${encodeURIComponent(token)}`);
      return { status: response.status, body: await response.json() };
    };
    const accounts = await ask('me/accounts?fields=access_token,id&limit=100');
    if (accounts.status === 200) {
      const data = (accounts.body as { data?: Array<{ access_token?: string }> }).data ?? [];
      return {
        ownPage: undefined,
        graphTokens: data.flatMap((account) => (account.access_token === undefined ? [] : [account.access_token])),
      };
    }
    const me = await ask('me?fields=id');
    if (me.status !== 200) return { ownPage: undefined, graphTokens: [] };
    return { ownPage: (me.body as { id: string }).id, graphTokens: [token] };
  }
}
