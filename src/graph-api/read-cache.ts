/**
 * The read cache: Graph reads of a Page's inbox (conversation lists, threads, messages) served from a
 * store that Meta's webhooks keep fresh, so a whole support team on one Page costs the Page's budget
 * about one call per change instead of one per screen refresh.
 *
 *   - The key is the read itself (path, fields, filters, limit, cursor), never the token. Every entry
 *     records the inbox it belongs to (a Page's numeric id and a platform) as Graph established it: the
 *     Page whose list was read, or the Page whose list showed the thread; never a Page a client named,
 *     never `me`. A read whose inbox is not known that way is not kept at all.
 *   - Who may be served an entry, and who may spend a Page's budget, is decided in one place
 *     (read-access.ts): a caller whose own token read that inbox (same platform) from Graph within the
 *     proof TTL, or read that very thread. The cache never widens what a token may see, fresh or stale,
 *     and Graph stays the judge of permissions; a stranger's reads go one probe at a time.
 *   - Each read carries tags; a webhook event moves the generation of the tags it concerns before the
 *     delivery is answered (read-cache-store.ts), so a read that starts after it never shows the older
 *     state, and a read in flight when it arrived keeps nothing.
 *   - Identical reads of callers served from the cache share one upstream call while it is in flight, and
 *     across a fleet one instance fills an entry the others wait for (fleet-fills.ts).
 *   - While Graph cannot be called (a throttle block, or a queue that would outlast the deadline) an
 *     entry up to the stale age is served instead of GRAPH_RATE_LIMITED, marked stale.
 *   - A reconciler re-reads the first page of the lists read lately with the Page's idle budget only,
 *     and drops what changed: Meta's webhooks are best effort.
 */
import type { CapacityBounds } from '../capacity.js';
import type { InboxEvent } from '../webhooks/inbox-events.js';
import type { GraphRead } from './read.js';
import { GraphRateLimitError } from './errors.js';
import { FleetFills, type Missed } from './fleet-fills.js';
import { cacheTags, InboxIndex } from './inbox-index.js';
import { Reconciler } from './reconciler.js';
import { type Fetched, isCallerSpecific, pageNodeOf, ReadAccess } from './read-access.js';
import type { ProofStore } from './proof-store.js';
import type { CachedRead, Inbox, ReadCacheStore } from './read-cache-store.js';
import { toRelativeUrl } from './request.js';
import type { GraphScheduler, ReadContext } from './scheduler.js';
import { ATTRIBUTES, type CacheResult, SPAN_NAMES, tracer } from './tracing.js';

export interface ReadCacheOptions {
  store: ReadCacheStore;
  scheduler: GraphScheduler;
  /** The Graph API version reads are made with (part of every key). */
  version: string;
  /** How long an entry is served as fresh (CACHE_MAX_AGE_SECONDS); 0: never (stale answers only). */
  maxAgeMs: number;
  /**
   * How long a Page node's entry (its `name`) is served as fresh (CACHE_PAGE_MAX_AGE_SECONDS): no event announces a rename.
   * @default maxAgeMs
   */
  pageMaxAgeMs?: number | undefined;
  /** How long an entry may be served stale while Graph cannot be called (CACHE_STALE_SECONDS); 0: never. */
  staleMs: number;
  /** How long a token's successful read of an inbox lets it be served that inbox from the cache (CREDENTIALS_TTL_SECONDS). */
  proofTtlMs: number;
  /** Where proofs of reach are shared (the fleet's: Redis with REDIS_URL). @default in this process's memory */
  proofStore?: ProofStore | undefined;
  /** Proofs remembered in this process, and threads whose inbox is known (CAPACITY_*). @default DEFAULT_CAPACITY */
  capacity?: Pick<CapacityBounds, 'proofs' | 'refusals' | 'threadInboxes'> | undefined;
  /** Lists read within this long are reconciled. @default 5 minutes */
  recentListMs?: number;
  /** Most lists the fleet re-reads per reconciling round (CACHE_RECONCILE_MAX_LISTS). @default DEFAULT_RECONCILE_MAX_LISTS */
  reconcileMaxLists?: number | undefined;
  /** This instance's share of each round: 1 ÷ the fleet's live instances. @default always 1 */
  reconcileShare?: (() => number) | undefined;
  /** Told of failures of background work (reconciling, learning a Page's Instagram account). */
  onBackgroundError?: ((error: unknown) => void) | undefined;
  now?: () => number;
}

