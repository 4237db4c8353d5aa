/**
 * Who may be served what the read cache holds, and who may spend a Page's budget: the tenancy rules of the
 * read cache in one place, which every road to an entry goes through (fresh and stale answers, reads
 * joined in flight, fills awaited from another instance, whole answers reused, subscriptions).
 *
 *   - An inbox (a Page's numeric id and a platform) is what Graph established: the Page of the list that
 *     was read, or the inbox whose list showed a thread. A Page a client names (in a global id, or `me`) is
 *     only a claim and never decides what is served.
 *   - A proof is a token's own successful read from Graph: of an inbox (serves that inbox's entries) or of
 *     one thread (serves that thread's). Proofs live for the proof TTL (CREDENTIALS_TTL_SECONDS) and end at
 *     once when Graph refuses the token there.
 *   - A token with no proof for the inbox a read spends a Page's budget on is a stranger there: its reads
 *     go one probe at a time (`admit`), and Graph's refusal answers its next ones for REFUSAL_MEMO_MS.
 *
 * Proofs are kept by token fingerprint, never by token, in a proof store (proof-store.ts: the fleet's, in Redis with
 * REDIS_URL) behind a bounded front cache in this process: each batch of reads first refreshes from the store the
 * proofs it will ask about (so a proof made, or revoked, on another instance counts here at once), then asks the front.
 */
import type { LRUCache } from 'lru-cache';
import { createLruCache } from '../lru-caches.js';
import { type CapacityBounds, DEFAULT_CAPACITY } from '../capacity.js';
import type { Freshness, GraphRead, UpstreamUsage } from './read.js';
import { graphErrorRule } from './error-rules.js';
import { GraphApiError, OperationAbortedError } from './errors.js';
import { MemoryProofStore, type ProofStore } from './proof-store.js';
import type { CachedRead, Inbox } from './read-cache-store.js';
import { tokenFingerprint } from './tokens.js';

/** An answer inside the read path, with its freshness and where it came from. */
export interface Fetched extends Freshness {
  /** The parsed body, or the Error the read failed with. */
  readonly body: unknown;
  /** Served from the cache (fresh or stale) rather than read for this operation. */
  readonly cached: boolean;
}

/**
 * How long Graph's refusal of a token's read of an inbox (its token, permissions or a policy block)
 * answers that token's later unproven reads of it without a call: a stranger costs the Page one call per
 * this long, whatever it sends. A token granted access meanwhile is served after it.
 */
export const REFUSAL_MEMO_MS = 30_000;
/** A list read of a Page's inbox: `<numeric page id>/conversations`. `me` and other aliases do not match. */
const LIST_PATH = /^(\d+)\/conversations$/;
/** A read of a Page node: `<numeric page id>`. `me` and other aliases do not match. */
const PAGE_NODE_PATH = /^(\d+)$/;

/** Graph's errors that judge the caller (token, permissions, a policy block; error-rules.ts): another caller may well succeed. */
export const isCallerSpecific = (error: unknown): boolean =>
  error instanceof GraphApiError && graphErrorRule(error.code, error.subcode).judgesCaller;

/** The Page of a conversation list read, from its path (the numeric id Graph was asked for); `undefined` for aliases like `me`. */
export function listPageOf(read: GraphRead): string | undefined {
  return read.about?.kind === 'list' ? LIST_PATH.exec(read.request.path)?.[1] : undefined;
}

/** The Page of a Page node read, from its path (the numeric id Graph was asked for); `undefined` for aliases like `me`. */
export function pageNodeOf(read: GraphRead): string | undefined {
  return read.about?.kind === 'page' ? PAGE_NODE_PATH.exec(read.request.path)?.[1] : undefined;
}

/** How a probe ended: the read it was (its key) and what it brought (Graph's answer or failure). */
interface ProbeOutcome {
  readonly key: string;
  readonly fetched: Fetched;
}

/** Names of what is remembered of a token (by fingerprint). */
const proofOf = {
  inbox: (caller: string, inbox: Inbox): string => `${caller}|${inbox.page}|${inbox.platform}`,
  thread: (caller: string, threadId: string): string => `${caller}|thread|${threadId}`,
  /** The token read a Page's inbox, or a thread Graph listed there: it is no stranger to that Page's budget. */
  acquainted: (caller: string, page: string): string => `${caller}|page|${page}`,
  /**
   * The token read a Page's node, or one of its inboxes: Graph showed it that Page, so it may be served the Page's own fields
   * (`name`, visible to any token that reads the node). A thread read alone proves nothing here.
   */
  pageNode: (caller: string, page: string): string => `${caller}|node|${page}`,
};

