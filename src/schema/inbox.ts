/**
 * `Viewer.inbox`: one inbox over every Page the caller reaches, Messenger and Instagram, newest first. Each
 * source (a Page's inbox on one platform) is read as `Page.conversations` reads it, and the sources are merged
 * k-way by schema/merged-connection.ts ({@link resolveMergedConnection}); a source that fails is left out and named.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { builder } from '../builder.js';
import type { GatewayContext, MissingSource } from '../context.js';
import { cursorScope, type MergeKey } from '../cursors.js';
import { gatewayError } from '../gateway-errors.js';
import { toClientError } from '../graph-errors.js';
import type { GraphThread } from '../graph-api/wire-types.js';
import { ConversationFolder } from './conversation-folder.js';
import { ConversationRef, type ConversationShape } from './conversation.js';
import { edgeListReads } from './edge-connection.js';
import type { EdgeArgs, GraphEdgeSpec } from './field-plan.js';
import { type Keyed, type MergedConnection, type MergeSource, planMergedConnection, resolveMergedConnection } from './merged-connection.js';
import { checkGraphId, CONVERSATIONS_EDGE, MessagingPlatform, updatedAt } from './page.js';
import { ViewerRef } from './viewer.js';

type Platform = 'messenger' | 'instagram';

/** One list the inbox merges: a Page's inbox on one platform. */
export interface InboxSource {
  readonly pageId: string;
  readonly platform: Platform;
}

/** How INBOX_TOO_WIDE words a field over too many sources: what the field does with them, and how a client narrows it. */
export interface InboxWidthWording {
  readonly verb: string;
  readonly narrowWith: string;
}

export const PLATFORMS: readonly Platform[] = ['messenger', 'instagram'];

const MERGED: InboxWidthWording = { verb: 'merge', narrowWith: '`pageIds`' };

/** A Page's conversations read for merging: `updated_time` always, as the merge orders by it. */
const SOURCE_EDGE: GraphEdgeSpec = { ...CONVERSATIONS_EDGE, extraFields: () => [{ name: 'updated_time' }] };

const MissingSourceRef = builder.objectRef<MissingSource>('MissingSource').implement({
  description: 'A source the inbox answered without (blocked, refused or failing): its conversations are left out of this page.',
  fields: (t) => ({
    pageId: t.exposeID('pageId'),
    platform: t.field({ type: MessagingPlatform, resolve: (source) => (source.platform === 'MESSENGER' ? 'messenger' : 'instagram') }),
    code: t.exposeString('code', { description: 'Why, as the `extensions.code` reading it alone would have answered.' }),
    retryAfterSeconds: t.int({
      nullable: true,
      description: 'When Graph can be called again for it, when it is throttled.',
      resolve: (source) => source.retryAfterSeconds,
    }),
  }),
});

/**
 * The sources of an inbox in a fixed order (Page id, then Messenger before Instagram), narrowed by `pageIds`
 * (each one the caller must reach) and `platform`: without `pageIds`, every Page the caller reaches (Credentials.pages).
 * Throws INBOX_TOO_WIDE beyond MAX_INBOX_SOURCES. `Viewer.inbox` and `Subscription.inboxEvents` both list theirs here.
 */
export async function inboxSources(
  context: GatewayContext,
  pageIds: readonly string[] | null | undefined,
  platform: Platform | null | undefined,
  wording: InboxWidthWording = MERGED,
): Promise<InboxSource[]> {
  // Refuses a request without a usable token (UNAUTHENTICATED) before its Pages are listed.
  await context.resolvePageId('me');
  let ids: string[];
  if (pageIds == null) {
    const { token, credentials } = context.caller;
    ids = (await credentials.pages({ token }, context.usage)).map((page) => page.id);
  } else {
    ids = [...new Set(pageIds.map((id) => checkGraphId(id, 'Page id')))];
    await Promise.all(ids.map((id) => context.checkReach(id)));
  }
  ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const sources = ids.flatMap((pageId) => (platform == null ? PLATFORMS : [platform]).map((p): InboxSource => ({ pageId, platform: p })));
  if (sources.length > context.maxInboxSources) {
    throw gatewayError(
      'INBOX_TOO_WIDE',
      `The inbox would ${wording.verb} ${sources.length} sources, more than the ${context.maxInboxSources} allowed: narrow it with ` +
        `${wording.narrowWith}.`,
      { sources: sources.length, maxSources: context.maxInboxSources },
    );
  }
  return sources;
}

/** A thread's place in the merge: Graph's `updated_time` is in whole seconds. */
const keyOf = (thread: GraphThread): MergeKey => ({ time: Math.floor(updatedAt(thread) / 1000), id: thread.id });

/** Newest first; equal times by Page id, then thread id, so the order is the same on every read. */
function precedes(a: { key: MergeKey; pageId: string }, b: { key: MergeKey; pageId: string }): boolean {
  if (a.key.time !== b.key.time) return a.key.time > b.key.time;
  if (a.pageId !== b.pageId) return a.pageId < b.pageId;
  return a.key.id < b.key.id;
}