/** What the cache did, for /metrics. */
export interface ReadCacheStats {
  hits: number;
  /** Whole answers served again without executing their operation (see plugins/use-response-cache.ts). */
  answersReused: number;
  /** Misses that waited for the fill another instance of the fleet was making, instead of reading upstream. */
  fillsAwaited: number;
  misses: number;
  staleAnswers: number;
  invalidations: number;
  reconcileReads: number;
  reconcileChanges: number;
}

export type { Fetched, Inbox };

/** Reads admitted together, what the cache knows of each, and where each answer comes from. */
interface Batch {
  readonly reads: readonly GraphRead[];
  readonly shapes: ReadonlyArray<ReadShape | undefined>;
  readonly lookups: ReadonlyArray<{ entry: CachedRead | undefined; generation: string } | undefined>;
  readonly results: Array<Fetched | Promise<Fetched> | undefined>;
  /** The reads going upstream, by index. */
  upstream: number[];
  /** Reads in flight others may join: how to hand them the answer. */
  readonly shared: Map<number, (fetched: Fetched) => void>;
}

/** What the cache knows of a read: which inbox (or Page node) it belongs to, and the tags that keep it fresh. */
interface ReadShape {
  readonly key: string;
  /** The inbox the read belongs to, as Graph established it (never a client's claim); `undefined` for a Page node read. */
  readonly inbox: Inbox | undefined;
  /** The Page a Page node read is of (the numeric id of its path); `undefined` for an inbox read. */
  readonly pageNode: string | undefined;
  /** How long its entry is served fresh: CACHE_MAX_AGE_SECONDS for inbox reads, CACHE_PAGE_MAX_AGE_SECONDS for a Page node. */
  readonly maxAgeMs: number;
  readonly tags: readonly string[];
  /** A conversation list's first page (no cursor): what the reconciler re-reads. */
  readonly listHead: boolean;
  /** The thread a thread or messages read is about. */
  readonly threadId: string | undefined;
}

/** A current entry younger than this is not replaced by the same read's newer answer. */
const RESAVE_AFTER_MS = 1_000;

export class ReadCache {
  readonly stats: ReadCacheStats = {
    hits: 0,
    answersReused: 0,
    fillsAwaited: 0,
    misses: 0,
    staleAnswers: 0,
    invalidations: 0,
    reconcileReads: 0,
    reconcileChanges: 0,
  };
  readonly #store: ReadCacheStore;
  readonly #scheduler: GraphScheduler;
  readonly #version: string;
  readonly #maxAgeMs: number;
  readonly #pageMaxAgeMs: number;
  readonly #staleMs: number;
  readonly #recentListMs: number;
  readonly #now: () => number;
  readonly #onBackgroundError: (error: unknown) => void;
  /** Upstream reads shared by callers served from the cache, by key and generation. */
  readonly #inFlight = new Map<string, Promise<Fetched>>();
  /** What events make stale, and what it takes to know. */
  readonly #index: InboxIndex;
  /** One fill per change across a fleet. */
  readonly #fills: FleetFills;
  readonly #reconciler: Reconciler;
  /** Who may be served what, and who may spend a Page's budget. */
  readonly #access: ReadAccess;

