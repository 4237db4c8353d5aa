import { useGraphQlJit } from '@envelop/graphql-jit';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { type CORSOptions, createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, Kind, type DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import { type AllowedOrigins, allowedOriginsOf, isAllowedOrigin } from './allowed-origins.js';
import { DEFAULT_CONFIG, type PersistedOperations, type QueryLimits } from './config.js';
import { createContext, type ContextDependencies, type GatewayContext } from './context.js';
import { toClientError } from './graph-errors.js';
import { createLogger, createYogaLogger, type Logger } from './logger.js';
import { useAccessLog } from './plugins/use-access-log.js';
import { useErrorCodes } from './plugins/use-error-codes.js';
import { renderGraphiQLPage, useGraphiQLAssets } from './plugins/use-graphiql-assets.js';
import { useIntrospectionLimits } from './plugins/use-introspection-limits.js';
import { type HealthView, useHealth } from './plugins/use-health.js';
import type { ReadinessView } from './readiness.js';
import { useJsonErrorBodies } from './plugins/use-json-error-bodies.js';
import { useMaxDepth } from './plugins/use-max-depth.js';
import { useMetrics } from './plugins/use-metrics.js';
import { useOperationEnd } from './plugins/use-operation-end.js';
import { usePersistedManifest } from './plugins/use-persisted-manifest.js';
import { usePrivateResponses } from './plugins/use-private-responses.js';
import { useQueryCost } from './plugins/use-query-cost.js';
import { useRefusalErrors } from './plugins/use-refusal-errors.js';
import { useResponseCache } from './plugins/use-response-cache.js';
import { useStaleAnswers } from './plugins/use-stale-answers.js';
import { useSubscriptionCaps } from './plugins/use-subscription-caps.js';
import { useSubscriptionTransport } from './plugins/use-subscription-transport.js';
import { useTracing } from './plugins/use-tracing.js';
import { useUpstreamUsage } from './plugins/use-upstream-usage.js';
import { schema } from './schema/index.js';
import { createSubscriptionCaps, type SubscriptionCaps } from './subscription-caps.js';

export const GRAPHIQL_DEFAULT_QUERY = /* GraphQL */ `# The embedded emulator's demo Page: the first conversations of its Messenger and
# Instagram inboxes, with what an inbox renders of each message (stickers, shares,
# replies, story mentions, reactions…). Try folder: OTHER, or paste a pageInfo.endCursor
# into \`after\` for the next page. Also: conversations(updatedSince: "…") for what
# changed, page { callBudget { … } }, page { conversation(id: "t_…") { … } }, and, live:
# subscription { inboxEvents(pageId: "1000000001") { kind text customerId } }
# (send a message with POST /_emulator/messages on the emulator: see the README).
# Reply to the first conversation (its window is open; add the operation and run it):
# mutation Reply {
#   sendMessage(input: { conversationId: "Q29udmVyc2F0aW9uOjEwMDAwMDAwMDE6dF80NzM3MDc1NjczODA2NjE="
#                        text: "Thanks, it ships today!", idempotencyKey: "any-uuid" }) {
#     result { __typename ... on MessageSent { message { id text } } ... on SendRefusal { code reason } }
#     conversation { snippet updatedTime replyWindow { open closesAt } }
#   }
# }
query Inbox {
  page(id: "1000000001") {
    name
    messenger: conversations(first: 5, platform: MESSENGER) { ...Threads }
    instagram: conversations(first: 5, platform: INSTAGRAM) { ...Threads }
  }
}

fragment Threads on ConversationConnection {
  edges {
    node {
      id
      updatedTime
      snippet
      unreadCount
      participants { name username }
      messages(first: 3) {
        edges { node { ...MessageContent } }
      }
    }
  }
  pageInfo { hasNextPage endCursor }
}

fragment MessageContent on Message {
  createdTime
  from { name username }
  text
  attachments { mimeType url }
  sticker { url }
  shares { link name pictureUrl products { name price } template { elements { title } } }
  replyTo { messageId isSelfReply }
  story { kind url }
  reactions { emoji users { username } }
  isUnsupported
  detailsAvailable
}
`;

export interface AppOptions extends ContextDependencies {
  /** Production hides error details and reports upstream usage only on request. */
  production: boolean;
  /** Limits on what a client may ask; see config.ts for the defaults. */
  limits?: Partial<QueryLimits> | undefined;
  /** What `/health` says of the state shared with the fleet. @default alone, in memory */
  health?: (() => HealthView) | undefined;
  /** What `/health/ready` says. @default always ready (an app not run by a process: tests) */
  readiness?: (() => ReadinessView) | undefined;
  /** Answers kept to serve a viewer's repeated operations (RESPONSE_CACHE_ENTRIES). */
  responseCacheEntries?: number | undefined;
  /** Most bytes of those answers (RESPONSE_CACHE_MAX_MEGABYTES). */
  responseCacheMaxBytes?: number | undefined;
  /** Most bytes of parsed and compiled operations kept (DOCUMENT_CACHE_MAX_MEGABYTES); see {@link createDocumentCache}. */
  documentCacheMaxBytes?: number | undefined;
  /** Where log lines go. @default JSON lines (production) or readable lines on stdout, at `info` */
  logger?: Logger | undefined;
  /**
   * Origins whose pages may call the gateway with credentials (CORS_ORIGINS).
   * @default loopback origins in development, none in production (see allowed-origins.ts)
   */
  corsOrigins?: readonly string[] | undefined;
  /** Operations clients may send by hash; with `only`, the only ones that run. */
  persistedOperations?: PersistedOperations | undefined;
  /**
   * The instance's subscription caps, which subscriptions over server-sent events count in: give the
   * WebSocket server the same (main.ts does), so the caps cover both transports.
   * @default caps of its own, with the default limits
   */
  subscriptionCaps?: SubscriptionCaps | undefined;
  /** GraphiQL for browsers at `/graphql`, assets included (GRAPHIQL). @default on unless `production` */
  graphiql?: boolean | undefined;
  /**
   * Introspection (`__schema`, `__type`) answered; off: refused with INTROSPECTION_DISABLED (INTROSPECTION).
   * @default on unless `production`
   */
  introspection?: boolean | undefined;
  /**
   * Where the metrics are kept (the instance's registry, src/metrics.ts), and whether `/metrics` is served by this
   * app: not when another listener serves the same registry (METRICS_PORT, see metrics-server.ts).
   * @default a registry of its own, served here
   */
  metrics?: { registry: Registry; servedHere: boolean } | undefined;
}

/** Parsed and validated documents kept, at most (their bytes are bounded too: DOCUMENT_CACHE_MAX_MEGABYTES). */
const DOCUMENT_CACHE_SIZE = 500;
/** Runs of a document before it is compiled. */
const JIT_AFTER_RUNS = 3;
/**
 * What a document weighs per character of its text, parsed and compiled: measured with graphql-jit 0.8 on this
 * schema, the GraphiQL inbox query (871 characters) parses to ~52 kB and compiles to ~815 kB more, the
 * 25-conversation query (190) to ~15 kB and ~83 kB.
 */
const PARSED_BYTES_PER_CHARACTER = 100;
const COMPILED_BYTES_PER_CHARACTER = 1_000;

/**
 * The documents yoga keeps, by their text, bounded by entries and by estimated bytes. A compiled query lives
 * as long as its document (@envelop/graphql-jit keeps it in a WeakMap by document), so this one bound covers
 * both: {@link DocumentCache.compiling} re-weighs a document once it is compiled, and the least recent ones go.
 */
export interface DocumentCache {
  readonly documents: LRUCache<string, DocumentNode>;
  readonly errors: LRUCache<string, Error>;
  /** Whether to compile `document`: a query or mutation run {@link JIT_AFTER_RUNS} times, now weighed as compiled. */
  compiling(document: DocumentNode): boolean;
}

export function createDocumentCache(maxBytes: number): DocumentCache {
  const textOf = (key: string): number => key.length * PARSED_BYTES_PER_CHARACTER;
  const documents = new LRUCache<string, DocumentNode>({
    max: DOCUMENT_CACHE_SIZE,
    maxSize: maxBytes,
    sizeCalculation: (_, key) => textOf(key),
  });
  const errors = new LRUCache<string, Error>({ max: DOCUMENT_CACHE_SIZE, maxSize: maxBytes, sizeCalculation: (_, key) => textOf(key) });
  const runs = new WeakMap<DocumentNode, number>();
  return {
    documents,
    errors,
    // Never a subscription: graphql-jit's compiled subscribe hands the subscribe resolver no arguments
    // (test/inbox-events.test.ts has the case), and an event stream's cost is its events, not its start.
    compiling(document) {
      let count = runs.get(document);
      if (count === undefined) {
        const subscribes = document.definitions.some(
          (definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.operation === 'subscription',
        );
        count = subscribes ? Number.NEGATIVE_INFINITY : 0;
      }
      runs.set(document, count + 1);
      if (count + 1 !== JIT_AFTER_RUNS) return count + 1 > JIT_AFTER_RUNS;
      // The first compile: weigh the document as compiled. One too big for the whole cache is not compiled.
      const text = document.loc?.source.body;
      const size = (text?.length ?? 0) * (PARSED_BYTES_PER_CHARACTER + COMPILED_BYTES_PER_CHARACTER);
      if (text === undefined || size > maxBytes) {
        runs.set(document, Number.NEGATIVE_INFINITY);
        return false;
      }
      if (documents.peek(text) === document) {
        // lru-cache keeps an entry's size when it is set again to the same value: set it afresh.
        documents.delete(text);
        documents.set(text, document, { size });
      }
      return true;
    },
  };
}

/**
 * yoga's CORS for `allowed`: a page of an allowed origin gets its origin back with credentials (for `'*'`
 * yoga reflects the request's origin, checked here, and adds `Vary: Origin`); any other gets no CORS header.
 */
function corsFor(allowed: AllowedOrigins): false | ((request: Request) => CORSOptions) {
  if (allowed !== 'loopback' && allowed.length === 0) return false;
  return (request) => {
    const origin = request.headers.get('origin');
    return origin !== null && isAllowedOrigin(origin, allowed) ? { origin: '*', credentials: true } : false;
  };
}

/** Builds the GraphQL server (a fetch handler; `main.ts` puts it on a port). */
export function createApp(options: AppOptions): YogaServerInstance<Record<string, unknown>, GatewayContext> {
  const limits = { ...DEFAULT_CONFIG.limits, ...options.limits };
  const graphiql = options.graphiql ?? !options.production;
  const logger = options.logger ?? createLogger({ format: options.production ? 'json' : 'pretty' });
  const documentCache = createDocumentCache(options.documentCacheMaxBytes ?? DEFAULT_CONFIG.cache.documentMaxBytes);
  return createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: createYogaLogger(logger),
    graphiql: graphiql ? { defaultQuery: GRAPHIQL_DEFAULT_QUERY, title: 'Page inbox gateway' } : false,
    // Served whole by the gateway, assets included (useGraphiQLAssets): GraphiQL works offline.
    renderGraphiQL: renderGraphiQLPage,
    context: ({ request }) => createContext(options, request),
    cors: corsFor(allowedOriginsOf(options.corsOrigins, options.production)),
    parserAndValidationCache: {
      documentCache: documentCache.documents,
      errorCache: documentCache.errors,
    },
    // The HTTP server (http-server.ts) reads and caps request bodies before yoga sees them; yoga's own
    // cap re-streams every POST body through a TransformStream, a tenth of a request's CPU.
    maxRequestBodySize: false,
    batching: limits.maxBatchedOperations > 0 ? { limit: limits.maxBatchedOperations } : false,
    // `/health` is ours (use-health.ts): it says whether the fleet's shared state is reachable.
    healthCheckEndpoint: '/_yoga/health',
    plugins: [
      // First: its span wraps every other plugin's work on an operation (a no-op with no OpenTelemetry SDK).
      useTracing(),
      // Every line written while a request is served carries its id, the other plugins' included.
      useAccessLog({ logger }),
      useHealth(options.health ?? (() => ({ redis: 'off', callsPerSecond: DEFAULT_CONFIG.pageCallsPerSecond })), options.readiness),
      usePersistedManifest(options.persistedOperations),
      // Before a subscription starts: over HTTP, only as server-sent events, and within the instance's caps.
      useSubscriptionTransport(),
      useSubscriptionCaps(options.subscriptionCaps ?? createSubscriptionCaps()),
      maxTokensPlugin({ n: limits.maxTokens }),
      useMaxDepth({ maxDepth: limits.maxDepth }),
      useIntrospectionLimits({ disabled: !(options.introspection ?? !options.production) }),
      useQueryCost({ maxCost: limits.maxCost }),
      // Compiled execution: about twice graphql-js's speed on inbox-sized results (measured on this project's machines). Only
      // for documents run a few times, within the document cache's bytes: a compiled query weighs ten times a parsed
      // one, and documents with literal ids are each run once (the soak grew past 1 GB compiling them all).
      useGraphQlJit({}, { enableIf: ({ document }) => documentCache.compiling(document) }),
      useUpstreamUsage({ always: !options.production }),
      useStaleAnswers(),
      useRefusalErrors(),
      useMetrics({ cacheStats: options.readCache.stats, ...options.metrics }),
      usePrivateResponses(),
      useOperationEnd(),
      useErrorCodes({ production: options.production }),
      useJsonErrorBodies(),
      // Last: its assets' Cache-Control overrides usePrivateResponses'. Off with GraphiQL: no asset is served.
      ...(graphiql ? [useGraphiQLAssets()] : []),
      // Last: a kept answer skips execution, and the plugins above still see it.
      useResponseCache({
        readCache: options.readCache,
        maxEntries: options.responseCacheEntries ?? DEFAULT_CONFIG.cache.responseEntries,
        maxBytes: options.responseCacheMaxBytes ?? DEFAULT_CONFIG.cache.responseMaxBytes,
      }),
    ],
    maskedErrors: {
      isDev: !options.production,
      maskError: (error, message, isDev) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        return toClientError(original, error instanceof GraphQLError ? error : undefined) ?? maskError(error, message, isDev);
      },
    },
  });
}