const sameInbox = (a: Inbox, b: Inbox): boolean => a.page === b.page && a.platform === b.platform;

export interface ReadAccessOptions {
  /** How long a token's own successful read proves it (CREDENTIALS_TTL_SECONDS). */
  proofTtlMs: number;
  /** The identity of a read: equal keys are the same upstream call (the scheduler's). */
  keyOf: (read: GraphRead) => string;
  /** Where proofs are shared (the fleet's). @default in this process's memory */
  store?: ProofStore | undefined;
  /** Proofs and refusals remembered here (proofs by the default store too), threads whose inbox is known. @default DEFAULT_CAPACITY */
  capacity?: Pick<CapacityBounds, 'proofs' | 'refusals' | 'threadInboxes'> | undefined;
  now?: (() => number) | undefined;
}

export class ReadAccess {
  readonly #keyOf: (read: GraphRead) => string;
  readonly #now: () => number;
  readonly #store: ProofStore;
  readonly #proofTtlMs: number;
  /** `proofOf` names → proven: the front of the store, refreshed for each batch's reads (`refresh`). */
  readonly #proofs: LRUCache<string, true>;
  /** Graph's recent refusal of a stranger's probe, by gate (see `#gateOf`): answers its next reads there. */
  readonly #refusals: LRUCache<string, Error>;
  /** A stranger's probe in flight, by gate: its other reads there wait for it. */
  readonly #probes = new Map<string, Promise<ProbeOutcome>>();
  /** The inbox of threads seen in a Page's list: what their own reads belong to. */
  readonly #threadInboxes: LRUCache<string, Inbox>;

  constructor(options: ReadAccessOptions) {
    this.#keyOf = options.keyOf;
    this.#now = options.now ?? Date.now;
    const perf = options.now === undefined ? {} : { perf: { now: options.now } };
    this.#proofTtlMs = Math.max(1, options.proofTtlMs);
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.#store = options.store ?? new MemoryProofStore({ max: capacity.proofs, now: options.now });
    // The front is refreshed from the store just before each batch asks it (`refresh`): plain LRU serves that well.
    this.#proofs = createLruCache(capacity.proofs, { ttl: this.#proofTtlMs, ...perf });
    this.#refusals = createLruCache(capacity.refusals, { ttl: REFUSAL_MEMO_MS, ...perf });
    this.#threadInboxes = createLruCache(capacity.threadInboxes);
  }

  /** The inbox a read of a list or a thread belongs to, as Graph established it; `undefined` when not known. */
  inboxOf(read: GraphRead): Inbox | undefined {
    const { about } = read;
    if (about?.kind === 'list') {
      const page = listPageOf(read);
      return page === undefined ? undefined : { page, platform: about.platform };
    }
    return about?.kind === 'thread' ? this.#threadInboxes.get(about.threadId) : undefined;
  }

  /**
   * Whether `read`'s token is proven for `inbox`: it read that inbox (Page and platform) from Graph within
   * the proof TTL, or read `threadId` itself.
   */
  proven(read: GraphRead, inbox: Inbox, threadId: string | undefined): boolean {
    const caller = tokenFingerprint(read.token);
    return this.#proofs.has(proofOf.inbox(caller, inbox)) || (threadId !== undefined && this.#proofs.has(proofOf.thread(caller, threadId)));
  }

  /** Whether `entry` may be served for `read`: an entry of `inbox` (as it recorded), to a token proven for it. */
  mayServe(read: GraphRead, inbox: Inbox, threadId: string | undefined, entry: CachedRead | undefined): entry is CachedRead {
    return entry?.inbox !== undefined && sameInbox(entry.inbox, inbox) && this.proven(read, inbox, threadId);
  }

  /** Whether `entry` may be served for `read` of Page `page`'s node: that Page node's entry, to a token proven for it. */
  mayServePageNode(read: GraphRead, page: string, entry: CachedRead | undefined): entry is CachedRead {
    return entry?.pageNode === page && entry.inbox === undefined && this.provenForPageNode(read, page);
  }