/** A source's failure as the inbox reports it; `undefined` for a failure that is not upstream (it fails the field). */
function missingSource(source: InboxSource, error: unknown): MissingSource | undefined {
  const clientError = toClientError(error);
  if (clientError === undefined) return undefined;
  const retry = clientError.extensions.retryAfterSeconds;
  return {
    pageId: source.pageId,
    platform: source.platform === 'messenger' ? 'MESSENGER' : 'INSTAGRAM',
    code: String(clientError.extensions.code),
    retryAfterSeconds: typeof retry === 'number' ? retry : null,
  };
}

interface InboxArgs extends EdgeArgs {
  folder?: string | null | undefined;
  platform?: Platform | null | undefined;
  pageIds?: readonly string[] | null | undefined;
  updatedSince?: Date | null | undefined;
}

type InboxConnection = MergedConnection<ConversationShape> & { readonly missingSources: readonly MissingSource[] };

async function resolveInbox(args: InboxArgs, context: GatewayContext, info: GraphQLResolveInfo): Promise<InboxConnection> {
  const sources = await inboxSources(context, args.pageIds, args.platform);
  const since = args.updatedSince?.getTime();
  const scope = cursorScope({
    list: 'inbox',
    viewer: context.callerKey,
    folder: args.folder ?? undefined,
    updatedSince: since === undefined ? undefined : String(since),
    sources: sources.map((source) => `${source.pageId}/${source.platform}`).join(','),
  });
  const plan = planMergedConnection(args, context.cursors, scope, sources.length);
  const sourceArgs = (source: InboxSource): EdgeArgs =>
    ({ folder: args.folder ?? undefined, platform: source.platform, updatedSince: args.updatedSince ?? undefined }) as EdgeArgs;
  const reads = sources.map((source) =>
    edgeListReads<GraphThread>(SOURCE_EDGE, { pageId: source.pageId, graphId: source.pageId }, sourceArgs(source), context, info),
  );
  const mergeSources = reads.map(
    (read): MergeSource<GraphThread> => ({
      reads: read.reads,
      isPastEnd: since === undefined ? undefined : (thread) => updatedAt(thread) < since,
    }),
  );
  const connection = await resolveMergedConnection<GraphThread, ConversationShape>({
    plan,
    scope,
    cursors: context.cursors,
    sources: mergeSources,
    keyOf,
    precedes: (a: Keyed, b: Keyed) =>
      precedes({ key: a.key, pageId: sources[a.source]!.pageId }, { key: b.key, pageId: sources[b.source]!.pageId }),
    toNode: (index, thread, fetched) => {
      const { pageId, platform } = sources[index]!;
      return { kind: 'Conversation', pageId, platform, thread, expanded: reads[index]!.nodePlan.expanded, fetched };
    },
  });
  const missingSources = connection.failures.map(({ source, error }) => {
    const missing = missingSource(sources[source]!, error);
    if (missing === undefined) throw error;
    return missing;
  });
  context.missingSources.push(...missingSources);
  context.noteFetched(info.path, connection.fetchedAt.getTime(), connection.stale);
  return { ...connection, missingSources };
}

builder.objectField(ViewerRef, 'inbox', (t) =>
  t.connection(
    {
      type: ConversationRef,
      description:
        'One inbox over every Page the caller reaches and the Instagram account linked to each, most recently updated first (equal ' +
        'times: by Page id, then thread id). Forward (`first`/`after`) and backward (`last`/`before`, which reads each source from ' +
        'its start up to the cursor). Each source is read only as far as the page needs, in one Graph batch (two when a source ' +
        "known from the cursor must advance), on its own Page's budget; a source that cannot be read is left out and named in " +
        '`missingSources`. See the README, "One inbox for many Pages".',
      args: {
        folder: t.arg({ type: ConversationFolder, required: false, description: 'Default: INBOX.' }),
        platform: t.arg({ type: MessagingPlatform, required: false, description: 'Default: both.' }),
        pageIds: t.arg.idList({
          required: false,
          description: 'Only these Pages (each one the caller reaches). Default: every Page the caller reaches.',
        }),
        updatedSince: t.arg({
          type: 'DateTime',
          required: false,
          description: 'Only conversations updated at or after this instant (as on `Page.conversations`).',
        }),
      },
      resolve: (_viewer, args, context, info) => resolveInbox({ ...args, pageIds: args.pageIds?.map(String) } as InboxArgs, context, info),
    },
    {
      name: 'InboxConnection',
      fields: (c) => ({
        missingSources: c.field({
          type: [MissingSourceRef],
          description: 'Sources left out of this page because they could not be read (also in `extensions.missingSources`).',
          resolve: (connection) => (connection as unknown as InboxConnection).missingSources,
        }),
      }),
    },
    { name: 'InboxEdge' },
  ),
);
