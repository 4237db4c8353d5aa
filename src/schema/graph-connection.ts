/**
 * The one mapper from Graph's page-level cursor paging to Relay connections, used by every
 * connection in the schema.
 *
 * Graph gives one cursor pair per page: `cursors.before` marks the page's first item and
 * `cursors.after` its last (both may mark items hidden by privacy filtering). Relay wants a cursor
 * per edge. An edge cursor therefore records the edge's place in its Graph page (the page's cursor
 * pair and length, the item's index and id), which gives, for each direction, a Graph cursor to
 * resume from and whether the edge's own item must be found and dropped in what comes back:
 *   - the last item of a Graph page resumes forward exactly at `after=cursors.after`;
 *   - the first item resumes backward exactly at `before=cursors.before`;
 *   - any other item resumes forward from `after=cursors.before` (or backward from
 *     `before=cursors.after`), dropping items up to and including itself.
 * A Relay page fetched forward always ends on the last item of a Graph page, so paging on from
 * `endCursor` costs exactly one Graph call per page. Only a missing `next` (or `previous`) ends a list:
 * short and empty Graph pages are followed.
 */
import type { GraphQLError } from 'graphql';
import { DEFAULT_CONFIG } from '../config.js';
import { gatewayError } from '../gateway-errors.js';
import { expiresCursor } from '../graph-api/error-rules.js';
import { GraphApiError } from '../graph-api/errors.js';
import type { FetchedValue, Freshness } from '../graph-api/read.js';
import type { GraphList } from '../graph-api/wire-types.js';
import type { CursorCodec, EdgePlace, SourcePosition } from '../cursors.js';

/** Most edges one connection field returns: the largest `first`/`last` accepted. */
export const MAX_EDGES = 100;
/** Edges returned when neither `first` nor `last` is given: the size of Graph's own default list page. */
export const DEFAULT_EDGES = 25;
/** Most items Graph returns in one list page, when the caller says nothing: GRAPH_LIST_CAP's default. */
const DEFAULT_GRAPH_LIST_CAP = DEFAULT_CONFIG.graphListCap;

export interface RelayArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}

/** One Graph page request: `limit` items after or before a Graph cursor, or from the start. */
export interface GraphListRequest {
  readonly limit: number;
  readonly after?: string;
  readonly before?: string;
}

/**
 * Where paging can resume from an edge in one direction: a Graph page cursor, and whether the edge's
 * own item must then be searched for and dropped along with everything before it (`dropThrough`),
 * because the Graph cursor marks its page's first or last item rather than the edge itself.
 */
export interface GraphAnchor {
  readonly graphCursor: string;
  /** Items to expect up to and including the edge's item when set (a fetch-size hint). */
  readonly dropThrough: number | undefined;
}

/**
 * Where to resume after and before an edge's item; `null` when Graph gave no cursor that way
 * (nothing follows, or precedes).
 */
function anchorsOf({ list: { before, after }, listLength, index }: EdgePlace): {
  forward: GraphAnchor | null;
  backward: GraphAnchor | null;
} {
  const isFirst = index === 0;
  const isLast = index === listLength - 1;
  const forward: GraphAnchor | null =
    after !== undefined && isLast
      ? { graphCursor: after, dropThrough: undefined }
      : before !== undefined
        ? { graphCursor: before, dropThrough: index + 1 }
        : null;
  const backward: GraphAnchor | null =
    before !== undefined && isFirst
      ? { graphCursor: before, dropThrough: undefined }
      : after !== undefined
        ? { graphCursor: after, dropThrough: listLength - index }
        : null;
  return { forward, backward };
}

/** A validated Relay request, ready to be turned into Graph page requests. */
export interface ConnectionPlan {
  readonly direction: 'forward' | 'backward';
  readonly count: number;
  /** Whether the client passed a cursor (`after`/`before`). */
  readonly fromCursor: boolean;
  /** Where to start upstream; `null` with `fromCursor`: nothing lies in that direction. */
  readonly anchor: GraphAnchor | null;
  /** The item the cursor names, dropped with everything before it when `anchor.dropThrough`. */
  readonly anchorItemId: string | undefined;
}

