/**
 * The call budget a fleet shares (see `CallBudget` in src/graph-api/call-budget.ts for the rule): at most
 * GRAPH_PAGE_CALLS_PER_SECOND calls per Page in any window across every instance, each decision one Lua
 * script over the Page's keys, so two instances never both take the last place.
 *
 * Per Page (under the deployment's key prefix; `budget` is the default key space, see `keySpace`):
 *   - `budget:<page>:window`, a sorted set of places: a place in flight is scored a far bound
 *     (MAX_IN_FLIGHT_MS from its grant), so the places of an instance that died mid-call free by
 *     themselves; an answered place is scored its answer's time and leaves a window later;
 *   - `budget:<page>:line`, a sorted set of the claims waiting, by `queuedAt`, and `budget:<page>:claims`,
 *     each claim's calls, deadline and when its instance last asked for it: a claim is granted only when
 *     every older claim of any instance fits before it, so reads leave in the order they arrived
 *     fleet-wide; a claim past its deadline, or not asked for within a lease (its instance died), leaves
 *     the line;
 *   - `budget:<page>:block`, until when a throttle seen by any instance blocks the Page.
 * Times are Redis's clock (`TIME`): each script converts the caller's `now` by the offset between the two,
 * so instances whose clocks disagree still count one window.
 *
 * While Redis is unreachable, each instance counts alone at its share of the rate: the Page's rate
 * divided by the instances live when it last heard of them, or by FLEET_SIZE_HINT when it never did.
 */
import {
  type BudgetClaim,
  type BudgetGrant,
  type BudgetStatus,
  type CallBudget,
  MAX_IN_FLIGHT_MS,
  MemoryCallBudget,
  PageBlocks,
  rateWindow,
} from '../graph-api/call-budget.js';
import { type RedisConnection, runScript, UNREACHABLE } from './connection.js';

export interface RedisCallBudgetOptions {
  /** Calls per Page per second for the whole fleet (GRAPH_PAGE_CALLS_PER_SECOND); 0: no limit (throttle blocks are still shared). */
  callsPerSecond: number;
  /**
   * How soon to ask again while places of other instances are in flight or their older claims are
   * about to take places: neither is announced. @default 50
   */
  pollMs?: number;
  /** How long a place in flight is held at most when its answer is never told (its instance died). @default MAX_IN_FLIGHT_MS */
  maxInFlightMs?: number;
  /**
   * How long a waiting claim keeps its place in line without its instance asking for it again (it asks
   * at least once a window while it waits; an instance that died stops). @default 2 windows + 2 s
   */
  claimLeaseMs?: number;
  /**
   * Starts the name of every key of this budget (`<keySpace>:<page>:window`, …): two budgets on one connection
   * (the read budget and the Send API's) count apart only under different key spaces. Letters, digits and `-`.
   * @default 'budget'
   */
  keySpace?: string;
}

/** Longest a claim's deadline may lie ahead: a read never waits this long (OPERATION_TIMEOUT_MS is far less). */
const MAX_CLAIM_MS = 10 * 60_000;

/** Prelude of every script: Redis's time in ms, and its offset from the caller's clock (ARGV[1]). */
const CLOCK = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local offset = now - tonumber(ARGV[1])
`;

/** Reads a claim of the line (KEYS[3]): calls, deadline, last asked; nil when it is gone or void (lease in `lease`). */
const CLAIMS = `
local function liveClaim(ticket, lease)
  local value = redis.call('HGET', KEYS[3], ticket)
  if value then
    local calls, deadline, seen = string.match(value, '^(%S+) (%S+) (%S+)$')
    calls, deadline, seen = tonumber(calls), tonumber(deadline), tonumber(seen)
    if calls and deadline >= now and seen + lease >= now then return calls end
  end
  redis.call('ZREM', KEYS[2], ticket)
  redis.call('HDEL', KEYS[3], ticket)
  return nil
end
`;

/**
 * KEYS: window, line, claims, block. ARGV: now, limit, windowMs, inFlightMs, leaseMs, pollMs, prefix of the
 * places granted by this call, prefix of this instance's places, then ticket, calls, queuedAt, deadline
 * per claim. Answers { blocked, blockedUntil, busy, waitingCalls, hasRetry, retryAt, then per granted
 * claim: ticket, calls, place ids }.
 */
const ACQUIRE = `${CLOCK}${CLAIMS}
local limit, windowMs, inFlight, lease, poll = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if limit > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs) end
local blockedUntil = tonumber(redis.call('GET', KEYS[4]) or '0')
local blocked = blockedUntil > now
local mine = {}
if not blocked then
  for i = 9, #ARGV, 4 do
    redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[i + 2]) + offset, ARGV[i])
    local deadline = string.format('%.0f', tonumber(ARGV[i + 3]) + offset)
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1] .. ' ' .. deadline .. ' ' .. string.format('%.0f', now))
    mine[ARGV[i]] = true
  end
