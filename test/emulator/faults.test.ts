/** The emulator's faults, usage headers and Conversations API rate limit, seen on the wire. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { postForm, type GraphErrorEnvelope, type Json } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const BISTRO = DEMO.pages.bistro.id;
const TOKEN = DEMO.tokens.acmePage;
/** Meta's words for a Messenger BUC throttle (80006), as the emulator must send them. */
const MESSENGER_THROTTLE_MESSAGE =
  '(#80006) There have been too many messenger api calls to this Page account. Wait a bit and try again. For more info, please ' +
  'refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.';

interface BatchSlot {
  code: number;
  headers?: { name: string; value: string }[];
  body: string;
}
type UsageEntry = { type: string; call_count: number; total_cputime: number; total_time: number; estimated_time_to_regain_access?: number };

let emulator: Emulator;
const conversations = (token: string = TOKEN) => `${emulator.url}/v25.0/${ACME}/conversations?limit=2&access_token=${token}`;
const batchOn = (target: Emulator, items: readonly Json[], token: string = TOKEN) =>
  postForm<(BatchSlot | null)[]>(`${target.url}/v25.0/`, { access_token: token, batch: JSON.stringify(items) });
const errorOf = async (response: Response) => ((await response.json()) as GraphErrorEnvelope).error;
const businessUsage = (header: string | null | undefined): Record<string, UsageEntry[]> =>
  JSON.parse(header!) as Record<string, UsageEntry[]>;
const slotHeader = (slot: BatchSlot | null | undefined, name: string) =>
  slot?.headers?.find((header) => header.name.toLowerCase() === name)?.value;
const firstThread = () => emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' })[0]!;

