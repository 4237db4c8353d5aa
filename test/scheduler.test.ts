/**
 * The scheduler's rules, against a fake client and a fake clock: per-Page call rate, coalescing of
 * queued and in-flight reads, throttle blocks, retries, and reads nobody waits for any more.
 */
import { DEFAULT_CONFIG } from '../src/config.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GraphRead, GraphTransport, HeaderLookup, UpstreamUsage } from '../src/graph-api/read.js';
import { GraphApiError, GraphRateLimitError, GraphTransportError, OperationAbortedError } from '../src/graph-api/errors.js';
import { MemoryCallBudget } from '../src/graph-api/call-budget.js';
import { GraphScheduler, type GraphSchedulerOptions } from '../src/graph-api/scheduler.js';

type Answer = (read: GraphRead, attempt: number) => { body: unknown; headers?: Record<string, string> };

/** Records every send (one entry per HTTP request) and answers from `answer`. */
function fakeClient(answer: Answer = (read) => ({ body: { path: read.request.path } })) {
  const sends: string[][] = [];
  const attempts = new Map<string, number>();
  const keyOf = (read: GraphRead) => `${read.token} ${read.request.path}`;
  const client: GraphTransport = {
    keyOf,
    async readMany(reads: readonly GraphRead[], usage?: UpstreamUsage, onHeaders?: (read: GraphRead, header: HeaderLookup) => void) {
      sends.push(reads.map(keyOf));
      if (usage) {
        usage.requests += 1;
        usage.calls += reads.length;
      }
      return reads.map((read) => {
        const attempt = (attempts.get(keyOf(read)) ?? 0) + 1;
        attempts.set(keyOf(read), attempt);
        const { body, headers = {} } = answer(read, attempt);
        onHeaders?.(read, (name) => headers[name]);
        return body;
      });
    },
  };
  return { client, sends };
}

const usage = (): UpstreamUsage => ({ requests: 0, calls: 0, coalesced: 0, cached: 0 });
const read = (path: string, page = 'P', token = 'T'): GraphRead => ({ request: { path, params: {} }, token, budgetKey: page });

