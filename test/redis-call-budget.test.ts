/**
 * The call budget a fleet shares through real Redis: several instances (each its own connection and
 * budget) on one Page never exceed the rate together, serve the oldest claim of any instance first,
 * and free the places of an instance that died mid-call. What every budget does (windows, blocks,
 * fractions, no limit) is the contract in test/shared-state-contracts.test.ts.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../src/config.js';
import { DEMO, startEmulator, type Emulator } from '../src/emulator/index.js';
import type { BudgetClaim, CallBudget } from '../src/graph-api/call-budget.js';
import { MemoryCallBudget } from '../src/graph-api/call-budget.js';
import { GraphApiClient } from '../src/graph-api/client.js';
import { GraphRateLimitError } from '../src/graph-api/errors.js';
import { GraphScheduler } from '../src/graph-api/scheduler.js';
import { RedisCallBudget } from '../src/redis/call-budget.js';
import { RedisConnection } from '../src/redis/connection.js';
import { deleteKeys, keysUnder, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';

const PREFIX = testPrefix('redis-call-budget');
const connections: RedisConnection[] = [];

/** One instance's link to the test's Redis, shared once it answers. */
async function instance(): Promise<RedisConnection> {
  const connection = new RedisConnection({ url: TEST_REDIS_URL, keyPrefix: PREFIX, logger: recordingLogger() });
  connections.push(connection);
  expect(await connection.settled(5_000)).toBe('shared');
  return connection;
}

const claim = (ticket: string, queuedAt: number, calls = 1): BudgetClaim => ({ ticket, calls, queuedAt, deadline: queuedAt + 60_000 });
/** A Page of its own per test, so tests never see each other's places. */
let pageNumber = 0;
const newPage = (): string => `9${String(++pageNumber).padStart(9, '0')}`;

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
});
afterAll(async () => {
  await deleteKeys(TEST_REDIS_URL, PREFIX);
});

describe('RedisCallBudget: the window', () => {
  it('grants the places of a window once across instances, and frees each a window after its answer', async () => {
    const [a, b] = [
      new RedisCallBudget(await instance(), { callsPerSecond: 2 }),
      new RedisCallBudget(await instance(), { callsPerSecond: 2 }),
    ];
    const page = newPage();
    const now = Date.now();
    const first = await a.acquire(page, [claim('a.1', now)], now);
    expect([...first.granted.keys()]).toEqual(['a.1']);
    expect(first).toMatchObject({ busy: 1, waitingCalls: 0, retryAt: undefined, blockedUntil: undefined });
    const second = await b.acquire(page, [claim('b.1', now + 1), claim('b.2', now + 2)], now);
    // One place was left: the older of B's claims takes it, the other waits.
    expect([...second.granted.keys()]).toEqual(['b.1']);
    expect(second).toMatchObject({ busy: 2, waitingCalls: 1 });
    // A's place is in flight and its release is not announced to B: B asks again soon.
    expect(second.retryAt! - now).toBeLessThanOrEqual(100);
    expect(await a.status(page, now)).toEqual({ busy: 2, waitingCalls: 1, blockedUntil: undefined });

    // Answered now: each place leaves a window (1 s) after its answer.
    const answeredAt = Date.now();
    await a.release(page, first.granted.get('a.1')!, answeredAt);
    await b.release(page, second.granted.get('b.1')!, answeredAt);
    const stillFull = await b.acquire(page, [claim('b.2', now + 2)], Date.now());
    expect(stillFull.granted.size).toBe(0);
    expect(Math.abs(stillFull.retryAt! - (answeredAt + 1_000))).toBeLessThanOrEqual(5);
    // A place given back unused (its readers left before it was sent) leaves at once.
    await a.release(page, first.granted.get('a.1')!, 0);
    expect([...(await b.acquire(page, [claim('b.2', now + 2)], Date.now())).granted.keys()]).toEqual(['b.2']);
  });

  it('never lets three instances exceed the rate on one Page in any window', async () => {
    const budgets = [await instance(), await instance(), await instance()].map(
      (connection) => new RedisCallBudget(connection, { callsPerSecond: 2 }),
    );
    const page = newPage();
    // Each instance keeps asking for its own claims, as a scheduler does, and holds each call 20 ms.
    const calls: Array<{ sent: number; answered: number }> = [];
    const run = async (budget: RedisCallBudget, name: string): Promise<void> => {
      const line = Array.from({ length: 2 }, (_, i) => claim(`${name}.${i}`, Date.now() + i));
      while (line.length > 0) {
        const grant = await budget.acquire(page, line, Date.now());
        for (const [ticket, places] of grant.granted) {
          line.splice(
            line.findIndex((waiting) => waiting.ticket === ticket),
            1,
          );
          const sent = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 20));
          const answered = Date.now();
          calls.push({ sent, answered });
          await budget.release(page, places, answered);
        }
        if (line.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(1, (grant.retryAt ?? Date.now()) - Date.now())));
      }
    };
    const started = Date.now();
    await Promise.all(budgets.map((budget, i) => run(budget, `i${i}`)));
    expect(calls).toHaveLength(6);
    // A call holds its place from sending until a second after its answer: never more than 2 at once.
    for (const { sent } of calls) {
      expect(calls.filter((other) => other.sent <= sent && sent < other.answered + 1_000).length).toBeLessThanOrEqual(2);
    }
    // 6 calls at 2 per window: the last pair cannot leave before 2 windows have passed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  });
});