export interface Edge<T> {
  readonly cursor: string;
  readonly node: T;
}

export interface Connection<T> {
  readonly edges: Edge<T>[];
  /** When the oldest data in it was read from Graph. */
  readonly fetchedAt: Date;
  /** Set when some of it was served stale because Graph could not be called. */
  readonly stale: { readonly retryAfterSeconds: number } | undefined;
  readonly pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const invalidPagination = (message: string): GraphQLError => gatewayError('INVALID_PAGINATION', message);

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_EDGES) {
    throw invalidPagination(`\`${name}\` must be an integer from 1 to ${MAX_EDGES}, got ${value}.`);
  }
  return value;
}

/**
 * Validates Relay arguments and decodes the cursor for `scope`. Throws a GraphQLError
 * (`INVALID_PAGINATION` or `BAD_CURSOR`) before any upstream call.
 */
export function planConnection(args: RelayArgs, cursors: CursorCodec, scope: string): ConnectionPlan {
  const { first, after, last, before } = args;
  if (first != null && last != null) {
    throw invalidPagination('Pass `first` (with `after`) or `last` (with `before`), not both.');
  }
  if (last != null || before != null) {
    if (after != null || first != null) {
      throw invalidPagination('`before`/`last` page backward and cannot be combined with `after`/`first`.');
    }
    if (before == null) {
      throw invalidPagination(
        '`last` needs `before`: the Graph API pages backward only from a cursor. Use `first` to read from the start.',
      );
    }
    const count = checkCount('last', last ?? DEFAULT_EDGES);
    const place = cursors.decode(scope, before);
    return {
      direction: 'backward',
      count,
      fromCursor: true,
      anchor: anchorsOf(place).backward,
      anchorItemId: place.itemId,
    };
  }
  const count = checkCount('first', first ?? DEFAULT_EDGES);
  const place = after == null ? undefined : cursors.decode(scope, after);
  return {
    direction: 'forward',
    count,
    fromCursor: place !== undefined,
    anchor: place === undefined ? null : anchorsOf(place).forward,
    anchorItemId: place?.itemId,
  };
}

/** Items a plan reads from Graph in all: its count, plus those it drops to reach the cursor's item. */
function itemsWanted(plan: ConnectionPlan): number {
  return plan.count + (plan.anchor?.dropThrough ?? 0);
}

/**
 * The first Graph request a plan makes (at most `graphListCap` items), or `null` when the cursor says
 * nothing lies that way.
 */
export function firstListRequest(plan: ConnectionPlan, graphListCap: number = DEFAULT_GRAPH_LIST_CAP): GraphListRequest | null {
  if (plan.anchor === null && plan.fromCursor) return null;
  const limit = Math.min(graphListCap, itemsWanted(plan));
  if (plan.anchor === null) return { limit };
  return plan.direction === 'forward' ? { limit, after: plan.anchor.graphCursor } : { limit, before: plan.anchor.graphCursor };
}

/** A list read from a cursor fails with CURSOR_EXPIRED where Graph's answer means the cursor died ({@link expiresCursor}). */
function cursorExpiry(request: GraphListRequest): (error: unknown) => never {
  return (error) => {
    const fromCursor = request.after !== undefined || request.before !== undefined;
    if (fromCursor && error instanceof GraphApiError && expiresCursor(error.code, error.subcode)) {
      throw gatewayError(
        'CURSOR_EXPIRED',
        'This cursor can no longer be resumed: the item it points at is gone from the list. Start again from the first page.',
        { graph: { code: error.code, fbtraceId: error.fbtraceId ?? null } },
      );
    }
    throw error;
  };
}

interface Placed<T> {
  item: T;
  list: GraphList<T>;
  index: number;
  /** When its page was read from Graph, and whether it was served stale. */
  fetched: Freshness;
}

