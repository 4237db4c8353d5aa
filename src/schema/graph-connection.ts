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
import type { CursorCodec, EdgePlace } from '../cursors.js';

/** Most edges one connection field returns: the largest `first`/`last` accepted. */
export const MAX_EDGES = 100;
/** Edges returned when neither `first` nor `last` is given: the size of Graph's own default list page. */
export const DEFAULT_EDGES = 25;
/** Most items Graph returns in one list page, when the caller says nothing: GRAPH_LIST_CAP's default. */
export const DEFAULT_GRAPH_LIST_CAP = DEFAULT_CONFIG.graphListCap;

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
export function anchorsOf({ list: { before, after }, listLength, index }: EdgePlace): {
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
  /** The item the cursor names, dropped with everything before it when `anchor.dropThrough` (or `repeat`). */
  readonly anchorItemId: string | undefined;
  /**
   * The first Graph request, when it repeats the one that read the anchor item's page (so that a cache serves it);
   * the anchor item is then dropped with everything before it.
   */
  readonly repeat?: GraphListRequest | undefined;
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

export const invalidPagination = (message: string): GraphQLError => gatewayError('INVALID_PAGINATION', message);

export function checkCount(name: string, value: number): number {
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
  if (plan.repeat !== undefined) return plan.repeat;
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

export interface Placed<T> {
  item: T;
  list: GraphList<T>;
  index: number;
  /** When its page was read from Graph, and whether it was served stale. */
  fetched: Freshness;
  /** The Graph request that read its page. */
  request: GraphListRequest;
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
export interface Collected<T> {
  readonly placed: Placed<T>[];
  /** Whether more items lie beyond the last one taken, in the plan's direction. */
  readonly moreBeyond: boolean;
  /** The item just beyond the last one taken, when it was read (forward). */
  readonly following?: T | undefined;
  /** When the oldest page used was read from Graph (epoch ms). */
  readonly fetchedAt: number;
  /** Set when a page was served stale: the longest wait before Graph can be called again. */
  readonly stale: Freshness['stale'];
}

/** Keeps the oldest `fetchedAt` and the longest stale wait of the pages read so far. */
export class OldestFreshness {
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
export async function collectItems<T>(
  plan: ConnectionPlan,
  reads: ConnectionReads<T>,
  idOf: (item: T) => string,
  isPastEnd: ((item: T) => boolean) | undefined,
  enough?: (taken: readonly T[]) => boolean | Promise<boolean>,
): Promise<Collected<T>> {
  const graphListCap = reads.graphListCap ?? DEFAULT_GRAPH_LIST_CAP;
  const forward = plan.direction === 'forward';
  const freshness = new OldestFreshness();
  let request = firstListRequest(plan, graphListCap);
  let pendingDrop = plan.anchor?.dropThrough === undefined && plan.repeat === undefined ? undefined : plan.anchorItemId;
  let placed: Placed<T>[] = [];
  let moreBeyond = false;
  let following: T | undefined;
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

  const initialRequest = request;
  while (request !== null) {
    const chained = prefetched.length > 0;
    let list = prefetched.shift();
    let fetched: Freshness | undefined = list === undefined ? undefined : chainFreshness;
    // A chain's follow-up pages are full pages (see above).
    const listRequest = chained && request !== initialRequest ? { ...request, limit: graphListCap } : request;
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
    const batch = taken.map(
      (index): Placed<T> => ({ item: list.data[index] as T, list, index, fetched: listFreshness, request: listRequest }),
    );
    placed = forward ? placed.concat(batch) : batch.concat(placed);

    const leftOver = taken.length < positions.length;
    if (leftOver && forward) following = list.data[positions[taken.length]!] as T;
    const beyond = forward ? list.paging?.next : list.paging?.previous;
    const graphCursor = forward ? list.paging?.cursors?.after : list.paging?.cursors?.before;
    moreBeyond = leftOver || (beyond !== undefined && !pastEnd);
    const satisfied = (await enough?.(batch.map(({ item }) => item))) === true;
    if (satisfied || leftOver || pastEnd || placed.length >= plan.count || beyond === undefined || graphCursor === undefined) break;
    const limit = Math.min(graphListCap, plan.count - placed.length);
    request = forward ? { limit, after: graphCursor } : { limit, before: graphCursor };
  }
  return { placed, moreBeyond, following, fetchedAt: freshness.fetchedAt, stale: freshness.stale };
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