let scheduler: GraphScheduler;
const make = (
  transport: GraphTransport,
  {
    pageCallsPerSecond = DEFAULT_CONFIG.pageCallsPerSecond,
    ...options
  }: Partial<GraphSchedulerOptions> & { pageCallsPerSecond?: number } = {},
) =>
  (scheduler = new GraphScheduler({
    ...DEFAULT_CONFIG,
    transport,
    budget: new MemoryCallBudget(pageCallsPerSecond),
    retryBaseDelayMs: 100,
    random: () => 1,
    ...options,
  }));

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-22T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('per-Page call rate', () => {
  it('sends at most 2 calls per Page in any second; the rest wait for the window', async () => {
    const { client, sends } = fakeClient();
    make(client);
    const answers = scheduler.readMany([read('a'), read('b'), read('c')], { usage: usage() });
    await vi.advanceTimersByTimeAsync(0);
    expect(sends).toEqual([['T a', 'T b']]);
    // A call holds its place until a second after its answer.
    await vi.advanceTimersByTimeAsync(999);
    expect(sends).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sends).toEqual([['T a', 'T b'], ['T c']]);
    expect(await answers).toEqual([{ path: 'a' }, { path: 'b' }, { path: 'c' }]);
  });

  it('shares a queued read with every identical read asked for while it waits', async () => {
    const { client, sends } = fakeClient();
    make(client);
    const first = usage();
    void scheduler.readMany([read('a'), read('b')], { usage: first });
    await vi.advanceTimersByTimeAsync(0);
    const later = [usage(), usage(), usage()];
    const waiting = later.map((u) => scheduler.readMany([read('c')], { usage: u }));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await Promise.all(waiting)).toEqual([[{ path: 'c' }], [{ path: 'c' }], [{ path: 'c' }]]);
    expect(sends).toEqual([['T a', 'T b'], ['T c']]);
    expect(later.map((u) => u.coalesced)).toEqual([0, 1, 1]);
  });

  it('refuses at once, with a retry-after, a read that could not leave before its deadline', async () => {
    const { client, sends } = fakeClient();
    make(client);
    const deadline = Date.now() + 1_500;
    const answers = scheduler.readMany([read('a'), read('b'), read('c'), read('d'), read('e')], { usage: usage(), deadline });
    await vi.advanceTimersByTimeAsync(0);
    const [a, b, c, d, e] = await Promise.race([answers, vi.advanceTimersByTimeAsync(1_100).then(() => answers)]);
    expect([a, b, c, d]).toEqual([{ path: 'a' }, { path: 'b' }, { path: 'c' }, { path: 'd' }]);
    // Two calls a second: `e` would leave in its third window, after the deadline.
    expect(e).toMatchObject({ name: 'GraphRateLimitError', retryAfterSeconds: 2 });
    expect(sends).toEqual([
      ['T a', 'T b'],
      ['T c', 'T d'],
    ]);
  });

  it("takes a fractional rate (one instance's share) as one call per 1/rate seconds", async () => {
    const { client, sends } = fakeClient();
    // Four instances sharing a Page's 2 calls per second: 0.5 each, one call every 2 s.
    make(client, { pageCallsPerSecond: 0.5 });
    const deadline = Date.now() + 5_000;
    const answers = scheduler.readMany([read('a'), read('b'), read('c'), read('d')], { usage: usage(), deadline });
    await vi.advanceTimersByTimeAsync(0);
    expect(sends).toEqual([['T a']]);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(sends).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sends).toEqual([['T a'], ['T b']]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sends).toEqual([['T a'], ['T b'], ['T c']]);
    // `d` would leave in the fourth 2-second window, after the 5-second deadline: refused up front.
    expect((await answers)[3]).toMatchObject({ name: 'GraphRateLimitError', retryAfterSeconds: 6 });
    expect(sends).toHaveLength(3);
  });

  it('counts each Page apart, and does not limit reads outside a Page budget', async () => {
    const { client, sends } = fakeClient();
    make(client);
    void scheduler.readMany([read('a', 'P'), read('b', 'P'), read('c', 'Q'), { request: { path: 'me', params: {} }, token: 'T' }], {
      usage: usage(),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(sends).toEqual([['T a', 'T b', 'T c', 'T me']]);
  });

  it('sends the reads of different callers apart, so one caller’s token never fails another’s reads', async () => {
    const { client, sends } = fakeClient();
    make(client, { pageCallsPerSecond: 0 });
    void scheduler.readMany([{ ...read('a', 'P', 'T1'), caller: 'one' }], { usage: usage() });
    void scheduler.readMany([{ ...read('b', 'P', 'T2'), caller: 'two' }], { usage: usage() });
    await vi.advanceTimersByTimeAsync(0);
    expect(sends).toEqual([['T1 a'], ['T2 b']]);
  });
});