/** How a connection reads Graph. */
export interface ConnectionReads<T> {
  readonly fetchList: (request: GraphListRequest) => Promise<FetchedValue<GraphList<T>>>;
  /** Reads a page and follow-up pages (limits given) in one batch; the list ends early at a failure. */
  readonly fetchWithFollowUps?:
    | ((request: GraphListRequest, followUps: number[]) => Promise<FetchedValue<Array<GraphList<T> | Error>>>)
    | undefined;
  /** Most pages one chain may hold. @default 1 (no chains) */
  readonly maxCallsPerRead?: number;
  /** Most items Graph returns in one list page (GRAPH_LIST_CAP). @default GRAPH_LIST_CAP's default */
  readonly graphListCap?: number;
}

/** Items taken from Graph for one Relay page, where each sits, and how fresh they are. */
interface Collected<T> {
  readonly placed: Placed<T>[];
  /** Whether more items lie beyond the last one taken, in the plan's direction. */
  readonly moreBeyond: boolean;
  /** When the oldest page used was read from Graph (epoch ms). */
  readonly fetchedAt: number;
  /** Set when a page was served stale: the longest wait before Graph can be called again. */
  readonly stale: Freshness['stale'];
}

/** Keeps the oldest `fetchedAt` and the longest stale wait of the pages read so far. */
class OldestFreshness {
  fetchedAt = Number.POSITIVE_INFINITY;
  stale: Freshness['stale'];
  note(fetched: Freshness): void {
    this.fetchedAt = Math.min(this.fetchedAt, fetched.fetchedAt);
    if (fetched.stale !== undefined && fetched.stale.retryAfterSeconds > (this.stale?.retryAfterSeconds ?? 0)) this.stale = fetched.stale;
  }
}

/**
 * Fetches Graph pages (following cursors through short and empty pages) until `count` items are collected,
 * Graph says the list ends, or `enough` (told each page's items taken) says no more is needed. When the count
 * exceeds Graph's page cap and `fetchWithFollowUps` is given, the pages after the first are read in the same
 * batch through batch dependencies, each a full page (a batch item costs one call whatever its limit, and the
 * extra items absorb pages that privacy filtering shortened);
 * a further request is made only if short pages left it unfilled.
 */
