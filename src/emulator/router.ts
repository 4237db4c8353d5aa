/**
 * One Graph call, from path and parameters to status and JSON body, with no HTTP involved:
 * the HTTP server and every batch item go through {@link GraphRouter.execute}.
 * Checks run in Graph's order: token, appsecret_proof, object, permission, fields, parameters, cursor.
 * The one write is the Send API (`POST /{page-id}/messages`, send-api.ts); every other POST or DELETE is refused.
 */
import { authenticate, tokenOf, type ProofPolicy } from './auth.js';
import { createBatchLinkSigner } from './batch-links.js';
import { CONVERSATION_FILTER_PARAMS, PLATFORM_SINCE_MAJOR, parseConversationFilter } from './conversation-filter.js';
import type { CursorCodec } from './cursors.js';
import type { CallRate } from './rate-limits.js';
import {
  EmulatedGraphError,
  aliasesNotFound,
  fieldsSyntaxError,
  incorrectSignature,
  invalidParameter,
  messageDetailsUnavailable,
  newTraceId,
  objectNotFound,
  rootIdsReadRemoved,
  unknownError,
  unknownPathComponents,
  unsupportedRequest,
} from './errors.js';
import { FieldsSyntaxError, parseFields, type FieldSelection } from './fields.js';
import type { MessageRecord, ThreadRecord } from './model.js';
import type { LinkTemplate, WindowRequest } from './paging.js';
import {
  DEFAULT_LIMIT,
  MESSAGE_SUMMARY_FIELDS,
  accountList,
  assertInboxAccess,
  assertPageAccess,
  conversationList,
  hasDetails,
  messageList,
  messageRecordEdge,
  participantEdge,
  renderMessage,
  renderPage,
  renderThread,
  renderUser,
  type RenderContext,
  type Viewer,
} from './render.js';
import { sendApiCall, type SendApiConfig } from './send-api.js';
import { DEFAULT_FIELDS, edgeItemType, parseLimitValue, validateSelection, type NodeType } from './schema.js';
import type { GraphNode, WorldStore } from './store.js';

/** `?ids=` takes at most this many ids, since v2.2 (Meta: Changelog, developers.facebook.com/docs/graph-api/changelog). */
export const MAX_IDS_PER_READ = 50;
/** Root `?ids=` reads are an error from this major version on, whatever the options say. */
export const ROOT_IDS_REMOVED_MAJOR = 26;

const VERSION_SEGMENT = /^v(\d+)\.(\d+)$/;
const NODE_TYPES: Readonly<Record<GraphNode['kind'], NodeType>> = {
  thread: 'UnifiedThread',
  message: 'Message',
  page: 'Page',
  user: 'User',
};

/** One call as the router sees it. */
export interface GraphCall {
  readonly method: string;
  /** Path without query, e.g. `/v25.0/1000000001/conversations`; the version segment is optional. */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly authorization?: string | undefined;
}

/** The answer to one call. */
export interface GraphAnswer {
  readonly status: number;
  /** JSON text. */
  readonly body: string;
  /** The version that served the call, for `facebook-api-version`. */
  readonly version: string;
  readonly traceId: string;
  readonly wwwAuthenticate: string | undefined;
  /** Billed calls: 1, or one per id of a `?ids=` read. */
  readonly calls: number;
  /** Extra response headers (usage headers). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The Page whose Conversations API budget the call spent. */
  readonly pageId?: string | undefined;
  /** When the call was received and counted, in ms since the epoch. */
  readonly at?: number;
  /** Inside a batch: the slot timed out and is `null`. */
  readonly timedOut?: boolean;
}

export interface GraphRouterConfig {
  readonly store: WorldStore;
  readonly codec: CursorCodec;
  /** The emulator's own origin, root of paging links. */
  readonly baseUrl: string;
  readonly defaultVersion: string;
  readonly maxLimit: number;
  readonly proofPolicy: ProofPolicy;
  readonly rootIdsReads: boolean;
  /** Versions older than this are served as this one, as Graph serves expired versions; `undefined`: each as itself. */
  readonly oldestLiveVersion?: string | undefined;
  /** The Send API's per-Page rate; `undefined`: sends are never refused for their rate. */
  readonly sendRateLimit?: CallRate | undefined;
  /** Whether the app has the Human Agent feature, which `HUMAN_AGENT` sends need. @default true */
  readonly humanAgentApproved?: boolean | undefined;
  /**
   * Called once a Send API message was added, while the call runs: the emulator delivers its echo
   * webhook from here (asynchronously, after the answer, as Meta does).
   */
  readonly onSent?: ((thread: ThreadRecord, message: MessageRecord) => void) | undefined;
}

