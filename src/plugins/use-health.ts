import type { Plugin } from 'graphql-yoga';
import type { ReadinessView } from '../readiness.js';

/** What `/health` says of the state an instance shares with its fleet. */
export interface HealthView {
  /** `off`: no REDIS_URL (this instance alone); `shared`: in Redis; `degraded`: Redis unreachable, this instance alone for now. */
  readonly redis: 'off' | 'shared' | 'degraded';
  readonly since?: number | undefined;
  readonly liveInstances?: number | undefined;
  readonly callsPerSecond: number;
}

/** The paths served here: `/health` (what is shared), and the probes of an orchestrator or load balancer. */
export const HEALTH_PATH = '/health';
export const LIVENESS_PATH = '/health/live';
export const READINESS_PATH = '/health/ready';

/**
 * `GET /health`: 200 while the instance serves, with `status: "ok"`, or `"degraded"` while Redis is
 * unreachable (the instance still answers, alone: a load balancer should keep sending it traffic, and an
 * operator should look at Redis). The body says what is shared and since when.
 *
 * `GET /health/live`: 200 while the process runs (a liveness probe: failing it means restart the process).
 * `GET /health/ready`: 200 `{"status":"ready"}` when the instance should get traffic, else 503 with the reason
 * (`starting`, `shutting-down`, `redis-unreachable`; see readiness.ts).
 */
export function useHealth(health: () => HealthView, readiness: () => ReadinessView = () => ({ ready: true })): Plugin {
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      // Headers made afresh for each answer: the fetch API may keep the object and write this answer's length into it.
      const answer = (status: number, body: unknown): void =>
        endResponse(
          new fetchAPI.Response(JSON.stringify(body), {
            status,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          }),
        );
      if (url.pathname === LIVENESS_PATH) return answer(200, { status: 'live' });
      if (url.pathname === READINESS_PATH) {
        const view = readiness();
        return view.ready ? answer(200, { status: 'ready' }) : answer(503, { status: 'unready', reason: view.reason });
      }
      if (url.pathname !== HEALTH_PATH) return;
      const view = health();
      answer(200, {
        status: view.redis === 'degraded' ? 'degraded' : 'ok',
        redis: view.redis,
        since: view.since === undefined ? null : new Date(view.since).toISOString(),
        liveInstances: view.liveInstances ?? null,
        callsPerSecond: view.callsPerSecond,
      });
    },
  };
}