  /** Whether `read`'s token read Page `page`'s node, or one of its inboxes, from Graph within the proof TTL. */
  provenForPageNode(read: GraphRead, page: string): boolean {
    return this.#proofs.has(proofOf.pageNode(tokenFingerprint(read.token), page));
  }

  /** Whether `token` has read `inbox` from Graph within the proof TTL (what a subscription to its events needs). */
  async hasProof(token: string, inbox: Inbox): Promise<boolean> {
    const name = proofOf.inbox(tokenFingerprint(token), inbox);
    await this.#refreshNames([name]);
    return this.#proofs.has(name);
  }

  /** Brings the front up to date with the store on every proof `reads` may ask about; kept as it is while the store cannot answer. */
  refresh(reads: readonly GraphRead[]): Promise<void> {
    return this.#refreshNames([...new Set(reads.flatMap((read) => this.#namesOf(read)))]);
  }

  async #refreshNames(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const left = await this.#store.lookup(names).catch(() => undefined);
    if (left === undefined) return;
    for (const [i, name] of names.entries()) {
      const ms = left[i];
      if (ms === undefined) this.#proofs.delete(name);
      else this.#proofs.set(name, true, { ttl: Math.min(ms, this.#proofTtlMs) });
    }
  }

  /** The proofs a read may be judged by: of its inbox, its thread, the Page whose budget it spends, the Page whose node it reads. */
  #namesOf(read: GraphRead): string[] {
    const caller = tokenFingerprint(read.token);
    const inbox = this.inboxOf(read);
    const names: string[] = [];
    if (inbox !== undefined) names.push(proofOf.inbox(caller, inbox), proofOf.pageNode(caller, inbox.page));
    if (read.about?.kind === 'thread') names.push(proofOf.thread(caller, read.about.threadId));
    if (read.about?.kind === 'list' && read.budgetKey !== undefined)
      names.push(proofOf.inbox(caller, { page: read.budgetKey, platform: read.about.platform }));
    if (read.budgetKey !== undefined) names.push(proofOf.acquainted(caller, read.budgetKey));
    const page = pageNodeOf(read);
    if (page !== undefined) names.push(proofOf.pageNode(caller, page));
    return names;
  }

  /**
   * Learns from a successful read from Graph: what it proves of its token (here and in the store), and which inbox the
   * threads it lists belong to.
   */
  async remember(read: GraphRead, answer: unknown): Promise<void> {
    const caller = tokenFingerprint(read.token);
    const inbox = this.inboxOf(read);
    const proven: string[] = [];
    if (read.about?.kind === 'list') {
      if (inbox === undefined) return;
      proven.push(proofOf.inbox(caller, inbox), proofOf.acquainted(caller, inbox.page), proofOf.pageNode(caller, inbox.page));
      this.#refusals.delete(proofOf.inbox(caller, inbox));
      for (const body of Array.isArray(answer) ? answer : [answer]) {
        for (const thread of listOf(body)) if (isRecord(thread) && typeof thread.id === 'string') this.#threadInboxes.set(thread.id, inbox);
      }
    } else if (read.about?.kind === 'thread') {
      proven.push(proofOf.thread(caller, read.about.threadId));
      // A thread Graph listed in the very Page whose budget the read spends: the token is no stranger there.
      if (inbox !== undefined && inbox.page === read.budgetKey) proven.push(proofOf.acquainted(caller, inbox.page));
    } else {
      const page = pageNodeOf(read);
      if (page !== undefined) proven.push(proofOf.pageNode(caller, page));
    }
    for (const name of proven) this.#proofs.set(name, true);
    await this.#store.prove(proven, this.#proofTtlMs).catch(() => undefined);
  }

  /** Drops what a token had proven where Graph now refuses it (its token, permissions, a policy block), here and in the store. */
  async forget(read: GraphRead): Promise<void> {
    const caller = tokenFingerprint(read.token);
    const { about, budgetKey } = read;
    const dropped: string[] = [];
    // A read of no inbox Graph established (an alias such as `me`) proved nothing to drop.
    const inbox = this.inboxOf(read);
    if (inbox !== undefined) dropped.push(proofOf.inbox(caller, inbox));
    if (about?.kind === 'thread') dropped.push(proofOf.thread(caller, about.threadId));
    if (budgetKey !== undefined) dropped.push(proofOf.acquainted(caller, budgetKey));
    // Refused on the Page node or on one of its inboxes: no longer served the Page's fields either.
    const page = pageNodeOf(read) ?? inbox?.page;
    if (page !== undefined) dropped.push(proofOf.pageNode(caller, page));
    for (const name of dropped) this.#proofs.delete(name);
    await this.#store.revoke(dropped).catch(() => undefined);
  }

  /**
   * Makes `reads` with `readNow`, a stranger's one probe at a time: a budgeted read whose token is not proven
   * for the inbox whose Page's budget it spends is answered by Graph's recent refusal, or waits for the
   * token's probe there in flight (across operations too), or is that probe. A probe that failed answers
   * its waiting reads with its failure, and the same read with its answer; one that succeeded lets the
   * others try again; one its own operation stopped waiting for (deadline, client gone) fails nobody else.
   */
  async admit(
    reads: readonly GraphRead[],
    usage: UpstreamUsage,
    readNow: (reads: readonly GraphRead[]) => Promise<Fetched[]>,
  ): Promise<Fetched[]> {
    await this.refresh(reads);
    const results: Fetched[] = [];
    let pending = reads.map((_read, i) => i);
    while (pending.length > 0) {
      const admitted: number[] = [];
      const probes = new Map<string, { index: number; settle: (outcome: ProbeOutcome) => void }>();
      const waiting = new Map<number, Promise<ProbeOutcome>>();
      for (const i of pending) {
        const gate = this.#gateOf(reads[i]!);
        const refusal = gate === undefined ? undefined : this.#refusals.get(gate);
        const running = gate === undefined ? undefined : this.#probes.get(gate);
        if (gate === undefined) admitted.push(i);
        else if (refusal !== undefined) results[i] = { body: refusal, fetchedAt: this.#now(), cached: false, stale: undefined };
        else if (running !== undefined) waiting.set(i, running);
        else {
          let settle!: (outcome: ProbeOutcome) => void;
          this.#probes.set(gate, new Promise<ProbeOutcome>((resolve) => (settle = resolve)));
          probes.set(gate, { index: i, settle });
          admitted.push(i);
        }
      }
      const answers = admitted.length === 0 ? [] : await readNow(admitted.map((i) => reads[i]!));
      for (const [n, i] of admitted.entries()) results[i] = answers[n]!;
      for (const [gate, { index, settle }] of probes) {
        this.#probes.delete(gate);
        const fetched = results[index]!;
        if (isCallerSpecific(fetched.body)) this.#refusals.set(gate, fetched.body as Error);
        settle({ key: this.#keyOf(reads[index]!), fetched });
      }
      const outcomes = await Promise.all(waiting.values());
      pending = [];
      for (const [n, i] of [...waiting.keys()].entries()) {
        const { key, fetched } = outcomes[n]!;
        const failed = fetched.body instanceof Error;
        if (fetched.body instanceof OperationAbortedError || (!failed && key !== this.#keyOf(reads[i]!))) pending.push(i);
        else {
          if (!failed) usage.coalesced += 1;
          results[i] = fetched;
        }
      }
    }
    return results;
  }

  /**
   * The probe gate a read waits at: `token fingerprint|page|subject`, the subject being the inbox's platform
   * (a list, or a thread whose inbox is known) or `thread` (a thread no list showed yet); `undefined` when
   * the token is proven there (or for that thread), or the read spends no Page's budget.
   */
  #gateOf(read: GraphRead): string | undefined {
    const page = read.budgetKey;
    if (page === undefined) return undefined;
    const caller = tokenFingerprint(read.token);
    const { about } = read;
    const inbox = about?.kind === 'list' ? { page, platform: about.platform } : this.inboxOf(read);
    if (inbox !== undefined && inbox.page === page) {
      return this.#proofs.has(proofOf.inbox(caller, inbox)) ? undefined : proofOf.inbox(caller, inbox);
    }
    if (about?.kind === 'thread' && this.#proofs.has(proofOf.thread(caller, about.threadId))) return undefined;
    return this.#proofs.has(proofOf.acquainted(caller, page)) ? undefined : `${caller}|${page}|thread`;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The items of a `{ data: [...] }` list. */
const listOf = (value: unknown): unknown[] => (isRecord(value) && Array.isArray(value.data) ? value.data : []);
