/**
 * ioredis writes a few warnings straight to `console.warn`, with no event to listen to (ioredis 5:
 * `redis/event_handler.js` on AUTH, `Redis.js` on a refused INFO): a password Redis does not need, an AUTH
 * Redis 5 cannot take, a ready check an ACL forbids. While a connection is open they go to its logger instead,
 * so that every line of the process stays one JSON object; any other console line passes through untouched.
 */
/** The fleet's logger, as far as these lines need it. */
interface WarningLogger {
  warn(message: string): void;
}

const IOREDIS_WARNINGS: readonly RegExp[] = [
  /^\[WARN\] (Redis server|This Redis server's `default` user) does not require a password/,
  /^\[ERROR\] The server returned "wrong number of arguments for 'auth' command"/,
  /^Skipping the ready check because INFO command fails/,
];

const loggers = new Set<WarningLogger>();
let original: typeof console.warn | undefined;

function routed(...args: unknown[]): void {
  const text = args.map(String).join(' ');
  const [logger] = loggers;
  if (logger !== undefined && IOREDIS_WARNINGS.some((pattern) => pattern.test(text))) logger.warn(`Redis: ${text}`);
  else original?.(...args);
}

/** Sends ioredis's console warnings to `logger` until the returned function is called. */
export function routeIoredisWarnings(logger: WarningLogger): () => void {
  loggers.add(logger);
  if (original === undefined) {
    original = console.warn;
    console.warn = routed;
  }
  return () => {
    loggers.delete(logger);
    // Put the console back only if nobody replaced it since.
    if (loggers.size > 0 || original === undefined || console.warn !== routed) return;
    console.warn = original;
    original = undefined;
  };
}
