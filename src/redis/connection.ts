/**
 * The fleet's link to Redis: one command connection and one subscriber connection (ioredis 5), a state
 * (`shared` while both answer, `degraded` otherwise) with one log line per transition, a heartbeat that
 * counts the live instances, and the hooks a rejoining instance runs before it shares state again.
 *
 * No call ever waits for Redis to come back: the offline queue is off, a command in flight when the
 * connection drops fails at once, and a command that takes longer than `commandTimeoutMs` fails too.
 * Meanwhile ioredis reconnects in the background, forever.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { scrubSecrets } from '../graph-api/scrub.js';
import { routeIoredisWarnings } from './console-warnings.js';

/** Where the fleet's state lives now: in Redis for every instance, or (Redis unreachable) in this process. */
export type FleetLink = 'shared' | 'degraded';

/** What the fleet state logs: one line per transition (pino's and yoga's loggers both fit). */
export interface FleetLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface RedisConnectionOptions {
  /** `redis://` or `rediss://` (TLS) URL, with credentials and database if any (REDIS_URL). */
  url: string;
  /** Starts every key and channel, so several deployments can share one Redis (REDIS_KEY_PREFIX). */
  keyPrefix: string;
  logger: FleetLogger;
  /** Longest a command may take before it counts as failed (and the instance degraded). @default 1000 */
  commandTimeoutMs?: number;
  /** How often this instance tells the fleet it is alive, and checks Redis answers. @default 1000 */
  heartbeatMs?: number;
  /** TLS options added to a `rediss://` connection, e.g. `{ ca }` for a private CA. */
  tls?: ConnectionOptions;
  /** Instances assumed live until a heartbeat has counted them (FLEET_SIZE_HINT). @default 1 */
  fleetSizeHint?: number;
}

/** What {@link RedisConnection.run} answers when Redis could not be asked: the caller falls back to its local state. */
export const UNREACHABLE: unique symbol = Symbol('redis unreachable');