/** A call's path split into its version and the segments below it. */
export interface RoutedPath {
  readonly version: string;
  readonly major: number;
  readonly segments: readonly string[];
}

export interface GraphRouter {
  /** Answers one call; `inBatch` when it is a batch item. */
  execute(call: GraphCall, inBatch?: boolean): GraphAnswer;
  /** Splits a path into version and segments; throws Graph's 2500 for undecodable segments. */
  route(path: string): RoutedPath;
  /** An error answer for failures outside a single call (batch validation). */
  errorAnswer(error: unknown, version: string, calls: number): GraphAnswer;
}

/** Creates the router of one emulator. */
export function createGraphRouter(config: GraphRouterConfig): GraphRouter {
  const route = createPathRouter(config.defaultVersion, config.oldestLiveVersion);
  const linkSigner = createBatchLinkSigner();
  const send: SendApiConfig = {
    store: config.store,
    sendRateLimit: config.sendRateLimit,
    humanAgentApproved: config.humanAgentApproved ?? true,
    onSent: config.onSent,
  };

  function execute(call: GraphCall, inBatch = false): GraphAnswer {
    let version = config.defaultVersion;
    let calls = 1;
    try {
      const routed = route(call.path);
      version = routed.version;
      if (routed.segments.length === 0 && call.params.ids !== undefined) calls = Math.max(1, splitIds(call.params.ids).length);
      const token = tokenOf(call.params, call.authorization);
      const viewer = authenticate(config.store, config.proofPolicy, token, call.params.appsecret_proof);
      if (linkSigner.verify(routed.segments, call.params) === false) throw incorrectSignature();
      if (call.method !== 'GET') {
        const method = call.method === 'DELETE' ? 'delete' : 'post';
        const [id, edge, ...rest] = routed.segments;
        if (id === undefined) throw unsupportedRequest(method);
        if (method === 'post' && edge === 'messages' && rest.length === 0) {
          const body = sendApiCall(send, viewer, id, call.params);
          return { status: 200, body: JSON.stringify(body), version, traceId: newTraceId(), wwwAuthenticate: undefined, calls };
        }
        throw objectNotFound(id, method);
      }
      const ctx: RenderContext = {
        store: config.store,
        codec: config.codec,
        major: routed.major,
        root: `${config.baseUrl}/${version}`,
        token: token!,
        viewer,
        maxLimit: config.maxLimit,
        linkSigner: inBatch ? linkSigner : undefined,
      };
      const body = readPath(ctx, routed.segments, call.params, config.rootIdsReads);
      return { status: 200, body: JSON.stringify(body), version, traceId: newTraceId(), wwwAuthenticate: undefined, calls };
    } catch (error) {
      return errorAnswer(error, version, calls);
    }
  }

  return { execute, route, errorAnswer };
}

/** The router's `route`: paths of versions older than `oldestLiveVersion` are served by it. */
function createPathRouter(defaultVersion: string, oldestLiveVersion: string | undefined): (path: string) => RoutedPath {
  const defaultMajor = majorOf(defaultVersion);
  const oldestMatch = oldestLiveVersion === undefined ? null : VERSION_SEGMENT.exec(oldestLiveVersion);
  if (oldestLiveVersion !== undefined && oldestMatch === null) {
    throw new TypeError(`Graph emulator: oldestLiveVersion must look like "v21.0", got "${oldestLiveVersion}"`);
  }
  const oldest =
    oldestMatch === null ? undefined : { version: oldestLiveVersion!, major: Number(oldestMatch[1]), minor: Number(oldestMatch[2]) };

  return (path) => {
    const segments = decodeSegments(path);
    const match = segments.length > 0 ? VERSION_SEGMENT.exec(segments[0]!) : null;
    if (match === null) return { version: defaultVersion, major: defaultMajor, segments };
    const major = Number(match[1]);
    if (oldest !== undefined && (major < oldest.major || (major === oldest.major && Number(match[2]) < oldest.minor))) {
      // An expired version is served by the oldest live one, with its behaviour (Meta: Versioning,
      // developers.facebook.com/docs/graph-api/guides/versioning).
      return { version: oldest.version, major: oldest.major, segments: segments.slice(1) };
    }
    return { version: segments[0]!, major, segments: segments.slice(1) };
  };
}

