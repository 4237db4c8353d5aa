import type { Plugin } from 'graphql-yoga';

/** What `/health` says of the state an instance shares with its fleet. */
export interface HealthView {
  /** `off`: no REDIS_URL (this instance alone); `shared`: in Redis; `degraded`: Redis unreachable, this instance alone for now. */
  readonly redis: 'off' | 'shared' | 'degraded';
  readonly since?: number | undefined;
  readonly liveInstances?: number | undefined;
  readonly callsPerSecond: number;
}

/**
 * `GET /health`: 200 while the instance serves, with `status: "ok"`, or `"degraded"` while Redis is
 * unreachable (the instance still answers, alone: a load balancer should keep sending it traffic, and an
 * operator should look at Redis). The body says what is shared and since when.
 */
export function useHealth(health: () => HealthView): Plugin {
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (url.pathname !== '/health' || (request.method !== 'GET' && request.method !== 'HEAD')) return;
      const view = health();
      const body = {
        status: view.redis === 'degraded' ? 'degraded' : 'ok',
        redis: view.redis,
        since: view.since === undefined ? null : new Date(view.since).toISOString(),
        liveInstances: view.liveInstances ?? null,
        callsPerSecond: view.callsPerSecond,
      };
      endResponse(
        new fetchAPI.Response(JSON.stringify(body), { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } }),
      );
    },
  };
}