end
local result = {0, 0, 0, 0, 0, 0}
local reserved = redis.call('ZCARD', KEYS[1])
local waiting, stopped, mineWaiting, othersAhead, placed = 0, blocked, false, false, 0
for _, ticket in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local calls = liveClaim(ticket, lease)
  if calls == nil then
  elseif not stopped and (limit == 0 or reserved == 0 or reserved + calls <= limit) then
    reserved = reserved + calls
    if mine[ticket] then
      result[#result + 1] = ticket
      result[#result + 1] = calls
      for _ = 1, calls do
        placed = placed + 1
        local id = ARGV[7] .. '.' .. placed
        if limit > 0 then redis.call('ZADD', KEYS[1], now + inFlight, id) end
        result[#result + 1] = id
      end
      redis.call('ZREM', KEYS[2], ticket)
      redis.call('HDEL', KEYS[3], ticket)
    else
      -- An older claim of another instance fits: its place is kept for it.
      waiting = waiting + calls
      othersAhead = true
    end
  else
    stopped = true
    waiting = waiting + calls
    if mine[ticket] then mineWaiting = true end
  end
end
if blocked then
  result[1], result[2] = 1, blockedUntil - offset
elseif mineWaiting then
  -- Ask again within a window at the latest: a claim keeps its place in line by being asked for.
  local retryAt = now + windowMs
  local answered = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
  if answered[2] then retryAt = math.min(retryAt, tonumber(answered[2]) + windowMs) end
  local poll_soon = othersAhead
  if not poll_soon then
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
      if string.sub(id, 1, #ARGV[8]) ~= ARGV[8] then
        poll_soon = true
        break
      end
    end
  end
  if poll_soon then retryAt = math.min(retryAt, now + poll) end
  result[5], result[6] = 1, retryAt - offset
end
result[3], result[4] = redis.call('ZCARD', KEYS[1]), waiting
if limit > 0 then redis.call('PEXPIRE', KEYS[1], inFlight + 2 * windowMs) end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[2], 2 * lease)
  redis.call('PEXPIRE', KEYS[3], 2 * lease)
end
return result
`;

/**
 * KEYS: window, line, claims, block. ARGV: now, limit, windowMs, inFlightMs, leaseMs, place prefix, calls. Answers the place ids, or
 * nil.
 */
const ACQUIRE_IDLE = `${CLOCK}${CLAIMS}
local limit, windowMs, inFlight = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lease, calls = tonumber(ARGV[5]), tonumber(ARGV[7])
if tonumber(redis.call('GET', KEYS[4]) or '0') > now then return false end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
for _, ticket in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if liveClaim(ticket, lease) then return false end
end
if redis.call('ZCARD', KEYS[1]) + calls > limit - 1 then return false end
local ids = {}
for k = 1, calls do
  ids[k] = ARGV[6] .. '.' .. k
  redis.call('ZADD', KEYS[1], now + inFlight, ids[k])
end
redis.call('PEXPIRE', KEYS[1], inFlight + 2 * windowMs)
return ids
`;

/** KEYS: window. ARGV: now, windowMs, answered at, place ids. */
const RELEASE = `${CLOCK}
local windowMs, at = tonumber(ARGV[2]), tonumber(ARGV[3]) + offset
for i = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    if at <= now - windowMs then redis.call('ZREM', KEYS[1], ARGV[i]) else redis.call('ZADD', KEYS[1], 'XX', at, ARGV[i]) end
  end
end
return 0
`;

/** KEYS: block. ARGV: now, until. Keeps the later of two blocks. */
const BLOCK = `${CLOCK}
local untilAt = tonumber(ARGV[2]) + offset
if untilAt > now and untilAt > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', untilAt), 'PX', math.ceil(untilAt - now))
end
return 0
`;

/** KEYS: window, line, claims, block. ARGV: now, windowMs, leaseMs. Answers { blocked, blockedUntil, busy, waitingCalls }. */
const STATUS = `${CLOCK}${CLAIMS}
local windowMs, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
local waiting = 0
for _, ticket in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  waiting = waiting + (liveClaim(ticket, lease) or 0)
end
local blockedUntil = tonumber(redis.call('GET', KEYS[4]) or '0')
if blockedUntil > now then return {1, blockedUntil - offset, redis.call('ZCARD', KEYS[1]), waiting} end
return {0, 0, redis.call('ZCARD', KEYS[1]), waiting}
`;

const asNumber = (value: unknown): number => Number(value);

/** The budget a fleet shares through Redis; each instance's own share of it while Redis is away. */
export class RedisCallBudget implements CallBudget {
  readonly callsPerSecond: number;
  readonly limit: number;
  readonly windowMs: number;
  readonly #connection: RedisConnection;
  readonly #pollMs: number;
  readonly #maxInFlightMs: number;
  /** How long a waiting claim keeps its place without being asked for: its instance asks at least once a window. */
  readonly #leaseMs: number;
  /** This instance's places in Redis start with it; the local budget's never do. */
  readonly #placePrefix: string;
  /** Starts every key of this budget: budgets in different key spaces never share places, lines or blocks. */
  readonly #keySpace: string;
  #nextGrant = 0;
  /** The budget used while Redis is unreachable. */
  #local: MemoryCallBudget;
  /** Throttle blocks met while Redis was unreachable: the fleet learns them on rejoin. */
  /** The blocks this instance knows of: its own, and the fleet's as Redis last reported them (published again on rejoining). */
  readonly #blocks = new PageBlocks();
  /**
   * Epoch ms before which this instance grants nothing, after it lost or regained Redis: the calls made on
   * the other side of the change (the fleet's, or its own alone) are not counted on this side, and may
   * still be in Graph's window for up to a window.
   */
  #quietUntil = 0;

  constructor(connection: RedisConnection, options: RedisCallBudgetOptions) {
    this.#connection = connection;
    this.callsPerSecond = options.callsPerSecond;
    ({ limit: this.limit, windowMs: this.windowMs } = rateWindow(options.callsPerSecond));
    this.#pollMs = options.pollMs ?? 50;
    this.#maxInFlightMs = options.maxInFlightMs ?? MAX_IN_FLIGHT_MS;
    this.#leaseMs = options.claimLeaseMs ?? 2 * this.windowMs + 2_000;
    this.#placePrefix = `${connection.instanceId}:`;
    this.#keySpace = options.keySpace ?? 'budget';
    if (!/^[A-Za-z0-9-]+$/.test(this.#keySpace))
      throw new TypeError(`RedisCallBudget: keySpace must be letters, digits and '-', got ${JSON.stringify(this.#keySpace)}`);
    this.#local = this.#localShare();
    connection.onChange((link) => {
      if (link === 'degraded') this.#local = this.#localShare();
      this.#quietUntil = Date.now() + this.windowMs;
    });
    connection.onRejoin(async (redis) => {
      const now = Date.now();
      // Blocks met while away reach the fleet (a block Redis already holds is only confirmed: it keeps the later end).
      for (const [page, until] of this.#blocks.entries()) {
        if (until > now) await runScript(redis, BLOCK, [this.#key(page, 'block')], [now, until]);
      }
    });
  }

  /**
   * The share of one instance while Redis is unreachable: the rate divided by the instances live when last heard of
   * (before this instance ever heard of them: by the fleet size hint).
   */
  get localCallsPerSecond(): number {
    return this.#local.callsPerSecond;
  }

  async acquire(page: string, claims: readonly BudgetClaim[], now: number): Promise<BudgetGrant> {
    const known = this.blockedUntil(page, now);
    if (known !== undefined || (now < this.#quietUntil && this.limit !== 0)) {
      const waitingCalls = claims.reduce((sum, claim) => sum + claim.calls, 0);
      return { granted: new Map(), retryAt: known ?? this.#quietUntil, blockedUntil: known, busy: this.limit, waitingCalls };
    }
    const args: (string | number)[] = [
      now,
      this.limit,
      this.windowMs,
      this.#maxInFlightMs,
      this.#leaseMs,
      this.#pollMs,
      `${this.#placePrefix}${this.#nextGrant++}`,
      this.#placePrefix,
    ];
    for (const claim of claims)
      args.push(claim.ticket, claim.calls, Math.round(claim.queuedAt), Math.round(Math.min(claim.deadline, now + MAX_CLAIM_MS)));
    const answer = await this.#connection.run((redis) => runScript(redis, ACQUIRE, this.#keys(page), args));
    if (answer === UNREACHABLE || !Array.isArray(answer)) return this.#local.acquire(page, claims, now);
    const [blocked, blockedUntil, busy, waitingCalls, hasRetry, retryAt] = answer.slice(0, 6).map(asNumber);
    if (blocked === 1 && blockedUntil !== undefined) this.#blocks.block(page, blockedUntil);
    const granted = new Map<string, string[]>();
    for (let i = 6; i < answer.length; ) {
      const ticket = String(answer[i]);
      const calls = asNumber(answer[i + 1]);
      granted.set(ticket, answer.slice(i + 2, i + 2 + calls).map(String));
      i += 2 + calls;
    }
    return {
      granted,
      retryAt: hasRetry === 1 ? retryAt : undefined,
      blockedUntil: blocked === 1 ? blockedUntil : undefined,
      busy: busy ?? 0,
      waitingCalls: waitingCalls ?? 0,
    };
  }

  async acquireIdle(page: string, calls: number, now: number): Promise<readonly string[] | undefined> {
    if (this.blockedUntil(page, now) !== undefined) return undefined;
    if (this.limit === 0) return this.#local.acquireIdle(page, calls, now);
    if (now < this.#quietUntil) return undefined;
    const args = [now, this.limit, this.windowMs, this.#maxInFlightMs, this.#leaseMs, `${this.#placePrefix}${this.#nextGrant++}`, calls];
    const answer = await this.#connection.run((redis) => runScript(redis, ACQUIRE_IDLE, this.#keys(page), args));
    if (answer === UNREACHABLE) return this.#local.acquireIdle(page, calls, now);
    return Array.isArray(answer) ? answer.map(String) : undefined;
  }

  async release(page: string, places: readonly string[], at: number): Promise<void> {
    const shared = places.filter((place) => place.startsWith(this.#placePrefix));
    const local = places.filter((place) => !place.startsWith(this.#placePrefix));
    if (local.length > 0) await this.#local.release(page, local, at);
    // Unreachable: the places leave by themselves, MAX_IN_FLIGHT_MS after their grant.
    if (shared.length > 0 && this.limit !== 0)
      await this.#connection.run((redis) =>
        runScript(redis, RELEASE, [this.#key(page, 'window')], [Date.now(), this.windowMs, at, ...shared]),
      );
  }

  async withdraw(page: string, tickets: readonly string[]): Promise<void> {
    if (tickets.length === 0) return;
    await this.#connection.run((redis) =>
      redis
        .multi()
        .zrem(this.#key(page, 'line'), ...tickets)
        .hdel(this.#key(page, 'claims'), ...tickets)
        .exec(),
    );
  }

  async block(page: string, until: number): Promise<void> {
    // Known here at once; Redis tells the fleet (or, while it is away, the rejoin does).
    this.#blocks.block(page, until);
    await this.#connection.run((redis) => runScript(redis, BLOCK, [this.#key(page, 'block')], [Date.now(), until]));
  }

  blockedUntil(page: string, now: number): number | undefined {
    return this.#blocks.until(page, now);
  }

  async status(page: string, now: number): Promise<BudgetStatus> {
    const answer = await this.#connection.run((redis) => runScript(redis, STATUS, this.#keys(page), [now, this.windowMs, this.#leaseMs]));
    if (answer === UNREACHABLE || !Array.isArray(answer))
      return { ...(await this.#local.status(page, now)), blockedUntil: this.blockedUntil(page, now) };
    const [blocked, blockedUntil, busy, waitingCalls] = answer.map(asNumber);
    if (blocked === 1 && blockedUntil !== undefined) this.#blocks.block(page, blockedUntil);
    return { busy: busy ?? 0, waitingCalls: waitingCalls ?? 0, blockedUntil: blocked === 1 ? blockedUntil : undefined };
  }

  #localShare(): MemoryCallBudget {
    return new MemoryCallBudget(this.callsPerSecond / this.#connection.assumedInstances);
  }

  #key(page: string, part: 'window' | 'line' | 'claims' | 'block'): string {
    return this.#connection.key(`${this.#keySpace}:${page}:${part}`);
  }

  #keys(page: string): string[] {
    return [this.#key(page, 'window'), this.#key(page, 'line'), this.#key(page, 'claims'), this.#key(page, 'block')];
  }
}