describe('RedisCallBudget: the line', () => {
  it('serves the oldest claim of any instance first', async () => {
    const [a, b] = [
      new RedisCallBudget(await instance(), { callsPerSecond: 2 }),
      new RedisCallBudget(await instance(), { callsPerSecond: 2 }),
    ];
    const page = newPage();
    const now = Date.now();
    const full = await a.acquire(page, [claim('a.1', now), claim('a.2', now + 1)], now);
    expect(full.busy).toBe(2);
    // B's claim joins the line first; A's newer claim (2 calls) comes after it.
    expect((await b.acquire(page, [claim('b.old', now + 10)], now)).granted.size).toBe(0);
    const newer = await a.acquire(page, [claim('a.new', now + 20, 2)], now);
    expect(newer).toMatchObject({ busy: 2, waitingCalls: 3 });
    expect(newer.granted.size).toBe(0);

    // The window frees: B's older claim fits and is kept for it, so A's newer one (which would fit alone) waits.
    await a.release(page, [...full.granted.values()].flat(), 0);
    const behind = await a.acquire(page, [claim('a.new', now + 20, 2)], Date.now());
    expect(behind).toMatchObject({ busy: 0, waitingCalls: 3 });
    expect(behind.granted.size).toBe(0);
    expect(behind.retryAt! - Date.now()).toBeLessThanOrEqual(100);
    const served = await b.acquire(page, [claim('b.old', now + 10)], Date.now());
    expect([...served.granted.keys()]).toEqual(['b.old']);
    expect(served).toMatchObject({ busy: 1, waitingCalls: 2 });
    // A withdrawn claim leaves the line for every instance.
    await a.withdraw(page, ['a.new']);
    expect(await b.status(page, Date.now())).toMatchObject({ busy: 1, waitingCalls: 0 });
  });

  it('drops claims past their deadline, and claims no instance asks for any more', async () => {
    const connection = await instance();
    const a = new RedisCallBudget(connection, { callsPerSecond: 1, claimLeaseMs: 300 });
    const b = new RedisCallBudget(await instance(), { callsPerSecond: 1, claimLeaseMs: 300 });
    const page = newPage();
    const now = Date.now();
    const held = await a.acquire(page, [claim('a.1', now)], now);
    // A deadline that passes before the leases lapse (350 ms below), with room for a slow machine before `status`.
    await a.acquire(page, [{ ticket: 'a.late', calls: 1, queuedAt: now, deadline: now + 250 }, claim('a.dies', now + 1)], now);
    expect(await b.status(page, Date.now())).toMatchObject({ busy: 1, waitingCalls: 2 });
    await a.release(page, held.granted.get('a.1')!, 0);
    // A dies: its claims stop being asked for. B's newer claim goes once they are void.
    await new Promise((resolve) => setTimeout(resolve, 350));
    const granted = await b.acquire(page, [claim('b.1', now + 2)], Date.now());
    expect([...granted.granted.keys()]).toEqual(['b.1']);
    expect(granted.waitingCalls).toBe(0);
  });

  it('gives background reads only an idle window: no claim waiting, and a place left after them', async () => {
    const [a, b] = [
      new RedisCallBudget(await instance(), { callsPerSecond: 2 }),
      new RedisCallBudget(await instance(), { callsPerSecond: 2 }),
    ];
    const page = newPage();
    const now = Date.now();
    const idle = await a.acquireIdle(page, 1, now);
    expect(idle).toHaveLength(1);
    // One place left: a background read would take the last one.
    expect(await b.acquireIdle(page, 1, now)).toBeUndefined();
    await a.release(page, idle!, 0);
    // A client's claim waiting anywhere in the fleet keeps background reads out.
    await b.acquire(page, [claim('b.1', now, 2), claim('b.2', now + 1)], now);
    expect(await a.acquireIdle(newPage(), 1, now)).toHaveLength(1);
    expect(await a.acquireIdle(page, 1, now)).toBeUndefined();
  });
});

