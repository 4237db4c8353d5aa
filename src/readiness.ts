/**
 * Whether a load balancer should send this instance traffic (`GET /health/ready`): not before start-up
 * completed, never again once shutdown began (so the balancer moves away during SHUTDOWN_DRAIN_SECONDS, while
 * the instance still serves), and, with REDIS_REQUIRED, not while Redis is unreachable.
 */

/** Why an instance is not ready, as `/health/ready` says it. */
export type UnreadyReason = 'starting' | 'shutting-down' | 'redis-unreachable';

export type ReadinessView = { readonly ready: true } | { readonly ready: false; readonly reason: UnreadyReason };

export interface Readiness {
  view(): ReadinessView;
  /** Start-up completed: the server listens and the upstream knows it (main.ts calls it last). */
  started(): void;
  /** Shutdown began: unready from now on, for good. */
  stopping(): void;
}

export interface ReadinessOptions {
  /** Whether Redis answers now; given only when readiness depends on it (REDIS_REQUIRED). */
  redisReachable?: (() => boolean) | undefined;
}

/** The readiness of one instance, starting unready until {@link Readiness.started}. */
export function createReadiness(options: ReadinessOptions = {}): Readiness {
  let phase: 'starting' | 'serving' | 'stopping' = 'starting';
  return {
    view() {
      if (phase === 'starting') return { ready: false, reason: 'starting' };
      if (phase === 'stopping') return { ready: false, reason: 'shutting-down' };
      if (options.redisReachable !== undefined && !options.redisReachable()) return { ready: false, reason: 'redis-unreachable' };
      return { ready: true };
    },
    started() {
      if (phase === 'starting') phase = 'serving';
    },
    stopping() {
      phase = 'stopping';
    },
  };
}
