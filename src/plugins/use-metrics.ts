import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import type { ReadCacheStats } from '../graph-api/read-cache.js';

export interface MetricsOptions {
  /**
   * Path that serves the Prometheus text format.
   * @default '/metrics'
   */
  path?: string;
  /**
   * Where the metrics go, with those the rest of the instance registers there (src/metrics.ts), and which another
   * listener may serve (METRICS_PORT). @default a registry of the app's own
   */
  registry?: Registry | undefined;
  /**
   * Whether this app answers `path`; `false` when the registry is served on a listener of its own (METRICS_PORT).
   * @default true
   */
  servedHere?: boolean | undefined;
  /** What the read cache did (hits, misses, invalidations, stale answers, reconciler finds). */
  cacheStats?: Readonly<ReadCacheStats> | undefined;
}

/** What each read cache counter says, for Prometheus. */
const CACHE_COUNTERS: ReadonlyArray<[keyof ReadCacheStats, string, string]> = [
  ['hits', 'gateway_cache_hits_total', 'Graph reads answered from the read cache, with no upstream call.'],
  [
    'answersReused',
    'gateway_cache_answers_reused_total',
    'Whole answers served again to a viewer repeating a query, without executing it.',
  ],
  [
    'fillsAwaited',
    'gateway_cache_fills_awaited_total',
    'Misses that waited for the entry another instance was filling (one upstream read per change for the whole fleet).',
  ],
  [
    'misses',
    'gateway_cache_misses_total',
    'Cacheable Graph reads that went upstream (absent, expired, dropped by an event, or a token not yet proven).',
  ],
  [
    'invalidations',
    'gateway_cache_invalidations_total',
    'Cache tags moved by webhook events and the reconciler (each drops the reads it tags).',
  ],
  [
    'staleAnswers',
    'gateway_cache_stale_answers_total',
    'Reads answered stale from the cache because Graph could not be called for their Page.',
  ],
  ['reconcileReads', 'gateway_cache_reconcile_reads_total', 'List heads the reconciler re-read with idle budget.'],
  [
    'reconcileChanges',
    'gateway_cache_reconcile_changes_total',
    'List heads the reconciler found changed although no webhook said so: a sign that deliveries are being lost.',
  ],
];

/**
 * Prometheus metrics at `/metrics`: operations, their duration, and what they cost upstream.
 * Labels never hold caller data (no tokens, no Page ids).
 */
export function useMetrics(options: MetricsOptions = {}): Plugin<GatewayContext> {
  const path = options.servedHere === false ? undefined : (options.path ?? '/metrics');
  const registry = options.registry ?? new Registry();
  collectDefaultMetrics({ register: registry });
  const { cacheStats } = options;
  if (cacheStats !== undefined) {
    for (const [stat, name, help] of CACHE_COUNTERS) {
      let reported = 0;
      new Counter({
        name,
        help,
        registers: [registry],
        // Counted by the cache itself; each scrape adds what happened since the last.
        collect() {
          this.inc(cacheStats[stat] - reported);
          reported = cacheStats[stat];
        },
      });
    }
  }
  const operations = new Counter({
    name: 'gateway_graphql_operations_total',
    help: 'GraphQL operations executed, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gateway_graphql_operation_duration_seconds',
    help: 'Time to execute a GraphQL operation, upstream calls included.',
    // Past OPERATION_TIMEOUT_MS (15 s by default), so that operations cut at the deadline land in a bucket of their own.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30],
    registers: [registry],
  });
  const upstreamRequests = new Counter({
    name: 'gateway_upstream_requests_total',
    help: 'HTTP requests sent to the Graph API.',
    registers: [registry],
  });
  const upstreamCalls = new Counter({
    name: 'gateway_upstream_calls_total',
    help: 'Billed Graph API calls (each batch item counts).',
    registers: [registry],
  });
  const coalesced = new Counter({
    name: 'gateway_upstream_coalesced_total',
    help: 'Reads answered by an identical in-flight read of another operation.',
    registers: [registry],
  });

  return {
    // Synchronous for every other request: an async hook would cost each of them a promise.
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== path) return;
      return registry
        .metrics()
        .then((text) => endResponse(new fetchAPI.Response(text, { headers: { 'content-type': registry.contentType } })));
    },
    onExecute({ args }) {
      const started = performance.now();
      const context = args.contextValue as GatewayContext;
      return {
        onExecuteDone({ result }) {
          duration.observe((performance.now() - started) / 1000);
          const failed = !(Symbol.asyncIterator in result) && (result.errors?.length ?? 0) > 0;
          operations.inc({ outcome: failed ? 'error' : 'ok' });
          upstreamRequests.inc(context.usage.requests);
          upstreamCalls.inc(context.usage.calls);
          coalesced.inc(context.usage.coalesced);
        },
      };
    },
  };
}
