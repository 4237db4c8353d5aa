/**
 * What a webhook event makes stale: the read cache's tags, and what it learns from Graph's answers to find
 * them. An event names an account (a Page, or the Instagram account linked to one) and a customer; the
 * cache's entries are tagged by Page list, by thread and by a Page's threads and messages. So the index
 * learns, from the answers the cache keeps, which thread each customer is in and which Instagram account a
 * Page links (one read outside the inbox budget, once per Page per process), and keeps both in the store
 * (shared by a fleet through Redis).
 */
import type { InboxEvent } from '../webhooks/inbox-events.js';
import type { Inbox, InboxIndexStore } from './read-cache-store.js';
import type { GraphRead, UpstreamUsage } from './read.js';
import type { GraphScheduler } from './scheduler.js';

type Platform = Inbox['platform'];

/** Tags: a Page's list for a platform, a thread, all threads of a Page, its messages, and everything Instagram. */
export const cacheTags = {
  list: (page: string, platform: Platform): string => `list:${page}:${platform}`,
  thread: (threadId: string): string => `thread:${threadId}`,
  threads: (page: string): string => `threads:${page}`,
  messages: (page: string): string => `messages:${page}`,
  /** A Page node's own fields: no event moves it (the `page` webhook field is not subscribed); its max age bounds it. */
  pageNode: (page: string): string => `node:${page}`,
  /** Every Instagram read: moved by an event of an Instagram account not yet known to belong to a Page. */
  instagram: 'instagram',
} as const;

export class InboxIndex {
  readonly #store: InboxIndexStore;
  readonly #scheduler: GraphScheduler;
  /** Pages whose Instagram account was looked up by this process. */
  readonly #accountsLookedUp = new Set<string>();

  constructor(store: InboxIndexStore, scheduler: GraphScheduler) {
    this.#store = store;
    this.#scheduler = scheduler;
  }

  /**
   * The tags `events` make stale (delivery receipts none): each event's list for its platform, its conversation (through the
   * customer's id where a thread is known for it, else every thread of the Page), and the Page's messages
   * (reactions change them); everything Instagram for an Instagram account not known to belong to a Page.
   */
  async tagsOf(events: readonly InboxEvent[]): Promise<Set<string>> {
    const tags = new Set<string>();
    // One lookup per (account, customer) however many events a batch holds for them. A delivery receipt
    // changes nothing a read shows; edits and unsends change the messages and the thread's snippet.
    const asked = new Set<string>();
    for (const event of events) {
      if (event.kind === 'delivered') continue;
      const key = `${event.platform}\u001f${event.accountId}\u001f${event.customerId}`;
      if (asked.has(key)) continue;
      asked.add(key);
      const page = event.platform === 'messenger' ? event.accountId : await this.#store.pageOfAccount(event.accountId);
      if (page === undefined) {
        tags.add(cacheTags.instagram);
        continue;
      }
      tags.add(cacheTags.list(page, event.platform));
      tags.add(cacheTags.messages(page));
      const threads = await this.#store.threadsOf(page, event.platform, event.customerId);
      if (threads.length === 0) tags.add(cacheTags.threads(page));
      for (const thread of threads) tags.add(cacheTags.thread(thread));
    }
    return tags;
  }

  /**
   * Learns from an answer of `inbox` (a list, a thread, or a page of `threadId`'s messages) which thread
   * each customer is in, and which Instagram account the Page links.
   */
  async learn(read: GraphRead, inbox: Inbox, threadId: string | undefined, answer: unknown): Promise<void> {
    const threads = new Map<string, string>();
    const { page, platform } = inbox;
    const business = new Set([page]);
    const instagramId = platform === 'instagram' ? await this.#instagramAccountOf(read, page) : undefined;
    if (instagramId !== undefined) business.add(instagramId);
    const learnThread = (thread: unknown): void => {
      if (!isRecord(thread) || typeof thread.id !== 'string') return;
      for (const participant of listOf(thread.participants)) {
        if (isRecord(participant) && typeof participant.id === 'string' && !business.has(participant.id))
          threads.set(participant.id, thread.id);
      }
    };
    for (const body of Array.isArray(answer) ? answer : [answer]) {
      if (!isRecord(body)) continue;
      if (threadId === undefined) {
        const data = listOf(body);
        data.forEach(learnThread);
        const userId = read.request.params.user_id;
        const [only] = data;
        if (userId !== undefined && isRecord(only) && typeof only.id === 'string') threads.set(String(userId), only.id);
      } else if (body.id === threadId) {
        learnThread(body);
      } else {
        // A page of a thread's messages: whoever wrote or was written to is in that thread.
        for (const message of listOf(body)) {
          if (!isRecord(message)) continue;
          for (const person of [message.from, ...listOf(message.to)]) {
            if (isRecord(person) && typeof person.id === 'string' && !business.has(person.id)) threads.set(person.id, threadId);
          }
        }
      }
    }
    if (threads.size > 0) await this.#store.learnThreads(page, platform, threads);
  }

  /** The Instagram account a Page links (learned once per process with one read outside the inbox budget). */
  async #instagramAccountOf(read: GraphRead, page: string): Promise<string | undefined> {
    if (this.#accountsLookedUp.has(page)) return undefined;
    this.#accountsLookedUp.add(page);
    const usage: UpstreamUsage = { requests: 0, calls: 0, coalesced: 0, cached: 0 };
    const [answer] = await this.#scheduler.readMany(
      [{ request: { path: page, params: { fields: 'instagram_business_account' } }, token: read.token, caller: read.caller }],
      { usage },
    );
    const account = isRecord(answer) && isRecord(answer.instagram_business_account) ? answer.instagram_business_account.id : undefined;
    if (typeof account !== 'string') return undefined;
    await this.#store.learnAccount(account, page);
    return account;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The items of a `{ data: [...] }` list. */
const listOf = (value: unknown): unknown[] => (isRecord(value) && Array.isArray(value.data) ? value.data : []);
