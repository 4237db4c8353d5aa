/**
 * `/metrics` on a listener of its own (METRICS_PORT): Prometheus scrapes it on a port the load balancer
 * does not expose, and the public port no longer tells anyone the gateway's traffic and cache figures.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** Where the metrics listener serves the Prometheus text format; any other path is a 404. */
export const METRICS_PATH = '/metrics';

/** An HTTP server (not listening yet) answering GET and HEAD `/metrics` with what `registry` holds. */
export function createMetricsServer(registry: Registry): Server {
  return createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics').pathname;
    if (path !== METRICS_PATH || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      () => response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics failed'),
    );
  });
}
