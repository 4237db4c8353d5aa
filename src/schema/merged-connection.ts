/**
 * A Relay connection merged k-way from several sorted Graph lists (sources), e.g. `Viewer.inbox`. Each source is
 * read as schema/graph-connection.ts reads one list; a merged cursor holds every source's position
 * (cursors.ts {@link SourcePosition}): the place and key of the last item taken from it, and the key of the next
 * one when it was read. The keys let a page skip a source whose next item cannot make the page.
 *
 * Forward (`first`/`after`): sources whose next item is unknown are read first, in one batch, each only until
 * `first` items from all sources (known next items included) come before its last one; then a source whose
 * known next item has fewer than `first` known items before it is read, in a second batch. Any other source
 * costs nothing.
 * Backward (`last`/`before`): Graph lists only start from the newest, so each source is read from its start
 * up to the cursor's position in it (cached first pages make this cheap), and the last `last` items of their
 * merge are returned.
 */
import type { CursorCodec, MergedPosition, MergeKey, SourceItemPlace, SourcePosition } from '../cursors.js';
import type { Freshness } from '../graph-api/read.js';
import type { GraphList } from '../graph-api/wire-types.js';
import {
  checkCount,
  type Collected,
  type Connection,
  type ConnectionPlan,
  type ConnectionReads,
  collectItems,
  DEFAULT_EDGES,
  DEFAULT_GRAPH_LIST_CAP,
  type Edge,
  type GraphListRequest,
  invalidPagination,
  OldestFreshness,
  type Placed,
  type RelayArgs,
} from './graph-connection.js';

/** One source of a merged connection: how to read its Graph list (sorted the way the merge is), and the watermark that ends it. */
export interface MergeSource<T> {
  readonly reads: ConnectionReads<T>;
  readonly isPastEnd?: ((item: T) => boolean) | undefined;
}

/** A validated request for a merged list. */
export interface MergedPlan {
  readonly direction: 'forward' | 'backward';
  readonly count: number;
  /** The cursor's positions; `undefined` for a first page. */
  readonly from: MergedPosition | undefined;
}

/** What a merged connection answers: a connection, and the sources that could not be read (their position kept). */
export interface MergedConnection<N> extends Connection<N> {
  readonly failures: ReadonlyArray<{ readonly source: number; readonly error: unknown }>;
}

/** An item, or a known next item, of one source, as the merge orders it. */
export interface Keyed {
  readonly source: number;
  readonly key: MergeKey;
}

export interface MergeOptions<T, N> {
  readonly plan: MergedPlan;
  readonly scope: string;
  readonly cursors: CursorCodec;
  readonly sources: ReadonlyArray<MergeSource<T>>;
  readonly keyOf: (item: T) => MergeKey;
  /** The merge's order: a total order, agreeing with each source's own. */
  readonly precedes: (a: Keyed, b: Keyed) => boolean;
  readonly toNode: (source: number, item: T, fetched: Freshness) => N;
}

const UNTOUCHED: SourcePosition = { last: undefined, next: 'unknown' };

/**
 * Validates Relay arguments for a list merged from `sourceCount` sources and decodes its cursor for `scope`.
 * Throws a GraphQLError (`INVALID_PAGINATION` or `BAD_CURSOR`) before any upstream call.
 */
export function planMergedConnection(args: RelayArgs, cursors: CursorCodec, scope: string, sourceCount: number): MergedPlan {
  const { first, after, last, before } = args;
  if (first != null && last != null) throw invalidPagination('Pass `first` (with `after`) or `last` (with `before`), not both.');
  if (last != null || before != null) {
    if (after != null || first != null) {
      throw invalidPagination('`before`/`last` page backward and cannot be combined with `after`/`first`.');
    }
    if (before == null)
      throw invalidPagination('`last` needs `before`: the Graph API lists start from the newest. Use `first` to read from the start.');
    const count = checkCount('last', last ?? DEFAULT_EDGES);
    return { direction: 'backward', count, from: cursors.decodeMerged(scope, before, sourceCount) };
  }
  const count = checkCount('first', first ?? DEFAULT_EDGES);
  return { direction: 'forward', count, from: after == null ? undefined : cursors.decodeMerged(scope, after, sourceCount) };
}

/**
 * What the merge has of one source: items in the source's order, what follows the last of them, and the
 * position before the first (`unread`: the source was not read, its position stays as it was).
 */
interface Run<T> {
  readonly placed: readonly Placed<T>[];
  readonly following: SourcePosition['next'];
  readonly start: SourcePosition;
  readonly unread: boolean;
  readonly fetched?: Collected<T> | undefined;
}

/** The single-list plan that reads one source forward from its position: `null` when it has nothing more. */
function forwardPlan({ last }: SourcePosition, count: number): ConnectionPlan | null {
  const plan = { direction: 'forward', count, fromCursor: true, anchor: null, anchorItemId: last?.id } as const;
  if (last === undefined) return { ...plan, fromCursor: false };
  if (last.repeatLimit !== undefined) {
    return { ...plan, repeat: last.after === undefined ? { limit: last.repeatLimit } : { limit: last.repeatLimit, after: last.after } };
  }
  return last.after === undefined ? null : { ...plan, anchor: { graphCursor: last.after, dropThrough: undefined } };
}