describe('throttling', () => {
  const throttled =
    (code: number, regainMinutes?: number): Answer =>
    () => ({
      body: new GraphApiError(400, { code, message: `(#${code}) Too many calls`, is_transient: true }),
      headers:
        regainMinutes === undefined
          ? {}
          : {
              'x-business-use-case-usage': JSON.stringify({
                P: [{ type: 'pages', call_count: 105, total_time: 10, total_cputime: 10, estimated_time_to_regain_access: regainMinutes }],
              }),
            },
    });

  it('answers a throttle with a retry-after from estimated_time_to_regain_access, and never calls the Page until then', async () => {
    let throttle = true;
    const { client, sends } = fakeClient((r, attempt) => (throttle ? throttled(80006, 2)(r, attempt) : { body: { ok: true } }));
    make(client);
    const [answer] = await Promise.all([scheduler.readMany([read('a')], { usage: usage() }), vi.advanceTimersByTimeAsync(0)]);
    expect(answer[0]).toBeInstanceOf(GraphRateLimitError);
    expect((answer[0] as GraphRateLimitError).retryAfterSeconds).toBe(120);
    expect((answer[0] as GraphRateLimitError).graphError?.code).toBe(80006);

    throttle = false;
    const [during] = await Promise.all([scheduler.readMany([read('b')], { usage: usage() }), vi.advanceTimersByTimeAsync(60_000)]);
    expect(during[0]).toMatchObject({ name: 'GraphRateLimitError', retryAfterSeconds: 120 });
    expect(sends).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(60_000);
    const [after] = await Promise.all([scheduler.readMany([read('b')], { usage: usage() }), vi.advanceTimersByTimeAsync(0)]);
    expect(after).toEqual([{ ok: true }]);
    expect(sends).toHaveLength(2);
  });

  it('takes the time to regain access from the throttled answer only, never from an earlier one', async () => {
    // Meta states `estimated_time_to_regain_access` on a throttled answer; a later throttle that states none is blocked for
    // the configured time, not for the earlier answer's estimate.
    let next: Answer = throttled(80006, 2);
    const { client } = fakeClient((r, attempt) => next(r, attempt));
    make(client, { throttleBlockMs: 30_000 });
    const [first] = await Promise.all([scheduler.readMany([read('a')], { usage: usage() }), vi.advanceTimersByTimeAsync(0)]);
    expect(first[0]).toMatchObject({ name: 'GraphRateLimitError', retryAfterSeconds: 120 });
    await vi.advanceTimersByTimeAsync(120_000);
    next = throttled(613);
    const [second] = await Promise.all([scheduler.readMany([read('b')], { usage: usage() }), vi.advanceTimersByTimeAsync(0)]);
    expect(second[0]).toMatchObject({ name: 'GraphRateLimitError', retryAfterSeconds: 30 });
  });

  it('blocks for as long as a short block stated in fractions of a minute (the emulator in tests)', async () => {
    const { client } = fakeClient(throttled(613, 0.025));
    make(client);
    const [answer] = await Promise.all([scheduler.readMany([read('a')], { usage: usage() }), vi.advanceTimersByTimeAsync(0)]);
    expect(answer[0]).toMatchObject({ name: 'GraphRateLimitError', retryAfterSeconds: 2 }); // 1.5 s, rounded up
  });

  it('blocks for the configured time when Graph gives no estimate, and fails the Page’s queued reads', async () => {
    const { client, sends } = fakeClient(throttled(613));
    make(client, { throttleBlockMs: 30_000 });
    const answers = scheduler.readMany([read('a'), read('b'), read('c')], { usage: usage() });
    await vi.advanceTimersByTimeAsync(0);
    const [a, b, c] = await answers;
    for (const answer of [a, b, c]) expect(answer).toMatchObject({ name: 'GraphRateLimitError', retryAfterSeconds: 30 });
    // `c` waited for the window and was refused when the block began: it never left.
    expect(sends).toEqual([['T a', 'T b']]);
  });
});