beforeAll(async () => {
  emulator = await startEmulator({ privacyFiltering: false });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.log.clear());
afterEach(() => emulator.faults.clear());

describe('faults', () => {
  it('server-error: HTTP 500, code 2, is_transient by default; then the next call is answered', async () => {
    emulator.faults.inject({ kind: 'server-error' });
    const response = await fetch(conversations());
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: {
        message: 'An unexpected error has occurred. Please retry your request later.',
        type: 'OAuthException',
        code: 2,
        is_transient: true,
        fbtrace_id: expect.stringMatching(/^A[\w-]{10,}$/),
      },
    });
    expect(emulator.faults.applied).toBe(1);
    expect((await fetch(conversations())).status).toBe(200);
  });

  it('server-error: the given status and code 1', async () => {
    emulator.faults.inject({ kind: 'server-error', status: 503, code: 1 });
    const response = await fetch(conversations());
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toMatchObject({
      message: 'An unknown error has occurred.',
      type: 'OAuthException',
      code: 1,
      is_transient: true,
    });
  });

  it('throttle: HTTP 400, the code and its message, the BUC usage at 100% with the time to regain access', async () => {
    emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 3 });
    const response = await fetch(conversations());
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      type: 'OAuthException',
      code: 80006,
      is_transient: true,
      message: MESSENGER_THROTTLE_MESSAGE,
    });
    expect(businessUsage(response.headers.get('x-business-use-case-usage'))).toEqual({
      [ACME]: [{ type: 'messenger', call_count: 100, total_cputime: 100, total_time: 100, estimated_time_to_regain_access: 3 }],
    });
    // A BUC throttle is not the app's platform limit, and X-Page-Usage is not on Meta's current Rate Limiting page.
    expect(response.headers.get('x-app-usage')).toBeNull();
    expect(response.headers.get('x-page-usage')).toBeNull();
  });

  it.each([
    [4, '(#4) Application request limit reached', 'pages', true],
    [17, '(#17) User request limit reached', 'pages', true],
    [32, '(#32) Page request limit reached', 'pages', false],
    [613, '(#613) Calls to this api have exceeded the rate limit.', 'messenger', false],
    [80001, '(#80001) There have been too many calls to this Page account.', 'pages', false],
  ] as const)('throttle %i: its message, BUC type %s, 1 minute to regain by default, X-App-Usage: %s', async (code, message, type, app) => {
    emulator.faults.inject({ kind: 'throttle', code });
    const response = await fetch(conversations());
    const error = await errorOf(response);
    expect(error).toMatchObject({ code, is_transient: true });
    expect(error.message.startsWith(message)).toBe(true);
    expect(businessUsage(response.headers.get('x-business-use-case-usage'))[ACME]![0]).toMatchObject({
      type,
      estimated_time_to_regain_access: 1,
    });
    expect(response.headers.get('x-app-usage')).toBe(app ? JSON.stringify({ call_count: 100, total_cputime: 100, total_time: 100 }) : null);
  });

  it('expired-token: 190 / 463 with the real message and WWW-Authenticate', async () => {
    emulator.faults.inject({ kind: 'expired-token' });
    const response = await fetch(conversations());
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      type: 'OAuthException',
      code: 190,
      error_subcode: 463,
      message: expect.stringMatching(/^Error validating access token: Session has expired on /),
    });
    expect(response.headers.get('www-authenticate')).toMatch(/^OAuth "Facebook Platform" "invalid_token" "Error validating access token/);
  });

  it('reset: the socket closes without an answer; the call was still received', async () => {
    emulator.faults.inject({ kind: 'reset' });
    await expect(fetch(conversations())).rejects.toThrow();
    expect(emulator.log.entries.map((entry) => entry.pageId)).toEqual([ACME]);
    expect((await fetch(conversations())).status).toBe(200);
  });

  it('truncated-json: HTTP 200, a JSON content type, and the first half of the real body', async () => {
    const whole = await (await fetch(conversations())).text();
    emulator.faults.inject({ kind: 'truncated-json' });
    const response = await fetch(conversations());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(await response.text()).toBe(whole.slice(0, Math.floor(whole.length / 2)));
  });

  it('truncated-json: HTTP 200 even where the answer was an error', async () => {
    emulator.faults.inject({ kind: 'truncated-json' });
    const response = await fetch(conversations('not-a-token'));
    expect(response.status).toBe(200);
    await expect(response.json()).rejects.toThrow(SyntaxError);
  });

  it('latency: the answer comes after the delay, and other calls are answered meanwhile', async () => {
    emulator.faults.inject({ kind: 'latency', ms: 200 }, { match: { path: /conversations$/ } });
    const order: string[] = [];
    const started = performance.now();
    const slow = fetch(conversations()).then((response) => {
      order.push('slow');
      return [response.status, performance.now() - started];
    });
    const fast = await fetch(`${emulator.url}/v25.0/me?access_token=${TOKEN}`);
    order.push('fast');
    expect(fast.status).toBe(200);
    const [status, elapsed] = await slow;
    expect(status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(order).toEqual(['fast', 'slow']);
  });

  it('matches by path and token, for the given number of times', async () => {
    const other = DEMO.tokens.acmePageNoMessaging;
    emulator.faults.inject({ kind: 'server-error' }, { times: 2, match: { path: /^\d+\/conversations$/, token: other } });
    expect((await fetch(conversations())).status).toBe(200); // another token
    expect((await fetch(`${emulator.url}/v25.0/${ACME}?access_token=${other}`)).status).toBe(200); // another path
    expect((await fetch(conversations(other))).status).toBe(500);
    expect((await fetch(conversations(other))).status).toBe(500);
    expect((await fetch(conversations(other))).status).toBe(403); // spent: the real answer
    expect(emulator.faults.applied).toBeGreaterThanOrEqual(2);
  });

  it('times: Infinity lasts until clear(); a global RegExp matches every call', async () => {
    emulator.faults.inject({ kind: 'server-error' }, { times: Number.POSITIVE_INFINITY, match: { path: /conversations/g } });
    for (let i = 0; i < 3; i += 1) expect((await fetch(conversations())).status).toBe(500);
    emulator.faults.clear();
    expect((await fetch(conversations())).status).toBe(200);
  });

  it('refuses nonsense: times 0, a negative latency', () => {
    expect(() => emulator.faults.inject({ kind: 'reset' }, { times: 0 })).toThrow(/times must be a positive integer or Infinity, got 0/);
    expect(() => emulator.faults.inject({ kind: 'latency', ms: -1 })).toThrow(/latency ms must be a finite number ≥ 0, got -1/);
  });

  it('null-batch-item: that slot is null, the others answer, and the log says so', async () => {
    emulator.faults.inject({ kind: 'null-batch-item' }, { match: { path: /conversations$/ } });
    const { status, body } = await batchOn(emulator, [
      { method: 'GET', relative_url: `${ACME}?fields=name` },
      { method: 'GET', relative_url: `${ACME}/conversations?limit=1` },
      { method: 'GET', relative_url: `${ACME}/conversations?limit=2` },
    ]);
    expect(status).toBe(200);
    expect(body.map((slot) => slot?.code ?? null)).toEqual([200, null, 200]);
    expect(emulator.log.entries[0]!.items!.map((item) => [item.status, item.pageId])).toEqual([
      [200, undefined],
      [null, ACME],
      [200, ACME],
    ]);
  });

  it('null-batch-item outside a batch: answered normally, and the fault is spent', async () => {
    emulator.faults.inject({ kind: 'null-batch-item' });
    expect((await fetch(conversations())).status).toBe(200);
    expect(emulator.faults.applied).toBeGreaterThan(0);
    const { body } = await batchOn(emulator, [{ method: 'GET', relative_url: `${ACME}/conversations?limit=1` }]);
    expect(body[0]).toMatchObject({ code: 200 });
  });

  it('a call fault on a batch item answers that item only; its token is the item’s own when it has one', async () => {
    emulator.faults.inject({ kind: 'expired-token' }, { match: { token: DEMO.tokens.bistroPage } });
    const { body } = await batchOn(emulator, [
      { method: 'GET', relative_url: `${ACME}/conversations?limit=1` },
      { method: 'GET', relative_url: `${BISTRO}/conversations?limit=1&access_token=${DEMO.tokens.bistroPage}` },
    ]);
    expect(body[0]).toMatchObject({ code: 200 });
    expect(body[1]).toMatchObject({ code: 400 });
    expect(JSON.parse(body[1]!.body)).toMatchObject({ error: { code: 190, error_subcode: 463 } });
  });

  it('a transport fault matched by a batch item applies to the whole batch request', async () => {
    emulator.faults.inject({ kind: 'truncated-json' }, { match: { path: /^t_/ } });
    const thread = firstThread().id;
    const response = await fetch(`${emulator.url}/v25.0/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        access_token: TOKEN,
        batch: JSON.stringify([
          { method: 'GET', relative_url: `${ACME}?fields=name` },
          { method: 'GET', relative_url: `${thread}/messages?limit=1` },
        ]),
      }).toString(),
    });
    expect(response.status).toBe(200);
    await expect(response.json()).rejects.toThrow(SyntaxError);

    emulator.faults.inject({ kind: 'reset' }, { match: { path: /^t_/ } });
    await expect(batchOn(emulator, [{ method: 'GET', relative_url: thread }])).rejects.toThrow();
    expect(emulator.faults.applied).toBeGreaterThanOrEqual(2);
  });
});

describe('the request log', () => {
  it('stamps each call with its time and the Page whose budget it spent', async () => {
    const thread = firstThread();
    const message = emulator.store.messageIds(thread.id)![0]!;
    const before = Date.now();
    await fetch(conversations());
    await fetch(`${emulator.url}/v25.0/me/conversations?limit=1&access_token=${TOKEN}`);
    await fetch(`${emulator.url}/v25.0/${thread.id}?access_token=${TOKEN}`);
    await fetch(`${emulator.url}/v25.0/${message}?access_token=${TOKEN}`);
    await fetch(`${emulator.url}/v25.0/me?access_token=${TOKEN}`);
    await fetch(`${emulator.url}/v25.0/${ACME}?fields=name&access_token=${TOKEN}`);
    // Every road to the conversations: the threads edge, and either edge expanded in `fields`.
    await fetch(`${emulator.url}/v25.0/${ACME}/threads?limit=1&access_token=${TOKEN}`);
    await fetch(`${emulator.url}/v25.0/${ACME}?fields=name,conversations.limit(1){id}&access_token=${TOKEN}`);
    await fetch(`${emulator.url}/v25.0/me?fields=threads.limit(1)&access_token=${TOKEN}`);
    await batchOn(emulator, [
      { method: 'GET', relative_url: `${thread.id}/messages?limit=1` },
      { method: 'GET', relative_url: 'me' },
    ]);
    const after = Date.now();
    const entries = emulator.log.entries;
    expect(entries.map((entry) => entry.pageId)).toEqual([ACME, ACME, ACME, ACME, undefined, undefined, ACME, ACME, ACME, undefined]);
    expect(entries.at(-1)!.items!.map((item) => item.pageId)).toEqual([ACME, undefined]);
    const times = [...entries.map((entry) => entry.at), ...entries.at(-1)!.items!.map((item) => item.at)];
    for (const at of times) expect(at).toBeGreaterThanOrEqual(before);
    for (const at of times) expect(at).toBeLessThanOrEqual(after);
  });
});

describe('conversationRateLimit', () => {
  let limited: Emulator;
  const listOn = (page: string = ACME, token: string = TOKEN) =>
    fetch(`${limited.url}/v25.0/${page}/conversations?limit=1&access_token=${token}`);
  /** The emulator reads `Date.now()`: a frozen clock that the test moves makes windows and blocks exact, with no sleeping. */
  let now = Date.UTC(2026, 10, 22, 12);
  const advance = (ms: number): void => {
    now += ms;
    vi.setSystemTime(now);
  };

  beforeAll(async () => {
    limited = await startEmulator({
      privacyFiltering: false,
      conversationRateLimit: { callsPerSecond: 2, blockMs: 1_500 },
      dailyCalls: 100,
    });
  });
  afterAll(() => limited.close());
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    advance(10_000); // past any window or block left by the previous test
  });
  afterEach(() => vi.useRealTimers());

  const usageEntry = (percent: number, regainMinutes?: number) => ({
    type: 'messenger',
    call_count: percent,
    total_cputime: Math.min(percent, 100),
    total_time: Math.min(percent, 100),
    ...(regainMinutes === undefined ? {} : { estimated_time_to_regain_access: regainMinutes }),
  });

  it("reports the Page's share of its daily allowance; refuses the call over the rate with 613 and a block the headers state", async () => {
    const before = limited.log.callCount;
    const daily = (): number => limited.log.callCount - before; // this test's calls so far, each 1% of 100
    const start = (await listOn()).headers; // 1 call of this test; earlier tests' calls are in the day too
    const base = businessUsage(start.get('x-business-use-case-usage'))[ACME]![0]!.call_count - daily();
    expect(start.get('x-page-usage')).toBeNull();
    expect(start.get('x-app-usage')).toBeNull(); // a Page token's calls are the Page's, not the app's
    advance(500);
    const second = await listOn();
    expect(businessUsage(second.headers.get('x-business-use-case-usage'))).toEqual({ [ACME]: [usageEntry(base + 2)] });

    advance(499); // both calls still in the window
    const third = await listOn();
    expect(third.status).toBe(400);
    expect(await errorOf(third)).toMatchObject({
      type: 'OAuthException',
      code: 613,
      is_transient: true,
      message: '(#613) Calls to this api have exceeded the rate limit.',
    });
    // The refused call still counts in the day; the block lasts 1,500 ms: 0.025 minutes.
    expect(businessUsage(third.headers.get('x-business-use-case-usage'))).toEqual({ [ACME]: [usageEntry(base + 3, 0.025)] });

    // Blocked: the window has emptied, the block has not ended; each call during it starts it again.
    advance(1_000);
    expect(await errorOf(await listOn())).toMatchObject({ code: 613 });
    advance(1_499);
    const extended = await listOn();
    expect(await errorOf(extended)).toMatchObject({ code: 613 });
    expect(businessUsage(extended.headers.get('x-business-use-case-usage'))).toEqual({ [ACME]: [usageEntry(base + 3, 0.025)] });
    // Another Page has its own budget.
    expect((await listOn(BISTRO, DEMO.tokens.bistroPage)).status).toBe(200);

    advance(1_500); // 1,500 ms after the last refused call
    const recovered = await listOn();
    expect(recovered.status).toBe(200);
    expect(businessUsage(recovered.headers.get('x-business-use-case-usage'))).toEqual({ [ACME]: [usageEntry(base + 4)] });
  });

  it('counts batch items one by one, and sends usage headers inside each item', async () => {
    const thread = firstThread().id;
    const percentOf = (slot: BatchSlot | null | undefined) => businessUsage(slotHeader(slot, 'x-business-use-case-usage'))[ACME]![0]!;
    const { status, body } = await batchOn(limited, [
      { method: 'GET', relative_url: `${ACME}/conversations?limit=1` },
      { method: 'GET', relative_url: `${ACME}?fields=name` },
      { method: 'GET', relative_url: `${thread}/messages?limit=1` },
      { method: 'GET', relative_url: thread },
    ]);
    expect(status).toBe(200);
    expect(body.map((slot) => slot!.code)).toEqual([200, 200, 200, 400]);
    const first = percentOf(body[0]).call_count;
    expect(slotHeader(body[1], 'x-business-use-case-usage')).toBeUndefined(); // not a Conversations API call
    expect(percentOf(body[2])).toEqual(usageEntry(first + 1));
    expect(JSON.parse(body[3]!.body)).toMatchObject({ error: { code: 613, is_transient: true } });
    expect(percentOf(body[3])).toEqual(usageEntry(first + 2, 0.025));
  });

  it('sends no usage headers on calls outside the Conversations API (usage unknown, as at 0%)', async () => {
    const me = await fetch(`${limited.url}/v25.0/me?access_token=${TOKEN}`);
    expect(me.headers.get('x-business-use-case-usage')).toBeNull();
    const page = await fetch(`${limited.url}/v25.0/${ACME}?fields=name&access_token=${TOKEN}`);
    expect(page.headers.get('x-business-use-case-usage')).toBeNull();
  });

  it('takes 80006 instead for the per-second rate', async () => {
    const other = await startEmulator({ conversationRateLimit: { callsPerSecond: 1, code: 80006 } });
    try {
      const url = `${other.url}/v25.0/${ACME}/conversations?limit=1&access_token=${TOKEN}`;
      expect((await fetch(url)).status).toBe(200);
      const refused = await fetch(url);
      expect(await errorOf(refused)).toMatchObject({ code: 80006, is_transient: true });
      // The default block, a minute; 2 calls of Acme's allowance (200 × its 1,225 engaged users) are 0%.
      expect(businessUsage(refused.headers.get('x-business-use-case-usage'))).toEqual({ [ACME]: [usageEntry(0, 1)] });
    } finally {
      await other.close();
    }
  });

  it('refuses invalid options', async () => {
    await expect(startEmulator({ conversationRateLimit: { callsPerSecond: 0, blockMs: -1 }, dailyCalls: 0 })).rejects.toThrow(
      new RegExp(
        'callsPerSecond must be a positive integer, got 0[\\s\\S]*blockMs must be an integer ≥ 0, got -1' +
          '[\\s\\S]*dailyCalls must be a positive integer, got 0',
      ),
    );
  });
});

describe('dailyCalls: the Messenger allowance of 24 hours', () => {
  let daily: Emulator;
  const now = Date.UTC(2026, 10, 23, 12);
  const at = (ms: number): void => {
    vi.setSystemTime(now + ms);
  };
  const HOUR = 3_600_000;
  const listOn = () => fetch(`${daily.url}/v25.0/${ACME}/conversations?limit=1&access_token=${TOKEN}`);
  const usageOf = (response: Response) => businessUsage(response.headers.get('x-business-use-case-usage'))[ACME]![0];

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    daily = await startEmulator({ dailyCalls: 3 });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await daily.close();
  });

  it('refuses the call past it with 80006 until the oldest calls leave the 24 hours, calls meanwhile keeping it spent', async () => {
    const percents: number[] = [];
    for (const hour of [0, 1, 2]) {
      at(hour * HOUR);
      const answer = await listOn();
      expect(answer.status).toBe(200);
      expect(usageOf(answer)).not.toHaveProperty('estimated_time_to_regain_access');
      percents.push(usageOf(answer)!.call_count);
    }
    expect(percents).toEqual([33, 67, 100]);

    at(3 * HOUR);
    const refused = await listOn();
    expect(refused.status).toBe(400);
    expect(await errorOf(refused)).toMatchObject({
      type: 'OAuthException',
      code: 80006,
      is_transient: true,
      message: MESSENGER_THROTTLE_MESSAGE,
    });
    // Under the allowance again once the calls of hours 0 and 1 are a day old: 22 hours from now.
    expect(usageOf(refused)).toEqual({
      type: 'messenger',
      call_count: 133,
      total_cputime: 100,
      total_time: 100,
      estimated_time_to_regain_access: 1320,
    });

    at(25 * HOUR - 1); // a call just before then counts too: the allowance stays spent until the call of hour 2 is a day old
    const meanwhile = await listOn();
    expect(meanwhile.status).toBe(400);
    expect(usageOf(meanwhile)).toMatchObject({ call_count: 133, estimated_time_to_regain_access: 61 });

    at(26 * HOUR);
    const recovered = await listOn();
    expect(recovered.status).toBe(200);
    expect(usageOf(recovered)).toEqual({ type: 'messenger', call_count: 100, total_cputime: 100, total_time: 100 });
  });

  it("reports a user token's calls in X-App-Usage, as a share of 200 calls per app user per hour", async () => {
    at(40 * HOUR);
    const accounts = () => fetch(`${daily.url}/v25.0/me/accounts?access_token=${DEMO.tokens.alice}`);
    expect((await accounts()).headers.get('x-app-usage')).toBeNull(); // 1 of 400 calls: 0%
    const second = await accounts();
    expect(second.headers.get('x-app-usage')).toBe(JSON.stringify({ call_count: 1, total_cputime: 1, total_time: 1 }));
    expect(second.headers.get('x-business-use-case-usage')).toBeNull();
  });
});

describe('usage headers with the limit off', () => {
  it('are never sent', async () => {
    const response = await fetch(conversations());
    expect(response.headers.get('x-business-use-case-usage')).toBeNull();
    const { body } = await batchOn(emulator, [{ method: 'GET', relative_url: `${ACME}/conversations?limit=1` }]);
    expect(slotHeader(body[0], 'x-business-use-case-usage')).toBeUndefined();
  });
});
