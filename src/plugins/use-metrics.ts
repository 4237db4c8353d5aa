import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';

export interface MetricsOptions {
  /**
   * Path that serves the Prometheus text format.
   * @default '/metrics'
   */
  path?: string;
}

/**
 * Prometheus metrics at `/metrics`: operations, their duration, and what they cost upstream.
 * Labels never hold caller data (no tokens, no Page ids).
 */
export function useMetrics(options: MetricsOptions = {}): Plugin<GatewayContext> {
  const path = options.path ?? '/metrics';
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const operations = new Counter({
    name: 'gateway_graphql_operations_total',
    help: 'GraphQL operations executed, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gateway_graphql_operation_duration_seconds',
    help: 'Time to execute a GraphQL operation, upstream calls included.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== path) return;
      endResponse(new fetchAPI.Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } }));
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