describe('retries', () => {
  it('retries a transient failure with backoff, and answers with the success', async () => {
    const { client, sends } = fakeClient((_r, attempt) => ({
      body:
        attempt === 1
          ? new GraphApiError(500, { code: 2, message: 'Service temporarily unavailable', is_transient: true })
          : { ok: attempt },
    }));
    make(client, { pageCallsPerSecond: 0 });
    const answers = scheduler.readMany([read('a')], { usage: usage(), deadline: Date.now() + 10_000 });
    await vi.advanceTimersByTimeAsync(99);
    expect(sends).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await answers).toEqual([{ ok: 2 }]);
  });

  it('gives up after the configured attempts, with the last failure', async () => {
    const { client, sends } = fakeClient(() => ({ body: new GraphTransportError('connection', 'reset') }));
    make(client, { pageCallsPerSecond: 0, maxAttempts: 3 });
    const answers = scheduler.readMany([read('a')], { usage: usage(), deadline: Date.now() + 10_000 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await answers).toEqual([expect.any(GraphTransportError)]);
    expect(sends).toHaveLength(3);
  });

  it.each([
    ['invalid token', 190],
    ['permission', 200],
    ['permission (10)', 10],
    ['invalid parameter', 100],
  ])('never retries a %s error (%i)', async (_name, code) => {
    const { client, sends } = fakeClient(() => ({ body: new GraphApiError(400, { code, message: 'no', is_transient: false }) }));
    make(client, { pageCallsPerSecond: 0 });
    const answers = scheduler.readMany([read('a')], { usage: usage(), deadline: Date.now() + 10_000 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await answers)[0]).toMatchObject({ code });
    expect(sends).toHaveLength(1);
  });

  it('starts no retry that would end after the deadline', async () => {
    const { client, sends } = fakeClient(() => ({ body: new GraphApiError(503, { code: 1, message: 'unknown' }) }));
    make(client, { pageCallsPerSecond: 0, retryBaseDelayMs: 1_000 });
    const answers = scheduler.readMany([read('a')], { usage: usage(), deadline: Date.now() + 500 });
    await vi.advanceTimersByTimeAsync(0);
    expect((await answers)[0]).toMatchObject({ code: 1 });
    expect(sends).toHaveLength(1);
  });
});

describe('reads nobody waits for', () => {
  it('are dropped from the queue and never sent', async () => {
    const { client, sends } = fakeClient();
    make(client);
    void scheduler.readMany([read('a'), read('b')], { usage: usage() });
    const controller = new AbortController();
    const abandoned = scheduler.readMany([read('c')], { usage: usage(), signal: controller.signal });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    expect(await abandoned).toEqual([expect.any(OperationAbortedError)]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sends).toEqual([['T a', 'T b']]);
  });

  it('are still sent while another operation waits for them', async () => {
    const { client, sends } = fakeClient();
    make(client);
    void scheduler.readMany([read('a'), read('b')], { usage: usage() });
    const controller = new AbortController();
    void scheduler.readMany([read('c')], { usage: usage(), signal: controller.signal });
    const kept = scheduler.readMany([read('c')], { usage: usage() });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await kept).toEqual([{ path: 'c' }]);
    expect(sends).toEqual([['T a', 'T b'], ['T c']]);
  });
});

describe('reads of several cache generations', () => {
  /** The real client's identity: an identical read asked for under another generation is another call. */
  function generationalClient() {
    const fake = fakeClient();
    const keyOf = (read: GraphRead) => `${read.token} ${read.request.path}${read.generation === undefined ? '' : ` @${read.generation}`}`;
    const sends: string[][] = [];
    const client: GraphTransport = {
      keyOf,
      readMany: (reads, usage, onHeaders) => {
        sends.push(reads.map(keyOf));
        return fake.client.readMany(reads, usage, onHeaders);
      },
    };
    return { client, sends };
  }
  const at = (path: string, generation: string): GraphRead => ({ ...read(path), generation });

  it('a read still queued serves an identical read of a newer generation, and takes its generation', async () => {
    const { client, sends } = generationalClient();
    make(client);
    const first = scheduler.readMany([read('a'), read('b')], { usage: usage() });
    const older = scheduler.readMany([at('c', 'g1')], { usage: usage() });
    const newerUsage = usage();
    const newer = scheduler.readMany([at('c', 'g2')], { usage: newerUsage });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sends).toEqual([['T a', 'T b'], ['T c @g2']]);
    expect([await older, await newer]).toEqual([[{ path: 'c' }], [{ path: 'c' }]]);
    expect(newerUsage.coalesced).toBe(1);
    await first;
  });

  it('a read already sent does not: its answer may predate the event', async () => {
    const { client, sends } = generationalClient();
    make(client);
    const older = scheduler.readMany([at('c', 'g1')], { usage: usage() });
    await vi.advanceTimersByTimeAsync(0);
    const newer = scheduler.readMany([at('c', 'g2')], { usage: usage() });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sends).toEqual([['T c @g1'], ['T c @g2']]);
    await Promise.all([older, newer]);
  });
});
