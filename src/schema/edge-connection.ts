/**
 * A connection field over one Graph edge, in one place: the list's cursor scope, the Relay plan, the Graph
 * `fields=` planned from the selection, the page reads (through the operation's loader and the read
 * cache), the Relay mapper, and the freshness of what it answers. A new connection declares its
 * {@link GraphEdgeSpec} and calls {@link resolveEdgeConnection}; {@link prefetchDeferredEdges} starts the
 * same reads beside a parent's read.
 */
import type { GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import type { GatewayContext } from '../context.js';
import type { FetchedValue, Freshness } from '../graph-api/read.js';
import { serializeFields } from '../graph-api/fields.js';
import type { GraphRequest } from '../graph-api/request.js';
import type { GraphList } from '../graph-api/wire-types.js';
import { type DeferredEdge, type EdgeArgs, type FieldPlan, type GraphEdgeSpec, planConnectionNodes } from './field-plan.js';
import {
  type Connection,
  type ConnectionReads,
  firstListRequest,
  type GraphListRequest,
  planConnection,
  resolveConnection,
} from './graph-connection.js';

/** The Graph read of one page of an edge. */
export function edgePageRead(
  spec: GraphEdgeSpec,
  parentId: string,
  args: EdgeArgs,
  fields: string,
  request: GraphListRequest,
): GraphRequest {
  return {
    path: `${parentId}/${spec.edge}`,
    params: { ...spec.filters?.(args), fields, limit: request.limit, after: request.after, before: request.before },
  };
}

/** Where the edge hangs: the Graph object, and the Facebook Page whose budget and token read it. */
export interface EdgeParent {
  readonly pageId: string;
  readonly graphId: string;
}

export interface EdgeConnectionOptions<Item, Node> {
  readonly idOf: (item: Item) => string;
  /** Wraps a Graph item as the GraphQL node (told how fresh its page is). */
  readonly toNode: (item: Item, fetched: Freshness, nodes: FieldPlan) => Node;
  /** The list ends before the first item for which this is true (a watermark on a newest-first list). */
  readonly isPastEnd?: ((item: Item) => boolean) | undefined;
  /** The first page, when the parent's read brought it by field expansion (for this page request). */
  readonly expanded?: { readonly request: GraphListRequest; readonly page: FetchedValue<GraphList<Item>> } | undefined;
}

/** How a connection over `spec`'s Graph edge of `parent` reads: its page reads, and what its nodes read. */
export interface EdgeListReads<Item> {
  readonly reads: ConnectionReads<Item>;
  readonly nodePlan: FieldPlan;
}

/**
 * The Graph reads of `spec`'s edge of `parent` for a connection field (`fields=` planned from its selection,
 * through the operation's loader and the read cache, each spending `parent.pageId`'s budget); `expanded`:
 * a first page the parent's read brought already.
 */
export function edgeListReads<Item>(
  spec: GraphEdgeSpec,
  parent: EdgeParent,
  args: EdgeArgs,
  context: GatewayContext,
  info: GraphQLResolveInfo,
  expanded?: FetchedValue<GraphList<Item>>,
): EdgeListReads<Item> {
  const nodeType = info.schema.getType(spec.nodeType) as GraphQLObjectType;
  // What the nodes read, and which of their own edges ride in this read (field expansion).
  const nodePlan = planConnectionNodes(info, nodeType, context.graphApiMajor);
  const fields = serializeFields([...nodePlan.fields, ...(spec.extraFields?.(args) ?? [])]);
  const about = spec.about(parent.graphId, args);
  const pageRead = (request: GraphListRequest): GraphRequest => edgePageRead(spec, parent.graphId, args, fields, request);
  let firstPage = expanded;
  const reads: ConnectionReads<Item> = {
    graphListCap: context.graphListCap,
    maxCallsPerRead: firstPage === undefined ? context.graph.maxCallsPerRead : 1,
    fetchList: (request) => {
      const page = firstPage;
      firstPage = undefined;
      return page !== undefined ? Promise.resolve(page) : context.graph.read<GraphList<Item>>(pageRead(request), parent.pageId, { about });
    },
    fetchWithFollowUps: (request, followUps) =>
      context.graph.readWithFollowUps<GraphList<Item>>(pageRead(request), followUps, parent.pageId, about),
  };
  return { reads, nodePlan };
}

/** Resolves a connection field over `spec`'s Graph edge of `parent`. */
export async function resolveEdgeConnection<Item, Node>(
  spec: GraphEdgeSpec,
  parent: EdgeParent,
  args: EdgeArgs,
  context: GatewayContext,
  info: GraphQLResolveInfo,
  options: EdgeConnectionOptions<Item, Node>,
): Promise<Connection<Node>> {
  const scope = spec.scope(parent.graphId, args, context.callerKey);
  const plan = planConnection(args, context.cursors, scope);
  // The parent's read may have brought the first page already (field expansion).
  const expanded =
    options.expanded !== undefined && !plan.fromCursor && options.expanded.request.limit === plan.count ? options.expanded.page : undefined;
  const { reads, nodePlan } = edgeListReads<Item>(spec, parent, args, context, info, expanded);
  const connection = await resolveConnection<Item, Node>({
    plan,
    scope,
    cursors: context.cursors,
    reads,
    idOf: options.idOf,
    toNode: (item, fetched) => options.toNode(item, fetched, nodePlan),
    isPastEnd: options.isPastEnd,
  });
  context.noteFetched(info.path, connection.fetchedAt.getTime(), connection.stale);
  return connection;
}

/**
 * Starts the reads of the edges selected with a cursor below a parent (e.g. `messages(after:)` on a
 * conversation looked up by id) together with the parent's own read, so all leave in one batch; each
 * field's resolver then finds its page in the operation's loader. Bad arguments are left to the resolvers.
 */
export function prefetchDeferredEdges(context: GatewayContext, parent: EdgeParent, deferred: readonly DeferredEdge[]): void {
  for (const { edge: spec, args, fields } of deferred) {
    try {
      const request = firstListRequest(
        planConnection(args, context.cursors, spec.scope(parent.graphId, args, context.callerKey)),
        context.graphListCap,
      );
      if (request === null) continue;
      const read = edgePageRead(spec, parent.graphId, args, serializeFields([...fields, ...(spec.extraFields?.(args) ?? [])]), request);
      void context.graph.read(read, parent.pageId, { about: spec.about(parent.graphId, args) }).catch(() => undefined);
    } catch {
      // Reported by the field's resolver.
    }
  }
}
