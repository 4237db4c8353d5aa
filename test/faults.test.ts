/**
 * Failing well: every fault the emulator can inject, driven through the gateway. Each test checks
 * the GraphQL answer, how many times Graph was asked, and that the next normal query succeeds.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, NodeDocument } from './generated/graphql.js';
import { ACME, BISTRO, startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

const CONVERSATIONS = /^\d+\/conversations$/;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false }, operationTimeoutMs: 2_000 });
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());
afterEach(() => h.emulator.faults.clear());

const list = (first = 5) => h.run(ConversationIdsDocument, { pageId: ACME, first });
async function expectHealthy(): Promise<void> {
  const result = await list(3);
  expect(result.errors).toBeUndefined();
  expect(result.data!.page!.conversations.edges).toHaveLength(3);
}

describe('transient failures are retried', () => {
  it.each([
    ['HTTP 500 with code 2', { kind: 'server-error', status: 500, code: 2 }],
    ['HTTP 503 with code 1', { kind: 'server-error', status: 503, code: 1 }],
    ['a connection reset', { kind: 'reset' }],
    ['a truncated JSON body', { kind: 'truncated-json' }],
  ] as const)('%s, once: answered by the retry', async (_name, fault) => {
    h.emulator.faults.inject(fault, { times: 1, match: { path: CONVERSATIONS } });
    const result = await list();
    expect(result.errors).toBeUndefined();
    expect(result.data!.page!.conversations.edges).toHaveLength(5);
    expect(h.emulator.faults.applied).toBeGreaterThan(0);
    expect(h.emulator.log.requestCount).toBe(2);
  });

  it('a failure that lasts: three attempts, then GRAPH_UNAVAILABLE with the Graph details', async () => {
    h.emulator.faults.inject(
      { kind: 'server-error', status: 500, code: 2 },
      { times: Number.POSITIVE_INFINITY, match: { path: CONVERSATIONS } },
    );
    const result = await list();
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_UNAVAILABLE', graph: { code: 2, isTransient: true } });
    expect(h.emulator.log.requestCount).toBe(3);
    h.emulator.faults.clear();
    await expectHealthy();
  });

  it('repeated resets end in GRAPH_UNAVAILABLE, and the pool recovers', async () => {
    h.emulator.faults.inject({ kind: 'reset' }, { times: 3, match: { path: CONVERSATIONS } });
    const result = await list();
    expect(result.errors![0]!.extensions!.code).toBe('GRAPH_UNAVAILABLE');
    await expectHealthy();
  });

  it('a batch slot that timed out (null) is asked again once, in a new batch', async () => {
    h.emulator.faults.inject({ kind: 'null-batch-item' }, { times: 1, match: { path: /^t_|^aWdf/ } });
    const ids = (await list(2)).data!.page!.conversations.edges.map((edge) =>
      Buffer.from(`Conversation:${ACME}:${edge.node.graphApiId}`).toString('base64'),
    );
    h.emulator.log.clear();
    const { body } = await h.post({ query: `{ a: node(id: "${ids[0]}") { id } b: node(id: "${ids[1]}") { id } }` });
    expect(body.errors).toBeUndefined();
    expect(h.emulator.log.requestCount).toBe(2);
    expect(h.emulator.log.entries.map((entry) => entry.items?.length)).toEqual([2, undefined]);
  });

  it('a batch slot that times out, and keeps failing when asked again, fails only its own field', async () => {
    const ids = (await list(2)).data!.page!.conversations.edges.map((edge) => edge.node.graphApiId);
    const global = (id: string) => Buffer.from(`Conversation:${ACME}:${id}`).toString('base64');
    const path = new RegExp(`^${ids[1]}$`);
    h.emulator.faults.inject({ kind: 'null-batch-item' }, { times: 1, match: { path } });
    h.emulator.faults.inject({ kind: 'server-error', code: 2 }, { times: Number.POSITIVE_INFINITY, match: { path } });
    h.emulator.log.clear();
    const { body } = await h.post({ query: `{ a: node(id: "${global(ids[0]!)}") { id } b: node(id: "${global(ids[1]!)}") { id } }` });
    expect(body.data).toEqual({ a: { id: global(ids[0]!) }, b: null });
    expect(body.errors).toEqual([
      expect.objectContaining({ path: ['b'], extensions: expect.objectContaining({ code: 'GRAPH_UNAVAILABLE' }) }),
    ]);
    // The batch, then two more attempts for the failing item alone.
    expect(h.emulator.log.requestCount).toBe(3);
  });
});

describe('failures that are not retried', () => {
  it('an expired token: GRAPH_TOKEN_EXPIRED, asked once', async () => {
    h.emulator.faults.inject({ kind: 'expired-token' }, { times: 1, match: { path: CONVERSATIONS } });
    const result = await list();
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_TOKEN_EXPIRED', graph: { code: 190, subcode: 463 } });
    expect(h.emulator.log.requestCount).toBe(1);
    await expectHealthy();
  });

  it('a throttle: GRAPH_RATE_LIMITED with retryAfterSeconds, and no call to that Page until it passes', async () => {
    const throttled = await startHarness({ emulator: { privacyFiltering: false }, defaultAccessToken: DEMO.tokens.alice });
    try {
      throttled.emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 2 }, { times: 1, match: { path: CONVERSATIONS } });
      const first = await throttled.run(ConversationIdsDocument, { pageId: ACME, first: 5 });
      expect(first.errors![0]!.extensions).toMatchObject({
        code: 'GRAPH_RATE_LIMITED',
        retryAfterSeconds: 120,
        graph: { code: 80006, isTransient: true },
      });
      expect(throttled.emulator.log.requestCount).toBe(1);

      const again = await throttled.run(ConversationIdsDocument, { pageId: ACME, first: 5 });
      expect(again.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
      expect(throttled.emulator.log.requestCount).toBe(1);

      // Another Page has its own budget.
      const other = await throttled.run(ConversationIdsDocument, { pageId: BISTRO, first: 5 });
      expect(other.errors).toBeUndefined();
    } finally {
      await throttled.close();
    }
  });
});

describe('time limits', () => {
  it('an operation that outlives its deadline answers OPERATION_TIMEOUT', async () => {
    h.emulator.faults.inject({ kind: 'latency', ms: 3_000 }, { times: 1, match: { path: CONVERSATIONS } });
    const started = Date.now();
    const result = await list();
    expect(result.errors![0]!.extensions!.code).toBe('OPERATION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_900);
    await expectHealthy();
  });
});

describe('the per-Page call rate', () => {
  it('keeps a Page within 2 calls per second, so a strict Graph never throttles it', async () => {
    const strict = await startHarness({
      emulator: { privacyFiltering: false, conversationRateLimit: { callsPerSecond: 2 } },
      scheduler: { pageCallsPerSecond: 2 },
    });
    try {
      const folders = ['INBOX', 'OTHER', 'PAGE_DONE', 'SPAM', 'INBOX'] as const;
      const results = await Promise.all(
        folders.map((folder, i) => strict.run(ConversationIdsDocument, { pageId: ACME, folder, first: 3 + i })),
      );
      for (const result of results) expect(result.errors).toBeUndefined();
      const calls = strict.emulator.log.entries.flatMap((entry) => (entry.items ?? [entry]).map((call) => call.at));
      expect(calls).toHaveLength(5);
      for (const at of calls) expect(calls.filter((other) => other >= at && other < at + 1_000).length).toBeLessThanOrEqual(2);
    } finally {
      await strict.close();
    }
  });

  it('drops a queued read when its client disconnects: it is never sent', async () => {
    const strict = await startHarness({ emulator: { privacyFiltering: false }, scheduler: { pageCallsPerSecond: 1 } });
    try {
      await strict.run(ConversationIdsDocument, { pageId: ACME, first: 2 });
      const controller = new AbortController();
      const gone = strict
        .post({ query: `{ page(id: "${ACME}") { conversations(first: 7) { edges { cursor } } } }` }, {}, controller.signal)
        .catch(() => undefined);
      await until(() => strict.scheduler.queued > 0, 'the read to wait in the queue');
      controller.abort();
      await gone;
      expect(strict.scheduler.queued).toBe(0);
      // The window frees after a second; a later read proves the queue moved on without the dropped one.
      const next = await strict.run(ConversationIdsDocument, { pageId: ACME, first: 4 });
      expect(next.errors).toBeUndefined();
      expect(strict.emulator.log.entries.map((entry) => entry.params.limit)).toEqual(['2', '4']);
    } finally {
      await strict.close();
    }
  });
});

describe('node lookups under faults', () => {
  it('one failing lookup does not fail its neighbours', async () => {
    const ids = (await list(2)).data!.page!.conversations.edges.map((edge) => edge.node.graphApiId);
    const global = (id: string) => Buffer.from(`Conversation:${ACME}:${id}`).toString('base64');
    h.emulator.faults.inject({ kind: 'expired-token' }, { times: 1, match: { path: new RegExp(`^${ids[0]}$`) } });
    const [a, b] = await Promise.all([h.run(NodeDocument, { id: global(ids[0]!) }), h.run(NodeDocument, { id: global(ids[1]!) })]);
    expect(a.errors![0]!.extensions!.code).toBe('GRAPH_TOKEN_EXPIRED');
    expect(b.errors).toBeUndefined();
  });
});
