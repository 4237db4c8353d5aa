/**
 * The gateway's Prometheus metrics beyond the GraphQL app's own (use-metrics.ts serves them all at `/metrics`):
 * what an operator pages on at night. One registry per instance, built by the composition root (gateway.ts),
 * which hands each part the small port it reports through; labels are bounded (never a Page id, a token or a path
 * a client chose).
 */
import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FALLBACK_RULE, graphErrorRule } from './graph-api/error-rules.js';
import { GraphApiError, type GraphTransportError, isThrottleCode } from './graph-api/errors.js';
import type { UpstreamObserver } from './graph-api/upstream-observer.js';
import type { FleetLink } from './fleet.js';
import type { WebhookResult } from './webhooks/receiver.js';
import type { SendResult } from './replies/reply-service.js';

/** The routes `gateway_http_requests_total` names; any other path counts as `other`. */
export const HTTP_ROUTES = ['/graphql', '/health', '/metrics', '/webhooks/meta'] as const;
const HTTP_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'OPTIONS']);
/** `gateway_redis_state`'s values. */
export const REDIS_STATE_VALUE = { off: 0, shared: 1, degraded: 2 } as const satisfies Record<FleetLink | 'off', number>;

/** What the gauges read at each scrape. */
export interface MetricSources {
  /** Reads waiting for their Page's budget on this instance, and Pages it knows blocked. */
  readonly scheduler: { readonly queued: number; readonly blockedPages: number };
  readonly redis: () => FleetLink | 'off';
  /** Subscriptions open on this instance, both transports. */
  readonly subscriptions: () => number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** The Graph client's and scheduler's port. */
  readonly upstream: UpstreamObserver;
  webhook(result: WebhookResult): void;
  send(outcome: SendResult['kind']): void;
  /** Counts every answer `server` gives (its status once the answer is over). */
  countResponses(server: Server): void;
  /** Lets the gauges read the instance's state; until then they read zero. */
  watch(sources: MetricSources): void;
}

/** Seconds; past Graph's usual answers up to the client timeouts (GRAPH_HEADERS_TIMEOUT_MS, GRAPH_BODY_TIMEOUT_MS). */
const UPSTREAM_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];
/** Seconds; a read waits whole budget windows (1 s) until the operation's deadline (OPERATION_TIMEOUT_MS, 15 s by default). */
const BUDGET_WAIT_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 2, 3, 5, 10, 15, 30];

/** The route label of a request's path. */
export function routeOf(url: string | undefined): string {
  const path = (url ?? '/').split('?', 1)[0]!;
  if (path.startsWith('/health')) return '/health';
  return (HTTP_ROUTES as readonly string[]).includes(path) ? path : 'other';
}

/**
 * The `graph_code` label of a failure: a code the error rules name (a range by its bounds), else `other`;
 * `transport` when Graph never answered.
 */
export function graphCodeLabel(error: GraphApiError | GraphTransportError): string {
  if (!(error instanceof GraphApiError)) return 'transport';
  const rule = graphErrorRule(error.code);
  if (rule === FALLBACK_RULE) return 'other';
  return rule.through === undefined ? String(rule.code) : `${rule.code}-${rule.through}`;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  let sources: MetricSources | undefined;
  const gauge = (name: string, help: string, read: (s: MetricSources) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(sources === undefined ? 0 : read(sources));
      },
    });
  };
  gauge(
    'gateway_budget_queue_depth',
    'Graph reads waiting for their Page call budget on this instance (all Pages).',
    (s) => s.scheduler.queued,
  );
  gauge(
    'gateway_pages_blocked',
    'Pages this instance makes no Graph call for, after Graph throttled them.',
    (s) => s.scheduler.blockedPages,
  );
  gauge(
    'gateway_redis_state',
    'Shared state: 0 off (no REDIS_URL), 1 shared in Redis, 2 degraded (Redis unreachable).',
    (s) => REDIS_STATE_VALUE[s.redis()],
  );
  gauge('gateway_subscriptions_open', 'Subscriptions open on this instance (server-sent events and WebSockets).', (s) => s.subscriptions());
  new Gauge({
    name: 'gateway_build_info',
    help: 'Always 1: the version running and its Node.js.',
    labelNames: ['version', 'node'],
    registers: [registry],
  })
    .labels({ version: packageVersion(), node: process.version })
    .set(1);
  const counters = createCounters(registry);
  return {
    registry,
    upstream: counters.upstream,
    webhook: (result) => counters.webhooks.inc({ result }),
    send: (outcome) => counters.sends.inc({ outcome }),
    countResponses(server) {
      server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
        response.once('close', () =>
          counters.http.inc({
            method: HTTP_METHODS.has(request.method ?? '') ? request.method! : 'other',
            route: routeOf(request.url),
            status: String(response.statusCode),
          }),
        );
      });
    },
    watch(watched) {
      sources = watched;
    },
  };
}

function createCounters(registry: Registry) {
  const registers = [registry];
  const duration = new Histogram({
    name: 'gateway_upstream_request_duration_seconds',
    help: 'Time of each HTTP request to the Graph API (a GET or a batch POST), answered or failed.',
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: 'gateway_upstream_errors_total',
    help: 'Graph answers that failed, by Graph code (codes of the error rules, else other; transport: no Graph answer).',
    labelNames: ['graph_code'],
    registers,
  });
  const throttles = new Counter({
    name: 'gateway_upstream_throttles_total',
    help: 'Throttle codes Graph answered (reads and sends): each blocks its Page for everyone sharing its budget.',
    registers,
  });
  const budgetWait = new Histogram({
    name: 'gateway_budget_wait_seconds',
    help: "Time a Graph read waited for its Page's call budget before it left.",
    buckets: BUDGET_WAIT_BUCKETS,
    registers,
  });
  const upstream: UpstreamObserver = {
    requestDone: (seconds) => duration.observe(seconds),
    failed: (error) => {
      errors.inc({ graph_code: graphCodeLabel(error) });
      if (error instanceof GraphApiError && isThrottleCode(error.code)) throttles.inc();
    },
    budgetWaited: (seconds) => budgetWait.observe(seconds),
  };
  return {
    upstream,
    http: new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP answers, by method, route (/graphql, /health, /metrics, /webhooks/meta, other) and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    webhooks: new Counter({
      name: 'gateway_webhook_deliveries_total',
      help: "Meta's webhook calls, by result: accepted, bad_signature, bad_body, handshake_ok, handshake_refused.",
      labelNames: ['result'],
      registers,
    }),
    sends: new Counter({
      name: 'gateway_sends_total',
      help: 'Replies asked for, by outcome: sent, refused, unknown (the Send API answered nothing certain).',
      labelNames: ['outcome'],
      registers,
    }),
  };
}

/** This package's version, read once (src/ and dist/ both sit beside package.json). */
function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