function decodeSegments(path: string): string[] {
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    try {
      segments.push(decodeURIComponent(raw));
    } catch {
      throw unknownPathComponents(`/${raw}`);
    }
  }
  return segments;
}

function errorAnswer(error: unknown, version: string, calls: number): GraphAnswer {
  const graphError = error instanceof EmulatedGraphError ? error : unknownError();
  if (graphError !== error) console.error('graph emulator: internal error', error);
  const traceId = newTraceId();
  return {
    status: graphError.status,
    body: JSON.stringify(graphError.toBody(traceId)),
    version,
    traceId,
    wwwAuthenticate: graphError.wwwAuthenticate,
    calls,
  };
}

/** `/{id}/{edge}` and what follows it, which no edge has. */
interface EdgePath {
  readonly id: string;
  readonly edge: string;
  readonly rest: readonly string[];
}

/** The body of a GET: the root's `?ids=` read, an object, or one page of an object's edge. */
function readPath(
  ctx: RenderContext,
  segments: readonly string[],
  params: Readonly<Record<string, string>>,
  rootIdsReads: boolean,
): unknown {
  const [id, edge, ...rest] = segments;
  if (id === undefined) return readIds(ctx, params, rootIdsReads);
  const node = resolve(ctx, id);
  if (node === undefined) throw objectNotFound(id);
  if (edge === undefined) return renderNode(ctx, node, params.fields);
  return readEdge(ctx, node, { id, edge, rest }, params);
}

function readEdge(ctx: RenderContext, node: GraphNode, path: EdgePath, params: Readonly<Record<string, string>>): unknown {
  const { id, edge, rest } = path;
  const itemType = edgeItemType(NODE_TYPES[node.kind], edge);
  if (itemType === undefined) {
    // A Page token's `/me/accounts`: `me` is a Page, which has no such edge.
    if (node.kind === 'page' && edge === 'accounts') throw objectNotFound(id);
    throw unknownPathComponents(`/${[edge, ...rest].join('/')}`);
  }
  if (rest.length > 0) throw unknownPathComponents(`/${rest.join('/')}`);
  if (node.kind === 'thread' || node.kind === 'message') assertInboxAccess(ctx, node.thread.pageId, node.thread.platform);
  // The conversations edge: its platform is a parameter, checked by conversationList.
  if (node.kind === 'page') assertPageAccess(ctx, node.page.id);
  if (node.kind === 'message' && !hasDetails(node.message, node.thread)) throw messageDetailsUnavailable(id);

  const selections = selectionOf(itemType, params.fields, ctx.major);
  const request = windowRequestOf(params, ctx.maxLimit);
  const links: LinkTemplate = {
    root: ctx.root,
    path: [id, edge].map(encodeURIComponent).join('/'),
    params: linkParamsOf(ctx.token, params, node.kind === 'page' ? ['fields', ...CONVERSATION_FILTER_PARAMS] : ['fields']),
    signer: ctx.linkSigner,
  };
  switch (node.kind) {
    case 'page': {
      const filter = parseConversationFilter((name) => params[name], ctx.major);
      return conversationList(node.page, filter, request, selections ?? DEFAULT_FIELDS.UnifiedThread, ctx, links);
    }
    case 'thread':
      return edge === 'messages'
        ? messageList(node.thread, request, selections ?? DEFAULT_FIELDS.Message, ctx, links)
        : participantEdge(node.thread, edge, request, selections, ctx, links);
    case 'message':
      return messageRecordEdge(node.message, edge === 'attachments' ? 'attachments' : 'shares', request, selections, ctx, links);
    case 'user':
      return accountList(node.user, request, selections, ctx, links);
  }
}

/**
 * `GET /?ids=a,b`: an object keyed by id; one unresolvable id fails the whole read; each id is a call (Meta: Rate Limiting,
 * developers.facebook.com/docs/graph-api/overview/rate-limiting).
 */