/** Instances not heard of for this many heartbeats are no longer counted as live. */
const LIVE_HEARTBEATS = 3;
/** Longest pause between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/** Adds this instance to the live set (by Redis's clock, so instances' clock skew does not matter) and counts the live ones. */
const HEARTBEAT_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`;

/**
 * Runs a Lua script by its SHA1, loading it when Redis does not know it (first use, or a Redis that
 * restarted): one round trip in the usual case. With `replies: 'buffers'` bulk replies come back as Buffers,
 * for scripts that return binary values (a compressed cache entry).
 */
export async function runScript(
  redis: Redis,
  script: string,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
  replies: 'strings' | 'buffers' = 'strings',
): Promise<unknown> {
  const sha = scriptSha(script);
  // The named commands, not `call`: ioredis's auto-pipelining takes `call`'s first argument for the command's name. Every
  // command has a `…Buffer` twin at run time (bulk replies as Buffers), which ioredis's types leave out for these two.
  const commands = redis as unknown as Record<'evalsha' | 'evalshaBuffer' | 'eval' | 'evalBuffer', ScriptCommand>;
  const all = [keys.length, ...keys, ...args];
  try {
    return await commands[replies === 'buffers' ? 'evalshaBuffer' : 'evalsha'](sha, ...all);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return commands[replies === 'buffers' ? 'evalBuffer' : 'eval'](script, ...all);
  }
}

type ScriptCommand = (script: string, ...keysAndArgs: Array<string | number | Buffer>) => Promise<unknown>;

const shas = new Map<string, string>();
function scriptSha(script: string): string {
  let sha = shas.get(script);
  if (sha === undefined) shas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
  return sha;
}

/** Where a Redis URL points, without its credentials: for log lines. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
  } catch {
    return 'the configured Redis';
  }
}

export class RedisConnection {
  /** Names this instance in the fleet (heartbeats, budget places). */
  readonly instanceId = randomBytes(6).toString('base64url');
  readonly keyPrefix: string;
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #logger: FleetLogger;
  readonly #heartbeatMs: number;
  readonly #where: string;
  readonly #timer: NodeJS.Timeout;
  readonly #rejoinHooks: Array<(redis: Redis, reconnect: boolean) => Promise<void>> = [];
  readonly #listeners = new Set<(link: FleetLink) => void>();
  readonly #channels = new Map<string, (message: string) => void>();
  #state: FleetLink = 'degraded';
  #since = Date.now();
  /** Whether a line has told the state yet (the first state is logged whichever it is). */
  #announced = false;
  /** Whether this instance ever shared state: joining again after that is a rejoin. */
  #joinedBefore = false;
  /** Whether the subscriber connection confirmed its subscriptions since it last connected. */
  #subscribed = false;
  #lastError: string | undefined;
  /** Counted by the last heartbeat that reached Redis; none before the first. */
  #liveInstances: number | undefined;
  readonly #fleetSizeHint: number;
  #joining: Promise<void> | undefined;
  #closed = false;
  readonly #unrouteWarnings: () => void;

  constructor(options: RedisConnectionOptions) {
    this.keyPrefix = options.keyPrefix;
    this.#logger = options.logger;
    this.#heartbeatMs = options.heartbeatMs ?? 1_000;
    this.#fleetSizeHint = options.fleetSizeHint ?? 1;
    if (!Number.isInteger(this.#fleetSizeHint) || this.#fleetSizeHint < 1)
      throw new TypeError(`fleetSizeHint must be a whole number of instances, 1 or more, got ${this.#fleetSizeHint}`);
    this.#where = describeRedisUrl(options.url);
    const redisOptions: RedisOptions = {
      // Fail at once rather than queue while Redis is away: the caller then uses its local state.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails at the drop, and is never sent again.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      connectTimeout: 2_000,
      // Reconnect forever, at most a second apart.
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    };
    if (options.tls !== undefined && !options.url.startsWith('rediss://'))
      throw new TypeError(`tls options need a rediss:// URL, got one for ${this.#where}`);
    this.#unrouteWarnings = routeIoredisWarnings(options.logger);
    // Commands issued in one turn of the event loop (an operation's proof and entry lookups, and its neighbours') leave in one
    // write: under load the writes, not Redis, were what an answer's Redis round trips cost the gateway.
    this.#command = new Redis(options.url, { ...redisOptions, enableAutoPipelining: true });
    this.#subscriber = new Redis(options.url, redisOptions);

    for (const redis of [this.#command, this.#subscriber]) {
      // ioredis reports every failed attempt; the state (and its one line per change) says enough.
      redis.on('error', (error: Error) => (this.#lastError = error.message));
      redis.on('ready', () => (this.#lastError = undefined));
      redis.on('close', () => this.#degrade(this.#lastError ?? 'the connection closed'));
    }
    this.#subscriber.on('close', () => (this.#subscribed = false));
    this.#command.on('ready', () => void this.#beat());
    this.#subscriber.on('ready', () => void this.#beat());
    this.#subscriber.on('message', (channel: string, message: string) => this.#channels.get(channel)?.(message));
    this.#timer = setInterval(() => void this.#beat(), this.#heartbeatMs);
    this.#timer.unref();
  }

  get state(): FleetLink {
    return this.#state;
  }

  /** Epoch ms of the last change of state. */
  get since(): number {
    return this.#since;
  }

  /** Live instances at the last heartbeat that reached Redis (this one included); `undefined` before the first. */
  get liveInstances(): number | undefined {
    return this.#liveInstances;
  }

  /**
   * The instances to share a budget with while Redis is away: those live at the last heartbeat, or, before this
   * instance ever heard from the fleet (it started while Redis was unreachable), the fleet size hint.
   */
  get assumedInstances(): number {
    return this.#liveInstances ?? this.#fleetSizeHint;
  }

  /** The key (or channel) `name` of this deployment. */
  key(name: string): string {
    return `${this.keyPrefix}${name}`;
  }

  /** Resolves once the state is shared, or after `timeoutMs` (whichever first); answers the state. */
  async settled(timeoutMs: number): Promise<FleetLink> {
    if (this.#state === 'shared') return 'shared';
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        stop();
        resolve(this.#state);
      }, timeoutMs);
      const stop = this.onChange((link) => {
        if (link !== 'shared') return;
        clearTimeout(timer);
        stop();
        resolve(link);
      });
    });
  }

  /** Tells `listener` each change of state; the answer stops telling it. */
  onChange(listener: (link: FleetLink) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs `hook` each time this instance (re)joins, before it shares state again (so on `redis` directly);
   * `reconnect` is false for the first join of the process. A hook that fails keeps the instance degraded
   * until the next try.
   */
  onRejoin(hook: (redis: Redis, reconnect: boolean) => Promise<void>): void {
    this.#rejoinHooks.push(hook);
  }

  /**
   * Runs `command` on the command connection while state is shared; any failure degrades the instance.
   * {@link UNREACHABLE} when Redis was not or could not be asked: the caller uses its local state.
   */
  async run<T>(command: (redis: Redis) => Promise<T>): Promise<T | typeof UNREACHABLE> {
    if (this.#state !== 'shared') return UNREACHABLE;
    try {
      return await command(this.#command);
    } catch (error) {
      this.#degrade(error);
      return UNREACHABLE;
    }
  }

  /** Publishes on `channel` (a full key); false when Redis could not be asked. */
  async publish(channel: string, message: string): Promise<boolean> {
    return (await this.run((redis) => redis.publish(channel, message))) !== UNREACHABLE;
  }

  /** Hands every message of `channel` (a full key) to `onMessage`, across reconnections. */
  listen(channel: string, onMessage: (message: string) => void): void {
    this.#channels.set(channel, onMessage);
    this.#subscribed = false;
    void this.#beat();
  }

  /** Leaves the fleet (its heartbeat first, so the others' share grows at once) and closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.run((redis) => redis.zrem(this.key('instances'), this.instanceId));
    this.#listeners.clear();
    await Promise.all([this.#command, this.#subscriber].map((redis) => quit(redis)));
    this.#unrouteWarnings();
  }

  async #resubscribe(): Promise<void> {
    if (this.#subscriber.status !== 'ready') return;
    try {
      // ioredis resubscribes by itself after a reconnection; subscribing again is harmless, and this
      // instance counts as shared only once the subscription is confirmed.
      await this.#subscriber.subscribe(...this.#channels.keys());
      this.#subscribed = true;
      await this.#beat();
    } catch (error) {
      this.#degrade(error);
    }
  }

  /** Says this instance is alive and learns how many are; (re)joins when Redis answers again. */
  async #beat(): Promise<void> {
    // A connection that drops says so ('close'): until both are back there is nothing to check.
    if (this.#closed || this.#command.status !== 'ready' || this.#subscriber.status !== 'ready') return;
    if (this.#channels.size > 0 && !this.#subscribed) {
      await this.#resubscribe();
      return;
    }
    try {
      const live = await runScript(
        this.#command,
        HEARTBEAT_SCRIPT,
        [this.key('instances')],
        [this.instanceId, LIVE_HEARTBEATS * this.#heartbeatMs],
      );
      this.#liveInstances = Math.max(1, Number(live));
      // A subscriber that stopped answering (a half-open connection) would miss every event silently.
      if (this.#channels.size > 0) await this.#subscriber.ping();
    } catch (error) {
      this.#degrade(error);
      return;
    }
    if (this.#state === 'degraded') await this.#join();
  }

  /** Runs the rejoin hooks, then shares state; one join at a time. */
  async #join(): Promise<void> {
    if (this.#joining !== undefined) return this.#joining;
    this.#joining = this.#rejoin();
    try {
      await this.#joining;
    } finally {
      this.#joining = undefined;
    }
  }

  async #rejoin(): Promise<void> {
    try {
      const reconnect = this.#joinedBefore;
      for (const hook of this.#rejoinHooks) await hook(this.#command, reconnect);
      if (this.#closed || this.#command.status !== 'ready' || this.#subscriber.status !== 'ready') return;
      this.#joinedBefore = true;
      this.#setState(
        'shared',
        `Redis: ${reconnect ? 'reachable again, sharing state again' : 'sharing state'} (call budget, read cache, inbox events) at ` +
          `${this.#where}, ${this.#liveInstances} live instance(s)`,
      );
    } catch (error) {
      this.#degrade(error);
    }
  }

  #degrade(reason: unknown): void {
    if (this.#closed) return;
    if (this.#state === 'degraded' && this.#announced) return;
    const why = reason instanceof Error ? reason.message : String(reason);
    const assumed = this.assumedInstances;
    const counted =
      this.#liveInstances === undefined ? 'FLEET_SIZE_HINT: it has not heard from the fleet yet' : `${assumed} instance(s) were live`;
    this.#setState(
      'degraded',
      `Redis unreachable at ${this.#where} (${scrubSecrets(why).slice(0, 200)}): degraded mode until it answers again; this instance ` +
        `spends 1/${assumed} of each Page's call budget (${counted}) and keeps its read ` +
        `cache, inbox events and webhook redeliveries to itself; it refuses sends (SEND_LEDGER_UNAVAILABLE) until then`,
    );
  }

  #setState(next: FleetLink, line: string): void {
    const changed = next !== this.#state;
    if (!changed && this.#announced) return;
    this.#state = next;
    this.#announced = true;
    if (changed) this.#since = Date.now();
    if (next === 'shared') this.#logger.info(line);
    else this.#logger.warn(line);
    if (changed) for (const listener of [...this.#listeners]) listener(next);
  }
}

/** Closes politely when Redis answers, at once otherwise. */
async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    const done = await Promise.race([
      redis.quit().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500).unref()),
    ]);
    if (done) return;
  }
  redis.disconnect();
}
