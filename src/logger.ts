/**
 * The gateway's log, through pino: one line per event with its time, JSON in production and
 * readable lines in development. Every line is scrubbed of tokens, proofs and URLs after it is
 * formatted, whatever wrote it. Upstream failures are expected events and get one line with their
 * Graph code; other errors keep their stack.
 */
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type { YogaLogger } from 'graphql-yoga';
import type { LogLevel } from './config.js';
import { GraphApiError, GraphRateLimitError, GraphTransportError, OperationAbortedError } from './graph-api/errors.js';
import { scrubSecrets } from './graph-api/scrub.js';
import { requestFields } from './request-scope.js';

export type { Logger } from 'pino';

/** Where log lines go: anything with a `write(line)`, such as `process.stdout`. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Least severe lines written. @default 'info' */
  level?: LogLevel;
  /** `json`: one JSON object per line, for log collectors; `pretty`: time, level and message for people. @default 'json' */
  format?: 'json' | 'pretty';
  /** Where the scrubbed lines go. @default process.stdout (looked up at each write, so whoever wraps it sees every line) */
  destination?: LogDestination | undefined;
}

/** A pino logger whose every line is scrubbed before it is written. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const out = (): LogDestination => options.destination ?? process.stdout;
  const pretty =
    options.format === 'pretty'
      ? loadPrettyFactory()({
          colorize: options.destination === undefined && process.stdout.isTTY === true,
          translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
          ignore: 'pid,hostname',
          // Fields (requestId, the access line's) on the line they belong to: one line per event, as in JSON.
          singleLine: true,
        })
      : undefined;
  const scrubbing: DestinationStream = {
    write(line) {
      const clean = scrubSecrets(line);
      out().write(pretty === undefined ? clean : pretty(clean));
    },
  };
  // Every line written while a request is served names it (request-scope.ts), whoever holds the logger.
  return pino({ level: options.level ?? 'info', timestamp: stdTimeFunctions.isoTime, mixin: requestFields }, scrubbing);
}

/**
 * The process's stdout for log lines, written once per turn of the event loop: the lines of every request finished in one
 * turn go out in one write. `process.stdout` writes a pipe or a file synchronously, one system call per line: the access
 * line alone took ~5 % of an uncached request's CPU under load. Lines still pending are written when the process exits
 * (`process.exit` included; stdout's writes to a pipe or file are synchronous, so they are out before it ends).
 */
export function batchedStdout(): LogDestination {
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const lines = pending.join('');
    pending = [];
    process.stdout.write(lines);
  };
  process.on('exit', flush);
  return {
    write(line) {
      if (pending.push(line) === 1) setImmediate(flush);
    },
  };
}

function describe(value: unknown): string {
  if (value instanceof GraphApiError) {
    const code = `${value.code}${value.subcode === undefined ? '' : `/${value.subcode}`}`;
    return `upstream error: Graph code ${code} (HTTP ${value.status}, fbtrace ${value.fbtraceId ?? '-'}): ${value.message}`;
  }
  if (value instanceof GraphRateLimitError)
    return `upstream rate limit: Page ${value.page ?? '-'} blocked for ${value.retryAfterSeconds} s`;
  if (value instanceof GraphTransportError) return `upstream ${value.failure}: ${value.message}`;
  if (value instanceof OperationAbortedError) return `operation stopped: ${value.reason}`;
  if (value instanceof Error) {
    const original = originalOf(value);
    return original === value ? `${value.name}: ${value.message}` : describe(original);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The error behind a GraphQL error (yoga logs the wrapper). */
function originalOf(error: Error): unknown {
  const original = (error as { originalError?: unknown }).originalError;
  return original instanceof Error && original !== error ? originalOf(original) : error;
}

/** The fields an operator filters upstream failures by; `undefined` for other values. */
export function upstreamFields(value: unknown): Record<string, string | number> | undefined {
  const error = value instanceof Error ? originalOf(value) : value;
  if (error instanceof GraphApiError) return graphFields(error);
  if (error instanceof GraphRateLimitError) {
    const graph = error.graphError === undefined ? {} : graphFields(error.graphError);
    return { ...graph, ...(error.page === undefined ? {} : { pageId: error.page }), retryAfterSeconds: error.retryAfterSeconds };
  }
  if (error instanceof GraphTransportError) return { upstreamFailure: error.failure };
  if (error instanceof OperationAbortedError) return { stopped: error.reason };
  return undefined;
}

/** A Graph error's code, subcode, HTTP status and trace id, as log fields (never its message's tokens: scrubbed at construction). */
export function graphFields(error: GraphApiError): Record<string, string | number> {
  return {
    graphCode: error.code,
    ...(error.subcode === undefined ? {} : { graphSubcode: error.subcode }),
    httpStatus: error.status,
    ...(error.fbtraceId === undefined ? {} : { fbtraceId: error.fbtraceId }),
  };
}

/**
 * Yoga's logger interface over `logger`: upstream failures (answered to the client with their code)
 * are warnings of one line with their Graph code, subcode and trace id as fields; refusals of a blocked Page are
 * debug lines (the block itself is one warning, see GraphScheduler); unexpected errors are errors with their stack in `err`.
 */
export function createYogaLogger(logger: Logger): YogaLogger {
  const line = (args: unknown[]): string => args.map(describe).join(' ');
  return {
    debug: (...args) => {
      if (logger.isLevelEnabled('debug')) logger.debug(line(args));
    },
    info: (...args) => logger.info(line(args)),
    warn: (...args) => logger.warn(line(args)),
    error: (...args) => {
      const upstream = args.map(upstreamFields).find((fields) => fields !== undefined);
      if (upstream !== undefined) {
        // A refusal while a Page is blocked repeats what the scheduler's one line said when the block began.
        if ('retryAfterSeconds' in upstream) logger.debug(upstream, line(args));
        else logger.warn(upstream, line(args));
        return;
      }
      const error = args.find((arg): arg is Error => arg instanceof Error);
      if (error === undefined) logger.error(line(args));
      else logger.error({ err: originalOf(error) }, line(args));
    },
  };
}

/** pino-pretty, loaded only for readable lines (development): production's JSON lines never need it. */
function loadPrettyFactory(): typeof import('pino-pretty').prettyFactory {
  return (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')).prettyFactory;
}