function readIds(ctx: RenderContext, params: Readonly<Record<string, string>>, rootIdsReads: boolean): unknown {
  if (params.ids === undefined) throw unsupportedRequest('get');
  if (!rootIdsReads || ctx.major >= ROOT_IDS_REMOVED_MAJOR) throw rootIdsReadRemoved();
  const ids = splitIds(params.ids);
  if (ids.length === 0) throw invalidParameter('param ids must be a non-empty list of ids');
  if (ids.length > MAX_IDS_PER_READ) throw invalidParameter(`Too many IDs. Maximum: ${MAX_IDS_PER_READ}. Provided: ${ids.length}.`);
  const nodes = ids.map((id) => [id, resolve(ctx, id)] as const);
  const missing = nodes.filter(([, node]) => node === undefined).map(([id]) => id);
  if (missing.length > 0) throw aliasesNotFound(missing);
  const out: Record<string, unknown> = {};
  for (const [id, node] of nodes) out[id] = renderNode(ctx, node!, params.fields);
  return out;
}

function renderNode(ctx: RenderContext, node: GraphNode, fields: string | undefined): unknown {
  switch (node.kind) {
    case 'thread': {
      assertInboxAccess(ctx, node.thread.pageId, node.thread.platform);
      return renderThread(node.thread, selectionOf('UnifiedThread', fields, ctx.major) ?? DEFAULT_FIELDS.UnifiedThread, ctx);
    }
    case 'message': {
      assertInboxAccess(ctx, node.thread.pageId, node.thread.platform);
      const selections = selectionOf('Message', fields, ctx.major) ?? DEFAULT_FIELDS.Message;
      if (!hasDetails(node.message, node.thread) && selections.some((selection) => !MESSAGE_SUMMARY_FIELDS.has(selection.name))) {
        throw messageDetailsUnavailable(node.message.id);
      }
      return renderMessage(node.message, node.thread, selections, ctx);
    }
    case 'page':
      return renderPage(node.page, selectionOf('Page', fields, ctx.major) ?? DEFAULT_FIELDS.Page, ctx);
    case 'user':
      return renderUser(node.user, selectionOf('User', fields, ctx.major) ?? DEFAULT_FIELDS.User, ctx);
  }
}

/**
 * `me` is the viewer; Instagram objects do not exist before `platform` did (Meta: Page Conversations,
 * developers.facebook.com/docs/graph-api/reference/page/conversations).
 */
function resolve(ctx: RenderContext, id: string): GraphNode | undefined {
  if (id === 'me') return meOf(ctx.store, ctx.viewer);
  const node = ctx.store.node(id);
  if ((node?.kind === 'thread' || node?.kind === 'message') && node.thread.platform === 'instagram' && ctx.major < PLATFORM_SINCE_MAJOR)
    return undefined;
  return node;
}

function meOf(store: WorldStore, viewer: Viewer): GraphNode | undefined {
  if (viewer.kind === 'user') return { kind: 'user', user: viewer.user };
  const page = store.page(viewer.pageId);
  return page === undefined ? undefined : { kind: 'page', page };
}

/** The parsed and validated `fields` value, or `undefined` when absent (the caller's default applies). */
function selectionOf(type: NodeType, fields: string | undefined, major: number): readonly FieldSelection[] | undefined {
  if (fields === undefined || fields.trim() === '') return undefined;
  let selections: readonly FieldSelection[];
  try {
    selections = parseFields(fields);
  } catch (error) {
    if (error instanceof FieldsSyntaxError) throw fieldsSyntaxError(error.message);
    throw error;
  }
  validateSelection(type, selections, major);
  return selections;
}

function windowRequestOf(params: Readonly<Record<string, string>>, maxLimit: number): WindowRequest {
  return {
    limit: params.limit === undefined ? Math.min(DEFAULT_LIMIT, maxLimit) : parseLimitValue(params.limit, maxLimit),
    after: params.after,
    before: params.before,
  };
}

/** `access_token` first, then the named params the call carried, in a fixed order. */
function linkParamsOf(token: string, params: Readonly<Record<string, string>>, names: readonly string[]): [string, string][] {
  const out: [string, string][] = [['access_token', token]];
  for (const name of names) {
    const value = params[name];
    if (value !== undefined) out.push([name, value]);
  }
  return out;
}

function splitIds(raw: string): string[] {
  return [
    ...new Set(
      raw
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== ''),
    ),
  ];
}

function majorOf(version: string): number {
  const match = VERSION_SEGMENT.exec(version);
  if (match === null) throw new TypeError(`Graph emulator: a version must look like "v25.0", got "${version}"`);
  return Number(match[1]);
}