  constructor(options: ReadCacheOptions) {
    this.#store = options.store;
    this.#scheduler = options.scheduler;
    this.#version = options.version;
    this.#maxAgeMs = options.maxAgeMs;
    this.#pageMaxAgeMs = options.pageMaxAgeMs ?? options.maxAgeMs;
    this.#staleMs = options.staleMs;
    this.#recentListMs = options.recentListMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
    this.#onBackgroundError = options.onBackgroundError ?? (() => undefined);
    this.#index = new InboxIndex(options.store, options.scheduler);
    this.#fills = new FleetFills(options.store);
    this.#access = new ReadAccess({
      proofTtlMs: options.proofTtlMs,
      keyOf: (read) => this.keyOf(read),
      store: options.proofStore,
      capacity: options.capacity,
      now: options.now,
    });
    this.#reconciler = new Reconciler({
      store: options.store,
      scheduler: options.scheduler,
      recentListMs: this.#recentListMs,
      maxLists: options.reconcileMaxLists,
      share: options.reconcileShare,
      entryTtlMs: Math.max(this.#maxAgeMs, this.#staleMs),
      keptAs: withoutPagingLinks,
      onRead: (changed) => {
        this.stats.reconcileReads += 1;
        if (changed) {
          this.stats.reconcileChanges += 1;
          this.stats.invalidations += 2;
        }
      },
      onError: (error) => this.#onBackgroundError(error),
      now: this.#now,
    });
  }

  /** The identity of a read (the scheduler's): equal keys are the same upstream call. */
  keyOf(read: GraphRead): string {
    return this.#scheduler.keyOf(read);
  }

  /** Most calls one read may make at once, so that it can ever be sent. */
  get maxCallsPerRead(): number {
    return this.#scheduler.maxCallsPerRead;
  }

  /** Whether reads are ever served fresh from the cache. */
  get servesFresh(): boolean {
    return this.#maxAgeMs > 0;
  }

  /** Whether the cache keeps every one of `reads` (each about a Page's inbox). */
  keeps(reads: readonly GraphRead[]): boolean {
    return this.enabled && reads.every((read) => this.#shapeOf(read) !== undefined);
  }

  /**
   * Whether every one of `reads` is answered from the cache right now, fresh, for the token it was made
   * with (counted as hits when it is): what a whole answer built from them may be served again on.
   */
  async servedFresh(reads: readonly GraphRead[]): Promise<boolean> {
    await this.#access.refresh(reads);
    const now = this.#now();
    for (const read of reads) {
      const shape = this.#shapeOf(read);
      if (shape === undefined) return false;
      const { entry, generation } = await this.#store.lookup(shape.key, shape.tags);
      if (!this.#mayServe(read, shape, entry) || entry.generation !== generation || now - entry.fetchedAt >= shape.maxAgeMs) return false;
    }
    this.stats.hits += reads.length;
    this.stats.answersReused += 1;
    return true;
  }

  /** Whether entries are kept at all. */
  get enabled(): boolean {
    return this.#maxAgeMs > 0 || this.#pageMaxAgeMs > 0 || this.#staleMs > 0;
  }

  /**
   * Makes the reads, from the cache where it may; never rejects. A stranger's reads of a Page are admitted
   * one probe at a time (ReadAccess.admit).
   */
  readMany(reads: readonly GraphRead[], context: ReadContext): Promise<Fetched[]> {
    return this.#access.admit(reads, context.usage, (admitted) => this.#readAdmitted(admitted, context));
  }

  /** Makes admitted reads: from the cache where it may, joined to a read in flight, awaited from another instance's fill, or upstream. */
  async #readAdmitted(reads: readonly GraphRead[], context: ReadContext): Promise<Fetched[]> {
    const shapes = reads.map((read) => this.#shapeOf(read));
    const spans = shapes.map((shape) => (shape === undefined || !this.enabled ? undefined : tracer.startSpan(SPAN_NAMES.cacheLookup)));
    const lookups = await Promise.all(
      shapes.map((shape) => (shape === undefined || !this.enabled ? undefined : this.#store.lookup(shape.key, shape.tags))),
    );
    const batch: Batch = { reads, shapes, lookups, results: [], upstream: [], shared: new Map() };
    const now = this.#now();
    for (const i of reads.keys()) {
      const result = this.#serveOrJoin(batch, i, now, context);
      spans[i]?.setAttribute(ATTRIBUTES.cacheResult, result).end();
    }
    const fills = await this.#awaitOthersFills(batch, context);
    if (batch.upstream.length > 0) await this.#readUpstream(batch, fills, context);
    return Promise.all(batch.results as Array<Fetched | Promise<Fetched>>);
  }

  /**
   * Read `i` of `batch` from the cache when its entry may be served fresh, or joined to the same read in flight;
   * else it goes upstream, and callers proven for its inbox who miss meanwhile join it. Says which it was.
   */
  #serveOrJoin(batch: Batch, i: number, now: number, context: ReadContext): CacheResult {
    const read = batch.reads[i]!;
    const shape = batch.shapes[i];
    const lookup = batch.lookups[i];
    if (shape === undefined || lookup === undefined || !this.#proven(read, shape)) {
      batch.upstream.push(i);
      return 'miss';
    }
    const { entry, generation } = lookup;
    if (this.#mayServe(read, shape, entry) && entry.generation === generation && now - entry.fetchedAt < shape.maxAgeMs) {
      this.stats.hits += 1;
      context.usage.cached += 1;
      batch.results[i] = { body: entry.body, fetchedAt: entry.fetchedAt, cached: true, stale: undefined };
      return 'hit';
    }
    const flight = `${shape.key}#${generation}`;
    const joined = this.#inFlight.get(flight);
    if (joined !== undefined) {
      context.usage.coalesced += 1;
      batch.results[i] = joined.then((fetched) => (isCallerSpecific(fetched.body) ? this.#readOwn(read, context) : fetched));
      return 'joined';
    }
    let settle!: (fetched: Fetched) => void;
    const promise = new Promise<Fetched>((resolve) => (settle = resolve));
    this.#inFlight.set(flight, promise);
    void promise.then(() => this.#inFlight.delete(flight));
    batch.shared.set(i, settle);
    batch.upstream.push(i);
    return 'miss';
  }

  /**
   * Across a fleet, one instance fills an entry others miss at the same time (after an event, all of them do);
   * the others wait for it rather than spend the Page's budget on the same read. Only where entries are served
   * fresh: with no max age, nobody could be served what the fill brings. Returns the fills this instance claimed.
   */
  async #awaitOthersFills(batch: Batch, context: ReadContext): Promise<Map<number, string>> {
    const followers = new Set<number>();
    const fills = new Map<number, string>();
    await Promise.all(
      [...(this.servesFresh ? batch.shared.keys() : [])].map(async (i) => {
        const fill = await this.#fills.claim(batch.shapes[i]!.key, batch.lookups[i]!);
        if (fill !== undefined) fills.set(i, fill);
        else followers.add(i);
      }),
    );
    for (const i of followers) {
      this.stats.fillsAwaited += 1;
      const fetched = this.#awaitFill(batch.reads[i]!, batch.shapes[i]!, batch.lookups[i]!, context);
      void fetched.then(batch.shared.get(i));
      batch.results[i] = fetched;
    }
    if (followers.size > 0) batch.upstream = batch.upstream.filter((i) => !followers.has(i));
    return fills;
  }

  /** Reads what `batch` sends upstream (one scheduler call: one Graph batch), and settles each answer. */
  async #readUpstream(batch: Batch, fills: ReadonlyMap<number, string>, context: ReadContext): Promise<void> {
    const { reads, shapes, lookups, upstream } = batch;
    for (const i of upstream) if (shapes[i] !== undefined) this.stats.misses += 1;
    // The generation travels with the read: a read asked for after an event never joins one asked for before it.
    const sent = upstream.map((i) => {
      const generation = lookups[i]?.generation;
      return generation === undefined ? reads[i]! : { ...reads[i]!, generation };
    });
    const answers = await this.#scheduler.readMany(sent, context);
    await Promise.all(
      upstream.map(async (i, n) => {
        const fetched = await this.#settleRead(reads[i]!, shapes[i], lookups[i], answers[n]);
        // A fill that brought nothing to keep lets the next instance try at once, not after the lease.
        const fill = fills.get(i);
        if (fill !== undefined && (fetched.body instanceof Error || fetched.stale !== undefined)) await this.#fills.release(fill);
        batch.shared.get(i)?.(fetched);
        batch.results[i] = fetched;
      }),
    );
  }

  /** Serves the entry another instance is filling (fleet-fills.ts) when it comes; else reads upstream itself. */
  async #awaitFill(read: GraphRead, shape: ReadShape, missed: Missed, context: ReadContext): Promise<Fetched> {
    const servable = (entry: CachedRead | undefined): entry is CachedRead =>
      this.#mayServe(read, shape, entry) && this.#now() - entry.fetchedAt < shape.maxAgeMs;
    const entry = await this.#fills.awaitEntry(shape.key, shape.tags, missed, servable, context.signal);
    if (entry === undefined) return this.#readOwn(read, context);
    this.stats.hits += 1;
    context.usage.cached += 1;
    return { body: entry.body, fetchedAt: entry.fetchedAt, cached: true, stale: undefined };
  }

  /** A caller's own upstream read, when the shared one failed for reasons of its token. */
  async #readOwn(read: GraphRead, context: ReadContext): Promise<Fetched> {
    const shape = this.#shapeOf(read);
    const lookup = shape === undefined || !this.enabled ? undefined : await this.#store.lookup(shape.key, shape.tags);
    const [answer] = await this.#scheduler.readMany([read], context);
    return this.#settleRead(read, shape, lookup, answer);
  }

  /** Keeps what a successful read taught; answers a refused one from the cache when it may. */
  async #settleRead(
    read: GraphRead,
    shape: ReadShape | undefined,
    lookup: { entry: CachedRead | undefined; generation: string } | undefined,
    answer: unknown,
  ): Promise<Fetched> {
    const now = this.#now();
    if (answer instanceof Error) {
      if (isCallerSpecific(answer)) await this.#access.forget(read);
      const entry = lookup?.entry;
      if (answer instanceof GraphRateLimitError && shape !== undefined && this.#mayServe(read, shape, entry)) {
        if (now - entry.fetchedAt <= this.#staleMs) {
          this.stats.staleAnswers += 1;
          return { body: entry.body, fetchedAt: entry.fetchedAt, cached: true, stale: { retryAfterSeconds: answer.retryAfterSeconds } };
        }
      }
      return { body: answer, fetchedAt: now, cached: false, stale: undefined };
    }
    await this.#access.remember(read, answer);
    if (shape === undefined || lookup === undefined) return { body: answer, fetchedAt: now, cached: false, stale: undefined };
    // An entry as current and under a second old is kept as it is: with no fresh answers (max age 0) every
    // read misses, and keeping each answer for stale use would cost more than the stale answer is worth.
    const { entry } = lookup;
    if (entry !== undefined && entry.generation === lookup.generation && now - entry.fetchedAt < RESAVE_AFTER_MS) {
      return { body: answer, fetchedAt: now, cached: false, stale: undefined };
    }
    try {
      const ttl = Math.max(shape.maxAgeMs, this.#staleMs);
      const subject = shape.inbox === undefined ? { pageNode: shape.pageNode } : { inbox: shape.inbox };
      await this.#store.save(
        shape.key,
        shape.tags,
        { body: withoutPagingLinks(answer), fetchedAt: now, generation: lookup.generation, ...subject },
        ttl,
      );
      if (shape.inbox !== undefined) await this.#index.learn(read, shape.inbox, shape.threadId, answer);
    } catch (error) {
      this.#onBackgroundError(error);
    }
    if (shape.listHead && shape.inbox !== undefined) this.#reconciler.note(read, { key: shape.key, inbox: shape.inbox, tags: shape.tags });
    return { body: answer, fetchedAt: now, cached: false, stale: undefined };
  }

  /**
   * Drops what Meta's events make stale, before their delivery is answered: each event's list for its
   * platform, and its conversation (through the customer's id where a thread is known for it, else every
   * thread of the Page), and the Page's messages (reactions change them).
   */
  async invalidate(events: readonly InboxEvent[]): Promise<void> {
    if (!this.enabled) return;
    const tags = await this.#index.tagsOf(events);
    this.stats.invalidations += tags.size;
    await this.#store.invalidate([...tags]);
  }

  /** One reconciling round (see reconciler.ts). */
  reconcile(intervalMs: number): Promise<void> {
    return this.#reconciler.round(intervalMs);
  }

  /** The Graph API version reads are made with, e.g. `v25.0`. */
  get version(): string {
    return this.#version;
  }

  // Every road to an entry (fresh, stale, joined, awaited, whole answers) asks these two, which ask ReadAccess.
  #proven(read: GraphRead, shape: ReadShape): boolean {
    if (shape.inbox !== undefined) return this.#access.proven(read, shape.inbox, shape.threadId);
    return shape.pageNode !== undefined && this.#access.provenForPageNode(read, shape.pageNode);
  }

  #mayServe(read: GraphRead, shape: ReadShape, entry: CachedRead | undefined): entry is CachedRead {
    if (shape.inbox !== undefined) return this.#access.mayServe(read, shape.inbox, shape.threadId, entry);
    return shape.pageNode !== undefined && this.#access.mayServePageNode(read, shape.pageNode, entry);
  }

  /**
   * Proves that `token` reads `inbox`, with a read of the inbox's first conversation when no proof is live
   * (through the cache's own rules: a stranger's probe, Graph's refusal remembered). Resolves with Graph's
   * failure, or `undefined` once proven.
   */
  async proveInbox(token: string, inbox: Inbox, context: ReadContext, caller?: string): Promise<Error | undefined> {
    if (await this.#access.hasProof(token, inbox)) return undefined;
    const read: GraphRead = {
      request: { path: `${inbox.page}/conversations`, params: { fields: 'id', limit: 1, platform: inbox.platform } },
      token,
      budgetKey: inbox.page,
      caller,
      about: { kind: 'list', platform: inbox.platform },
    };
    const [fetched] = await this.readMany([read], context);
    return fetched!.body instanceof Error ? fetched!.body : undefined;
  }

  /** The inbox a read belongs to and its tags; `undefined` for reads the cache does not keep. */
  #shapeOf(read: GraphRead): ReadShape | undefined {
    const { about } = read;
    if (about === undefined) return undefined;
    const chain = read.followUps === undefined || read.followUps.length === 0 ? '' : ` +${read.followUps.join(',')}`;
    const key = `${toRelativeUrl(this.#version, read.request)}${chain}`;
    if (about.kind === 'page') {
      // The Page whose numeric id was read (never `me`); its entries serve only tokens Graph showed that Page (ReadAccess).
      const pageNode = pageNodeOf(read);
      if (pageNode === undefined || chain !== '' || (this.#pageMaxAgeMs === 0 && this.#staleMs === 0)) return undefined;
      return {
        key,
        inbox: undefined,
        pageNode,
        maxAgeMs: this.#pageMaxAgeMs,
        tags: [cacheTags.pageNode(pageNode)],
        listHead: false,
        threadId: undefined,
      };
    }
    // A list belongs to the Page whose id was read, a thread to the inbox whose list showed it (ReadAccess.inboxOf); the Page a
    // client names with it is only a claim.
    // Inbox reads are kept only when they may be served (fresh or stale): a Page name's max age alone keeps no inbox.
    if (this.#maxAgeMs === 0 && this.#staleMs === 0) return undefined;
    const inbox = this.#access.inboxOf(read);
    if (inbox === undefined) return undefined;
    const base = { key, inbox, pageNode: undefined, maxAgeMs: this.#maxAgeMs };
    if (about.kind === 'list') {
      const listHead = read.request.params.after === undefined && read.request.params.before === undefined;
      const tags = [cacheTags.list(inbox.page, inbox.platform), ...(inbox.platform === 'instagram' ? [cacheTags.instagram] : [])];
      return { ...base, tags, listHead, threadId: undefined };
    }
    const tags = [
      cacheTags.thread(about.threadId),
      cacheTags.threads(inbox.page),
      ...(inbox.platform === 'messenger' ? [] : [cacheTags.instagram]),
    ];
    return { ...base, tags, listHead: false, threadId: about.threadId };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What a kept `paging.next`/`previous` says: that there is more that way. */
export const PAGING_LINK_KEPT = 'omitted';

/**
 * A copy of a Graph answer without its paging links: `next`/`previous` are absolute URLs holding the
 * token of the caller who read it (Meta: Paginated Results), which the cache must never keep nor hand to
 * others. The gateway reads only their presence, so they are kept as a marker.
 */
export function withoutPagingLinks(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(withoutPagingLinks);
  if (!isRecord(body)) return body;
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === 'paging' && isRecord(value)) {
      const { next, previous, ...rest } = value;
      copy.paging = {
        ...rest,
        ...(next === undefined ? {} : { next: PAGING_LINK_KEPT }),
        ...(previous === undefined ? {} : { previous: PAGING_LINK_KEPT }),
      };
    } else {
      copy[name] = withoutPagingLinks(value);
    }
  }
  return copy;
}
