/**
 * The gateway's log: one line per event, every line scrubbed of tokens, proofs and URLs. Upstream
 * failures are expected events and get one line with their Graph code; other errors keep a stack.
 */
import type { YogaLogger } from 'graphql-yoga';
import { GraphApiError, GraphRateLimitError, GraphTransportError, OperationAbortedError } from './graph-api/errors.js';
import { scrubSecrets } from './graph-api/scrub.js';

function describe(value: unknown): string {
  if (value instanceof GraphApiError) {
    return `upstream error: Graph code ${value.code}${value.subcode === undefined ? '' : `/${value.subcode}`} (HTTP ${value.status}, fbtrace ${value.fbtraceId ?? '-'}): ${value.message}`;
  }
  if (value instanceof GraphRateLimitError)
    return `upstream rate limit: Page ${value.page ?? '-'} blocked for ${value.retryAfterSeconds} s`;
  if (value instanceof GraphTransportError) return `upstream ${value.failure}: ${value.message}`;
  if (value instanceof OperationAbortedError) return `operation stopped: ${value.reason}`;
  if (value instanceof Error) {
    const original = (value as { originalError?: unknown }).originalError;
    if (original instanceof Error && original !== value) return describe(original);
    return value.stack ?? `${value.name}: ${value.message}`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isUpstreamFailure(value: unknown): boolean {
  const error = value instanceof Error ? ((value as { originalError?: unknown }).originalError ?? value) : value;
  return (
    error instanceof GraphApiError ||
    error instanceof GraphRateLimitError ||
    error instanceof GraphTransportError ||
    error instanceof OperationAbortedError
  );
}

export type LogSink = (level: 'debug' | 'info' | 'warn' | 'error', line: string) => void;

const consoleSink: LogSink = (level, line) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

/** A yoga logger writing scrubbed single lines; debug lines only when `debug`. */
export function createLogger(options: { debug?: boolean; sink?: LogSink } = {}): YogaLogger {
  const sink = options.sink ?? consoleSink;
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void => {
      if (level === 'debug' && !options.debug) return;
      // Upstream failures are answered to the client with their code: worth a warning, not an error.
      const effective = level === 'error' && args.some(isUpstreamFailure) ? 'warn' : level;
      sink(effective, scrubSecrets(`[${effective}] ${args.map(describe).join(' ')}`));
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