describe('RedisCallBudget: dead instances', () => {
  it('frees the places of an instance that died mid-call after the in-flight bound', async () => {
    const dying = await instance();
    const a = new RedisCallBudget(dying, { callsPerSecond: 2, maxInFlightMs: 400 });
    const b = new RedisCallBudget(await instance(), { callsPerSecond: 2, maxInFlightMs: 400 });
    const page = newPage();
    const now = Date.now();
    expect((await a.acquire(page, [claim('a.1', now), claim('a.2', now + 1)], now)).busy).toBe(2);
    await dying.close();
    // Never released: the places count until the bound, then a window more.
    const waiting = await b.acquire(page, [claim('b.1', now + 2)], Date.now());
    expect(waiting.granted.size).toBe(0);
    let granted = 0;
    while (granted === 0) {
      const grant = await b.acquire(page, [claim('b.1', now + 2)], Date.now());
      granted = grant.granted.size;
      if (granted === 0) await new Promise((resolve) => setTimeout(resolve, Math.max(1, grant.retryAt! - Date.now())));
    }
    expect(Date.now() - now).toBeGreaterThanOrEqual(1_400);
    expect(Date.now() - now).toBeLessThan(2_500);
  });
});

describe('three gateways on one Page, against a Graph API enforcing 2 calls per second', () => {
  let emulator: Emulator | undefined;
  afterEach(async () => {
    await emulator?.close();
  });

  /** Six distinct reads of one Page, two from each gateway at once; answers, and Graph's arrival times. */
  async function sixReads(budgets: CallBudget[]): Promise<{ answers: unknown[]; arrivals: number[] }> {
    emulator = await startEmulator({ conversationRateLimit: { callsPerSecond: 2 } });
    const clients = budgets.map(
      () => new GraphApiClient({ baseUrl: emulator!.url, version: 'v25.0', transport: { pool: DEFAULT_CONFIG.upstream } }),
    );
    try {
      const schedulers = budgets.map(
        (budget, i) => new GraphScheduler({ ...DEFAULT_CONFIG, transport: clients[i]!, budget, retryBaseDelayMs: 5 }),
      );
      const page = DEMO.pages.acme.id;
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          schedulers[i % 3]!.readMany(
            [
              {
                request: { path: `${page}/conversations`, params: { limit: String(i + 1) } },
                token: DEMO.tokens.acmePage,
                budgetKey: page,
              },
            ],
            { usage: { requests: 0, calls: 0, coalesced: 0, cached: 0 }, deadline: Date.now() + 15_000 },
          ),
        ),
      );
      // A batch's items are calls of their own, arriving with it.
      const arrivals = emulator.log.entries.flatMap((entry) => (entry.items ?? [entry]).map(() => entry.at)).sort((x, y) => x - y);
      return { answers: answers.flat(), arrivals };
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  }

  it('with one budget in Redis: no call throttled, never more than 2 in any second', async () => {
    const budgets = [await instance(), await instance(), await instance()].map(
      (connection) => new RedisCallBudget(connection, { callsPerSecond: 2 }),
    );
    const { answers, arrivals } = await sixReads(budgets);
    expect(answers.filter((answer) => answer instanceof Error)).toEqual([]);
    expect(arrivals).toHaveLength(6);
    for (const [i, at] of arrivals.entries()) expect(arrivals.slice(i).filter((later) => later < at + 1_000).length).toBeLessThanOrEqual(2);
  });

  it('each counting alone (the budget of one process): Graph throttles the Page', async () => {
    const { answers } = await sixReads([new MemoryCallBudget(2), new MemoryCallBudget(2), new MemoryCallBudget(2)]);
    expect(answers.filter((answer) => answer instanceof GraphRateLimitError).length).toBeGreaterThan(0);
  });
});

