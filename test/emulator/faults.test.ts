/** The emulator's faults and Conversations API rate limit, seen on the wire. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';

const ACME = DEMO.pages.acme.id;
let emulator: Emulator;
const conversations = (token: string = DEMO.tokens.acmePage) => `${emulator.url}/v25.0/${ACME}/conversations?limit=2&access_token=${token}`;

beforeAll(async () => {
  emulator = await startEmulator({ privacyFiltering: false });
});
afterAll(() => emulator.close());
afterEach(() => emulator.faults.clear());

describe('faults', () => {
  it('server-error: the real envelope with is_transient, and the given status', async () => {
    emulator.faults.inject({ kind: 'server-error', status: 503, code: 1 });
    const response = await fetch(conversations());
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: { message: 'An unknown error has occurred.', type: 'OAuthException', code: 1, is_transient: true, fbtrace_id: expect.any(String) },
    });
    expect(emulator.faults.applied).toBe(1);
    expect((await fetch(conversations())).status).toBe(200);
  });

  it('throttle: code, message and usage headers over 100% with the time to regain access', async () => {
    emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 3 });
    const response = await fetch(conversations());
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: number; is_transient: boolean; message: string } };
    expect(body.error).toMatchObject({ code: 80006, is_transient: true, message: expect.stringMatching(/^\(#80006\) There have been too many messenger api calls/) });
    const buc = JSON.parse(response.headers.get('x-business-use-case-usage')!) as Record<string, Array<{ estimated_time_to_regain_access: number; call_count: number }>>;
    expect(buc[ACME]![0]).toMatchObject({ estimated_time_to_regain_access: 3, call_count: 120 });
    expect(JSON.parse(response.headers.get('x-page-usage')!)).toMatchObject({ call_count: 120 });
  });

  it('expired-token: 190/463', async () => {
    emulator.faults.inject({ kind: 'expired-token' });
    const body = (await (await fetch(conversations())).json()) as { error: { code: number; error_subcode: number } };
    expect(body.error).toMatchObject({ code: 190, error_subcode: 463 });
  });

  it('matches by path and token, for the given number of times', async () => {
    emulator.faults.inject({ kind: 'server-error' }, { times: 2, match: { path: /conversations$/, token: DEMO.tokens.acmePageNoMessaging } });
    expect((await fetch(conversations())).status).toBe(200);
    expect((await fetch(`${emulator.url}/v25.0/${ACME}?access_token=${DEMO.tokens.acmePageNoMessaging}`)).status).toBe(200);
    expect((await fetch(conversations(DEMO.tokens.acmePageNoMessaging))).status).toBe(500);
    expect((await fetch(conversations(DEMO.tokens.acmePageNoMessaging))).status).toBe(500);
    expect((await fetch(conversations(DEMO.tokens.acmePageNoMessaging))).status).toBe(403);
  });

  it('reset: the socket closes without an answer', async () => {
    emulator.faults.inject({ kind: 'reset' });
    await expect(fetch(conversations())).rejects.toThrow();
  });

  it('truncated-json: HTTP 200 and half a body', async () => {
    emulator.faults.inject({ kind: 'truncated-json' });
    const response = await fetch(conversations());
    expect(response.status).toBe(200);
    await expect(response.json()).rejects.toThrow();
  });

  it('latency: the answer comes after the delay', async () => {
    emulator.faults.inject({ kind: 'latency', ms: 150 });
    const started = performance.now();
    expect((await fetch(conversations())).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('null-batch-item: that slot is null, the others answer, and the log says so', async () => {
    emulator.faults.inject({ kind: 'null-batch-item' }, { match: { path: /conversations$/ } });
    emulator.log.clear();
    const response = await fetch(`${emulator.url}/v25.0/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        access_token: DEMO.tokens.acmePage,
        batch: JSON.stringify([
          { method: 'GET', relative_url: `${ACME}?fields=name` },
          { method: 'GET', relative_url: `${ACME}/conversations?limit=1` },
        ]),
      }).toString(),
    });
    const slots = (await response.json()) as unknown[];
    expect(slots[0]).toMatchObject({ code: 200 });
    expect(slots[1]).toBeNull();
    expect(emulator.log.entries[0]!.items!.map((item) => [item.status, item.pageId])).toEqual([
      [200, undefined],
      [null, ACME],
    ]);
  });
});

describe('conversationRateLimit', () => {
  it('throttles the third call in a second with 80006, blocks the Page, then lets it recover', async () => {
    const limited = await startEmulator({ privacyFiltering: false, conversationRateLimit: { callsPerSecond: 2, blockMs: 300 } });
    try {
      const url = `${limited.url}/v25.0/${ACME}/conversations?limit=1&access_token=${DEMO.tokens.acmePage}`;
      const first = await fetch(url);
      expect(first.headers.get('x-page-usage')).toBe(JSON.stringify({ call_count: 50, total_cputime: 50, total_time: 50 }));
      expect((await fetch(url)).status).toBe(200);
      const third = await fetch(url);
      expect(third.status).toBe(400);
      expect(((await third.json()) as { error: { code: number } }).error.code).toBe(80006);
      // Another Page has its own budget; calls outside the Conversations API are not counted.
      expect((await fetch(`${limited.url}/v25.0/${DEMO.pages.bistro.id}/conversations?access_token=${DEMO.tokens.bistroPage}`)).status).toBe(200);
      expect((await fetch(`${limited.url}/v25.0/me?access_token=${DEMO.tokens.acmePage}`)).headers.get('x-page-usage')).toBeNull();
      const calls = limited.log.entries.filter((entry) => entry.pageId === ACME).map((entry) => entry.at);
      expect(calls).toHaveLength(3);
      await new Promise((resolve) => setTimeout(resolve, 1_100 - (Date.now() - calls[0]!)));
      expect((await fetch(url)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('sends no usage headers when the limit is off (usage unknown, as at 0%)', async () => {
    const response = await fetch(conversations());
    expect(response.headers.get('x-page-usage')).toBeNull();
    expect(response.headers.get('x-business-use-case-usage')).toBeNull();
  });
});
