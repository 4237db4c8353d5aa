/**
 * What the Graph layer tells of its work as it goes, for the gateway's metrics and log: a port, so that
 * graph-api/ knows nothing of Prometheus or pino (gateway.ts plugs the adapters in, src/metrics.ts).
 */
import type { GraphApiError, GraphTransportError } from './errors.js';

export interface UpstreamObserver {
  /** An HTTP request to Graph ended, answered or not, after `seconds`. */
  requestDone(seconds: number): void;
  /** A read or write that Graph refused (its code; a throttle too), or that got no Graph answer at all (a transport failure). */
  failed(error: GraphApiError | GraphTransportError): void;
  /** A read waited `seconds` in its Page's line before its budget let it leave. */
  budgetWaited(seconds: number): void;
}

/** Where the Graph layer writes the lines an operator needs (pino's logger fits). */
export interface UpstreamLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Tells nothing: the default of every option. */
export const SILENT_OBSERVER: UpstreamObserver = {
  requestDone: () => undefined,
  failed: () => undefined,
  budgetWaited: () => undefined,
};

export const SILENT_LOG: UpstreamLog = { warn: () => undefined };