async function collectItems<T>(
  plan: ConnectionPlan,
  reads: ConnectionReads<T>,
  idOf: (item: T) => string,
  isPastEnd: ((item: T) => boolean) | undefined,
  enough?: (taken: readonly T[]) => boolean,
): Promise<Collected<T>> {
  const graphListCap = reads.graphListCap ?? DEFAULT_GRAPH_LIST_CAP;
  const forward = plan.direction === 'forward';
  const freshness = new OldestFreshness();
  let request = firstListRequest(plan, graphListCap);
  let pendingDrop = plan.anchor?.dropThrough === undefined ? undefined : plan.anchorItemId;
  let placed: Placed<T>[] = [];
  let moreBeyond = false;
  let prefetched: GraphList<T>[] = [];
  let chainFreshness: Freshness | undefined;

  if (request !== null && forward && reads.fetchWithFollowUps !== undefined) {
    const followUps: number[] = [];
    for (
      let left = itemsWanted(plan) - request.limit;
      left > 0 && followUps.length + 1 < (reads.maxCallsPerRead ?? 1);
      left -= graphListCap
    ) {
      followUps.push(graphListCap);
    }
    if (followUps.length > 0) {
      const chain = await reads.fetchWithFollowUps(request, followUps);
      const first = chain.value[0];
      if (first === undefined || first instanceof Error) throw first ?? new Error('A chained read answered no page');
      freshness.note(chain);
      chainFreshness = { fetchedAt: chain.fetchedAt, stale: chain.stale };
      prefetched = chain.value.filter((list): list is GraphList<T> => !(list instanceof Error));
    }
  }

  while (request !== null) {
    let list = prefetched.shift();
    let fetched: Freshness | undefined = list === undefined ? undefined : chainFreshness;
    if (list === undefined) {
      const answer = await reads.fetchList(request).catch(cursorExpiry(request));
      freshness.note(answer);
      list = answer.value;
      fetched = { fetchedAt: answer.fetchedAt, stale: answer.stale };
    }
    const listFreshness = fetched ?? { fetchedAt: Date.now(), stale: undefined };
    let positions = list.data.map((_, index) => index);
    if (pendingDrop !== undefined) {
      const at = list.data.findIndex((item) => idOf(item) === pendingDrop);
      // When the item has moved or gone, keep the whole Graph page: clients may see an item twice, never miss one.
      if (at >= 0) positions = forward ? positions.slice(at + 1) : positions.slice(0, at);
      pendingDrop = undefined;
    }
    let pastEnd = false;
    if (isPastEnd !== undefined && forward) {
      // Everything after the first such item is older still: the list ends there.
      const end = positions.findIndex((index) => isPastEnd(list.data[index] as T));
      if (end >= 0) {
        positions = positions.slice(0, end);
        pastEnd = true;
      }
    } else if (isPastEnd !== undefined) {
      positions = positions.filter((index) => !isPastEnd(list.data[index] as T));
    }
    const need = plan.count - placed.length;
    const taken = forward ? positions.slice(0, need) : positions.slice(Math.max(0, positions.length - need));
    const batch = taken.map((index): Placed<T> => ({ item: list.data[index] as T, list, index, fetched: listFreshness }));
    placed = forward ? placed.concat(batch) : batch.concat(placed);

    const leftOver = taken.length < positions.length;
    const beyond = forward ? list.paging?.next : list.paging?.previous;
    const graphCursor = forward ? list.paging?.cursors?.after : list.paging?.cursors?.before;
    moreBeyond = leftOver || (beyond !== undefined && !pastEnd);
    const satisfied = enough?.(batch.map(({ item }) => item)) === true;
    if (satisfied || leftOver || pastEnd || placed.length >= plan.count || beyond === undefined || graphCursor === undefined) break;
    const limit = Math.min(graphListCap, plan.count - placed.length);
    request = forward ? { limit, after: graphCursor } : { limit, before: graphCursor };
  }
  return { placed, moreBeyond, fetchedAt: freshness.fetchedAt, stale: freshness.stale };
}