describe('RedisCallBudget: key spaces', () => {
  it('counts two budgets of one connection apart (reads and sends): neither takes the other’s places, lines or blocks', async () => {
    const [here, there] = [await instance(), await instance()];
    const reads = new RedisCallBudget(here, { callsPerSecond: 1 });
    const sends = new RedisCallBudget(here, { callsPerSecond: 1, keySpace: 'send-budget' });
    const page = newPage();
    const now = Date.now();
    expect([...(await reads.acquire(page, [claim('read.1', now)], now)).granted.keys()]).toEqual(['read.1']);
    expect((await reads.acquire(page, [claim('read.2', now + 1)], now)).granted.size).toBe(0);
    // The read window is full and a read waits in line: a send still has its own place.
    const sent = await sends.acquire(page, [claim('send.1', now)], now);
    expect([...sent.granted.keys()]).toEqual(['send.1']);
    expect(sent).toMatchObject({ busy: 1, waitingCalls: 0 });

    // A throttle of one budget, seen by another instance, blocks that budget only.
    await reads.block(page, Date.now() + 60_000);
    const [readsThere, sendsThere] = [
      new RedisCallBudget(there, { callsPerSecond: 1 }),
      new RedisCallBudget(there, { callsPerSecond: 1, keySpace: 'send-budget' }),
    ];
    expect((await readsThere.status(page, Date.now())).blockedUntil).toBeDefined();
    expect(await sendsThere.status(page, Date.now())).toEqual({ busy: 1, waitingCalls: 0, blockedUntil: undefined });

    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = (await keysUnder(redis, PREFIX)).filter((key) => key.includes(page));
      expect(keys).toEqual([
        `${PREFIX}budget:${page}:block`,
        `${PREFIX}budget:${page}:claims`,
        `${PREFIX}budget:${page}:line`,
        `${PREFIX}budget:${page}:window`,
        `${PREFIX}send-budget:${page}:window`,
      ]);
    } finally {
      redis.disconnect();
    }
  });

  it('takes a key space of letters, digits and dashes only', async () => {
    const connection = await instance();
    expect(() => new RedisCallBudget(connection, { callsPerSecond: 1, keySpace: 'send:budget' })).toThrow(
      `RedisCallBudget: keySpace must be letters, digits and '-', got "send:budget"`,
    );
  });
});