type Settled<T> = { run: Run<T> } | { error: unknown };

/** Reads the sources that must be read for a forward page, in at most two batches (see the module's comment). */
async function readForward<T>(options: MergeOptions<T, unknown>): Promise<Settled<T>[]> {
  const { plan, sources, keyOf, precedes } = options;
  const positions = plan.from?.sources ?? sources.map(() => UNTOUCHED);
  // Items known so far, from all sources (next items not read yet included): a read stops once `count` of them precede its last item.
  let known: Keyed[] = [];
  positions.forEach(({ next }, source) => {
    if (typeof next !== 'string') known.push({ source, key: next });
  });
  const ahead = (of: Keyed): number => known.filter((other) => precedes(other, of)).length;
  const read = async (source: number): Promise<Settled<T>> => {
    const position = positions[source]!;
    const single = forwardPlan(position, plan.count);
    if (single === null) return { run: { placed: [], following: 'end', start: position, unread: false } };
    const enough = async (taken: readonly T[]): Promise<boolean> => {
      known.push(...taken.map((item) => ({ source, key: keyOf(item) })));
      const last = taken.at(-1);
      if (last === undefined) return false;
      // The other sources' pages of the same Graph batch are delivered in the same turn: count them too.
      await new Promise(setImmediate);
      return ahead({ source, key: keyOf(last) }) + 1 >= plan.count;
    };
    try {
      const collected = await collectItems(single, sources[source]!.reads, (item) => keyOf(item).id, sources[source]!.isPastEnd, enough);
      const following = collected.following === undefined ? (collected.moreBeyond ? 'unknown' : 'end') : keyOf(collected.following);
      return { run: { placed: collected.placed, following, start: position, unread: false, fetched: collected } };
    } catch (error) {
      return { error };
    }
  };
  const unread = (source: number): Settled<T> => ({
    run: { placed: [], following: positions[source]!.next, start: positions[source]!, unread: true },
  });
  const settled: Settled<T>[] = await Promise.all(
    positions.map((position, source) => (position.next === 'unknown' ? read(source) : Promise.resolve(unread(source)))),
  );
  const waiting = positions.flatMap(({ next }, source) =>
    typeof next === 'string' || ahead({ source, key: next }) >= plan.count ? [] : [source],
  );
  // A waiting source's known next item is read as a real item now: it no longer counts twice.
  known = known.filter((item) => !waiting.includes(item.source));
  const second = await Promise.all(waiting.map(read));
  waiting.forEach((source, index) => {
    settled[source] = second[index]!;
  });
  return settled;
}

/**
 * A source's items from its start up to `bound` (included when `inclusive`), and whether `bound` was found: an
 * item older than it means it moved or went, and the prefix ends there.
 */
async function readPrefix<T>(
  { reads, isPastEnd }: MergeSource<T>,
  keyOf: (item: T) => MergeKey,
  bound: MergeKey,
  inclusive: boolean,
): Promise<{ collected: Collected<T>; found: boolean }> {
  const placed: Placed<T>[] = [];
  const freshness = new OldestFreshness();
  let request: GraphListRequest | undefined = { limit: reads.graphListCap ?? DEFAULT_GRAPH_LIST_CAP };
  while (request !== undefined) {
    const answer = await reads.fetchList(request);
    freshness.note(answer);
    const list: GraphList<T> = answer.value;
    const fetched = { fetchedAt: answer.fetchedAt, stale: answer.stale };
    const at = (index: number): Placed<T> => ({ item: list.data[index]!, list, index, fetched, request: request! });
    const end = list.data.findIndex((item) => keyOf(item).id === bound.id || keyOf(item).time < bound.time || isPastEnd?.(item) === true);
    if (end >= 0) {
      const found = keyOf(list.data[end]!).id === bound.id;
      placed.push(...Array.from({ length: end + (found && inclusive ? 1 : 0) }, (_, index) => at(index)));
      return { collected: { placed, moreBeyond: true, fetchedAt: freshness.fetchedAt, stale: freshness.stale }, found };
    }
    placed.push(...list.data.map((_, index) => at(index)));
    const after = list.paging?.cursors?.after;
    request = list.paging?.next === undefined || after === undefined ? undefined : { limit: request.limit, after };
  }
  return { collected: { placed, moreBeyond: false, fetchedAt: freshness.fetchedAt, stale: freshness.stale }, found: false };
}

/** Reads every source from its start up to its item at the cursor (included, but for the edge's own source). */
async function readBackward<T>(options: MergeOptions<T, unknown>, from: MergedPosition): Promise<Settled<T>[]> {
  return Promise.all(
    from.sources.map(async (position, source): Promise<Settled<T>> => {
      const bound = position.last;
      if (bound === undefined) return { run: { placed: [], following: position.next, start: UNTOUCHED, unread: false } };
      const inclusive = source !== from.edgeSource;
      try {
        const { collected, found } = await readPrefix(options.sources[source]!, options.keyOf, bound, inclusive);
        const following = !found ? 'unknown' : inclusive ? position.next : { time: bound.time, id: bound.id };
        return { run: { placed: collected.placed, following, start: UNTOUCHED, unread: false, fetched: collected } };
      } catch (error) {
        return { error };
      }
    }),
  );
}