/** Builds the edges (cursors signed only when read: many queries select nodes without them) and page info. */
function buildConnection<T, N>(
  plan: ConnectionPlan,
  collected: Collected<T>,
  scope: string,
  cursors: CursorCodec,
  idOf: (item: T) => string,
  toNode: (item: T, fetched: Freshness) => N,
): Connection<N> {
  const encoders = new Map<GraphList<T>, (index: number, itemId: string) => string>();
  const encoderFor = (list: GraphList<T>): ((index: number, itemId: string) => string) => {
    let encoder = encoders.get(list);
    if (encoder === undefined) {
      const { before, after } = list.paging?.cursors ?? {};
      encoders.set(list, (encoder = cursors.listEncoder(scope, { before, after }, list.data.length)));
    }
    return encoder;
  };
  const edges = collected.placed.map(({ item, list, index, fetched }): Edge<N> => {
    let cursor: string | undefined;
    return {
      node: toNode(item, fetched),
      get cursor() {
        return (cursor ??= encoderFor(list)(index, idOf(item)));
      },
    };
  });
  const forward = plan.direction === 'forward';
  return {
    edges,
    // A connection that read nothing (a cursor with nothing beyond it) is as fresh as now.
    fetchedAt: new Date(Number.isFinite(collected.fetchedAt) ? collected.fetchedAt : Date.now()),
    stale: collected.stale,
    pageInfo: {
      // Going one way, the cursor's own item proves there is something the other way.
      hasNextPage: forward ? collected.moreBeyond : plan.fromCursor,
      hasPreviousPage: forward ? plan.fromCursor : collected.moreBeyond,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
  };
}

/**
 * Runs a plan: collects the items of one Relay page from Graph (see {@link collectItems}) and builds its
 * edges with per-edge cursors.
 */
export async function resolveConnection<T, N>(options: {
  plan: ConnectionPlan;
  scope: string;
  cursors: CursorCodec;
  reads: ConnectionReads<T>;
  idOf: (item: T) => string;
  /** Wraps a Graph item as the GraphQL node (told how fresh its page is). */
  toNode: (item: T, fetched: Freshness) => N;
  /**
   * A watermark on a list sorted newest first: the list ends before the first item for which this is
   * true (going backward, such items are left out).
   */
  isPastEnd?: ((item: T) => boolean) | undefined;
}): Promise<Connection<N>> {
  const { plan, scope, cursors, reads, idOf, toNode, isPastEnd } = options;
  const collected = await collectItems(plan, reads, idOf, isPastEnd);
  return buildConnection(plan, collected, scope, cursors, idOf, toNode);
}

/**
 * One source of a merged connection ({@link resolveMergedConnection}): how to read its Graph list (sorted
 * the way the merge is), and the watermark that ends it.
 */
export interface MergeSource<T> {
  readonly reads: ConnectionReads<T>;
  readonly isPastEnd?: ((item: T) => boolean) | undefined;
}

/** A validated request for a merged list: forward only, from each source's position. */
export interface MergedPlan {
  readonly count: number;
  readonly fromCursor: boolean;
  readonly positions: readonly SourcePosition[];
}

/**
 * Validates Relay arguments for a list merged from `sourceCount` sources and decodes its cursor for `scope`.
 * Throws a GraphQLError (`INVALID_PAGINATION` or `BAD_CURSOR`) before any upstream call.
 */
export function planMergedConnection(args: RelayArgs, cursors: CursorCodec, scope: string, sourceCount: number): MergedPlan {
  if (args.last != null || args.before != null) {
    throw invalidPagination('This list pages forward only: pass `first` and `after`.');
  }
  const count = checkCount('first', args.first ?? DEFAULT_EDGES);
  if (args.after == null) return { count, fromCursor: false, positions: Array.from({ length: sourceCount }, () => ({ state: 'start' })) };
  return { count, fromCursor: true, positions: cursors.decodeMerged(scope, args.after, sourceCount) };
}

/** The single-list plan that reads one source from its position: `null` when it has nothing more. */
function sourcePlan(position: SourcePosition, count: number): ConnectionPlan | null {
  if (position.state === 'done') return null;
  if (position.state === 'start') return { direction: 'forward', count, fromCursor: false, anchor: null, anchorItemId: undefined };
  const anchor = anchorsOf(position.place).forward;
  return anchor === null ? null : { direction: 'forward', count, fromCursor: true, anchor, anchorItemId: position.place.itemId };
}

/** What a merged connection answers: a connection, and the sources that could not be read (their position kept). */
export interface MergedConnection<N> extends Connection<N> {
  readonly failures: ReadonlyArray<{ readonly source: number; readonly error: unknown }>;
}

/** Where a taken item sat in its source, as the position to resume that source after it. */
function positionAfter<T>(taken: Placed<T>, idOf: (item: T) => string, isLastOfSource: boolean): SourcePosition {
  if (isLastOfSource) return { state: 'done' };
  const { before, after } = taken.list.paging?.cursors ?? {};
  return {
    state: 'after',
    place: { list: { before, after }, listLength: taken.list.data.length, index: taken.index, itemId: idOf(taken.item) },
  };
}

/**
 * Merges the heads of the sources' collected items: repeatedly takes the first by `precedes` until `count`.
 * Returns the source of each item taken, in order.
 */
function mergeHeads<T>(
  collected: ReadonlyArray<Collected<T> | undefined>,
  count: number,
  precedes: (a: { source: number; item: T }, b: { source: number; item: T }) => boolean,
): number[] {
  const next = collected.map(() => 0);
  const order: number[] = [];
  while (order.length < count) {
    let best: number | undefined;
    collected.forEach((source, index) => {
      const placed = source?.placed[next[index]!];
      if (placed === undefined) return;
      const head = collected[best ?? -1]?.placed[next[best ?? -1]!];
      if (best === undefined || head === undefined || precedes({ source: index, item: placed.item }, { source: best, item: head.item })) {
        best = index;
      }
    });
    if (best === undefined) break;
    next[best]! += 1;
    order.push(best);
  }
  return order;
}

/**
 * Runs a merged plan: reads every source from its position (each at most `count` items, all in the same
 * tick so that the operation's loader sends them as one batch; a source whose last item read has `count`
 * items before it in what all sources gave is not read further), merges them k-way by `precedes`, and gives
 * each edge a cursor holding every source's position after it. A source that fails is left out, its
 * position kept, and reported in `failures`.
 */
export async function resolveMergedConnection<T, N>(options: {
  plan: MergedPlan;
  scope: string;
  cursors: CursorCodec;
  sources: ReadonlyArray<MergeSource<T>>;
  idOf: (item: T) => string;
  precedes: (a: { source: number; item: T }, b: { source: number; item: T }) => boolean;
  toNode: (source: number, item: T, fetched: Freshness) => N;
}): Promise<MergedConnection<N>> {
  const { plan, scope, cursors, sources, idOf, precedes } = options;
  // Every item collected so far, from all sources: a source stops reading once `count` of them come before its last one.
  const frontier: Array<{ source: number; item: T }> = [];
  const enoughFor =
    (source: number) =>
    (taken: readonly T[]): boolean => {
      frontier.push(...taken.map((item) => ({ source, item })));
      const last = taken.at(-1);
      if (last === undefined) return false;
      const ahead = frontier.filter((other) => precedes(other, { source, item: last })).length;
      return ahead + 1 >= plan.count;
    };
  const settled = await Promise.allSettled(
    sources.map((source, index) => {
      const single = sourcePlan(plan.positions[index]!, plan.count);
      return single === null ? Promise.resolve(undefined) : collectItems(single, source.reads, idOf, source.isPastEnd, enoughFor(index));
    }),
  );
  const failures = settled.flatMap((result, source) => (result.status === 'rejected' ? [{ source, error: result.reason as unknown }] : []));
  const collected = settled.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
  const order = mergeHeads(collected, plan.count, precedes);
  return { ...mergedEdges(plan, collected, order, options, cursors, scope), failures };
}

/** The edges of a merged page, each cursor holding every source's position after its edge. */
function mergedEdges<T, N>(
  plan: MergedPlan,
  collected: ReadonlyArray<Collected<T> | undefined>,
  order: readonly number[],
  options: { idOf: (item: T) => string; toNode: (source: number, item: T, fetched: Freshness) => N },
  cursors: CursorCodec,
  scope: string,
): Connection<N> {
  const freshness = new OldestFreshness();
  for (const source of collected) if (source !== undefined && Number.isFinite(source.fetchedAt)) freshness.note(source);
  const taken = collected.map(() => 0);
  let positions = [...plan.positions];
  const edges = order.map((source): Edge<N> => {
    const from = collected[source]!;
    const placed = from.placed[taken[source]!]!;
    taken[source]! += 1;
    const isLastOfSource = taken[source] === from.placed.length && !from.moreBeyond;
    positions = positions.map((position, index) => (index === source ? positionAfter(placed, options.idOf, isLastOfSource) : position));
    const after = positions;
    let cursor: string | undefined;
    return {
      node: options.toNode(source, placed.item, placed.fetched),
      get cursor() {
        return (cursor ??= cursors.encodeMerged(scope, after));
      },
    };
  });
  const moreBeyond = collected.some((source, index) => source !== undefined && (taken[index]! < source.placed.length || source.moreBeyond));
  return {
    edges,
    fetchedAt: new Date(Number.isFinite(freshness.fetchedAt) ? freshness.fetchedAt : Date.now()),
    stale: freshness.stale,
    pageInfo: {
      hasNextPage: moreBeyond,
      hasPreviousPage: plan.fromCursor,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
  };
}