/**
 * Merges the runs k-way by `precedes`, up to `limit` items: the source of each item, in order. Forward, stops before
 * an item that a known item not read yet precedes (backward, every run holds all it has before the cursor).
 */
function mergeRuns<T>(
  runs: ReadonlyArray<Run<T>>,
  limit: number,
  keyOf: (item: T) => MergeKey,
  precedes: (a: Keyed, b: Keyed) => boolean,
  forward: boolean,
): number[] {
  const next = runs.map(() => 0);
  const order: number[] = [];
  const headOf = (source: number): Keyed | undefined => {
    const placed = runs[source]!.placed[next[source]!];
    return placed === undefined ? undefined : { source, key: keyOf(placed.item) };
  };
  while (order.length < limit) {
    let best: Keyed | undefined;
    for (let source = 0; source < runs.length; source += 1) {
      const head = headOf(source);
      if (head !== undefined && (best === undefined || precedes(head, best))) best = head;
    }
    if (best === undefined) return order;
    const blocking =
      forward &&
      runs.some(
        (run, source) =>
          next[source] === run.placed.length && typeof run.following !== 'string' && precedes({ source, key: run.following }, best),
      );
    if (blocking) return order;
    next[best.source]! += 1;
    order.push(best.source);
  }
  return order;
}

/** Where a taken item sits in its source, to read on after it (see {@link SourceItemPlace}). */
function itemPlace<T>({ item, list, index, request }: Placed<T>, keyOf: (item: T) => MergeKey): SourceItemPlace {
  const pageAfter = list.paging?.cursors?.after;
  const endsPage = index === list.data.length - 1 && pageAfter !== undefined;
  return { ...keyOf(item), after: endsPage ? pageAfter : request.after, repeatLimit: endsPage ? undefined : request.limit };
}

/** A source's position once `taken` items of its run are taken. */
function positionAfter<T>(run: Run<T>, taken: number, keyOf: (item: T) => MergeKey): SourcePosition {
  if (taken === 0 && run.unread) return run.start;
  const lastPlaced = run.placed[taken - 1];
  const last = lastPlaced === undefined ? run.start.last : itemPlace(lastPlaced, keyOf);
  const nextPlaced = run.placed[taken];
  return { last, next: nextPlaced === undefined ? run.following : keyOf(nextPlaced.item) };
}

/**
 * Runs a merged plan (see the module's comment): reads the sources it needs, merges them k-way by `precedes`,
 * and gives each edge a cursor holding every source's position after it. A source that fails is left out,
 * its position kept, and reported in `failures`.
 */
export async function resolveMergedConnection<T, N>(options: MergeOptions<T, N>): Promise<MergedConnection<N>> {
  const { plan, keyOf } = options;
  const forward = plan.direction === 'forward';
  const settled = forward ? await readForward(options) : await readBackward(options, plan.from!);
  const failures = settled.flatMap((result, source) => ('error' in result ? [{ source, error: result.error }] : []));
  const positions = plan.from?.sources ?? settled.map(() => UNTOUCHED);
  const runs = settled.map(
    (result, source): Run<T> =>
      'run' in result ? result.run : { placed: [], following: 'unknown', start: forward ? positions[source]! : UNTOUCHED, unread: true },
  );
  const merged = mergeRuns(runs, forward ? plan.count : Number.POSITIVE_INFINITY, keyOf, options.precedes, forward);
  const skipped = forward ? 0 : Math.max(0, merged.length - plan.count);
  const freshness = new OldestFreshness();
  for (const run of runs) if (run.fetched !== undefined && Number.isFinite(run.fetched.fetchedAt)) freshness.note(run.fetched);

  const taken = runs.map(() => 0);
  const edges: Edge<N>[] = [];
  for (const [at, source] of merged.entries()) {
    const placed = runs[source]!.placed[taken[source]!]!;
    taken[source]! += 1;
    if (at < skipped) continue;
    const after: MergedPosition = { edgeSource: source, sources: runs.map((run, index) => positionAfter(run, taken[index]!, keyOf)) };
    let cursor: string | undefined;
    edges.push({
      node: options.toNode(source, placed.item, placed.fetched),
      get cursor() {
        return (cursor ??= options.cursors.encodeMerged(options.scope, after));
      },
    });
  }
  const moreForward = runs.some((run, source) => taken[source]! < run.placed.length || run.following !== 'end');
  return {
    edges,
    failures,
    fetchedAt: new Date(Number.isFinite(freshness.fetchedAt) ? freshness.fetchedAt : Date.now()),
    stale: freshness.stale,
    pageInfo: {
      hasNextPage: forward ? moreForward : true,
      hasPreviousPage: forward ? plan.from !== undefined : skipped > 0,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
  };
}
