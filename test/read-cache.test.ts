/**
 * The read cache for a team on one Page: reads served from the cache that Meta's webhooks keep fresh,
 * shared by every caller whose token reads the inbox, stale while Graph cannot be called, reconciled with
 * idle budget. Upstream calls are counted in the emulator's log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import type { GatewayServer } from '../src/http-server.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { ConversationMessagesDocument, InboxDocument, PageCallBudgetDocument, TeamInboxDocument } from './generated/graphql.js';
import { ACME, BISTRO, type Harness, type HarnessOptions, serveWithWebhooks, startHarness } from './support/harness.js';
import { deleteKeys, TEST_REDIS_URL, testPrefix } from './support/redis.js';
import { until } from './support/wait.js';

const MINUTE = 60_000;
let h: Harness;
let server: GatewayServer | undefined;

async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness({ emulator: { privacyFiltering: false }, cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE }, ...options });
  ({ server } = await serveWithWebhooks(h, new InboxEventBus()));
  return h;
}

afterEach(async () => {
  await server?.drain(0);
  server = undefined;
  await h.close();
});

const inbox = (token: string | null = null, first = 5) => h.run(TeamInboxDocument, { pageId: ACME, first }, { token });
const ids = (answer: Awaited<ReturnType<typeof inbox>>) => answer.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId);

describe('a team on one Page', () => {
  it('serves a repeated read from the cache, with no upstream call and the time Graph gave it', async () => {
    await start();
    const first = await inbox();
    expect(h.emulator.log.requestCount).toBe(1);
    const again = await h.run(TeamInboxDocument, { pageId: ACME, first: 5 }, { headers: { 'x-upstream-usage': '1' } });
    expect(h.emulator.log.requestCount).toBe(1);
    expect(again.data).toEqual(first.data);
    expect(again.extensions).toMatchObject({ upstream: { requests: 0, calls: 0, cached: 1 } });
    expect(again.extensions?.stale).toBeUndefined();
    const metrics = await (await h.app.fetch('http://gateway.test/metrics')).text();
    expect(metrics).toMatch(/^gateway_cache_hits_total 1$/m);
    expect(metrics).toMatch(/^gateway_cache_misses_total 1$/m);
    expect(metrics).toMatch(/^gateway_cache_stale_answers_total 0$/m);
    // The whole answer was served again: the operation did not even execute.
    expect(metrics).toMatch(/^gateway_cache_answers_reused_total 1$/m);
  });

  it('serves a viewer the answer it got before only while every read behind it is fresh, and never a call budget', async () => {
    await start();
    const first = await inbox();
    expect((await inbox()).data).toEqual(first.data);
    expect(h.readCache.stats.answersReused).toBe(1);
    // Another viewer's answer is its own, even from the same cached reads.
    await h.credentials.identify(DEMO.tokens.alice);
    await inbox(DEMO.tokens.alice);
    expect(h.readCache.stats.answersReused).toBe(1);
    // An event drops the reads behind the answer: it is built again, with the news.
    const top = ids(first)[3]!;
    await h.emulator.webhooks.sendMessage(top, { text: 'fresh' });
    const after = await inbox();
    expect(ids(after)[0]).toBe(top);
    expect(h.readCache.stats.answersReused).toBe(1);
    // A call budget changes with every call: an answer holding one is never served again.
    const budget = `{ page(id: "${ACME}") { callBudget { queuedReads } conversations(first: 5) { edges { node { graphApiId } } } } }`;
    await h.post({ query: budget });
    await h.post({ query: budget });
    expect(h.readCache.stats.answersReused).toBe(1);
  });

  it('keeps a whole answer only while it fits RESPONSE_CACHE_MAX_MEGABYTES, weighed by the response that carried it', async () => {
    // Twice an answer's length (UTF-16) is over 1,000 bytes for 5 conversations: never kept, always executed.
    await start({ cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE, responseMaxBytes: 1_000 } });
    const first = await inbox();
    expect(2 * JSON.stringify(first.data).length).toBeGreaterThan(1_000);
    expect((await inbox()).data).toEqual(first.data);
    expect(h.readCache.stats.answersReused).toBe(0);
    expect(h.readCache.stats.hits).toBe(1);
  });

  it('after a delivered event, the next read makes exactly one call and shows the new order', async () => {
    await start();
    const before = ids(await inbox());
    const third = before[2]!;
    h.emulator.log.clear();
    const sent = await h.emulator.webhooks.sendMessage(third, { text: 'Is my parcel on its way?' });
    expect(sent.deliveryStatus).toBe(200);
    const after = await inbox();
    expect(h.emulator.log.requestCount).toBe(1);
    expect(ids(after)).toEqual([third, ...before.filter((id) => id !== third)].slice(0, 5));
    expect(after.data!.page!.conversations.edges[0]!.node.snippet).toBe('Is my parcel on its way?');
    // And that answer is cached in turn.
    await inbox();
    expect(h.emulator.log.requestCount).toBe(1);
  });

  it('drops only the conversation concerned when the event names a customer it knows', async () => {
    await start();
    const [first, second] = ids(await inbox());
    const open = (graphApiId: string) =>
      h.run(ConversationMessagesDocument, { id: Buffer.from(`Conversation:${ACME}:${graphApiId}`).toString('base64'), first: 3 });
    await open(first!);
    await open(second!);
    h.emulator.log.clear();
    await h.emulator.webhooks.sendMessage(first!, { text: 'one more thing' });
    await open(second!);
    expect(h.emulator.log.requestCount).toBe(0);
    const reopened = await open(first!);
    expect(h.emulator.log.requestCount).toBe(1);
    const node = reopened.data!.node as { messages: { edges: Array<{ node: { text: string | null } }> } };
    expect(node.messages.edges[0]!.node.text).toBe('one more thing');
  });

  it('shares entries between callers whose different tokens both read the inbox', async () => {
    await start();
    // Alice's user token reads Acme with the Page token /me/accounts gives her: the same Graph token as
    // the default caller's, so its proof is shared. Bistro's Page token proves nothing for Acme.
    await h.credentials.identify(DEMO.tokens.alice);
    h.emulator.log.clear();
    await inbox();
    await inbox(DEMO.tokens.alice);
    expect(h.emulator.log.requestCount).toBe(1);
  });

  it('refuses a caller who does not reach the Page, as before, and never serves it the cached inbox', async () => {
    await start();
    await inbox();
    for (const token of [DEMO.tokens.bob, DEMO.tokens.acmePageNoMessaging, DEMO.tokens.bistroPage]) await h.credentials.identify(token);
    h.emulator.log.clear();
    const bob = await inbox(DEMO.tokens.bob);
    expect(bob.errors?.[0]?.extensions?.code).toBe('PAGE_NOT_ACCESSIBLE');
    // A Page token of the Page without the MESSAGING task: Graph judges it (no cached answer).
    const unprivileged = await inbox(DEMO.tokens.acmePageNoMessaging);
    expect(unprivileged.errors?.[0]?.extensions?.code).toBe('GRAPH_PERMISSION_DENIED');
    expect(unprivileged.data?.page).toBeNull();
    // Another Page's token: Graph refuses it too.
    const bistro = await inbox(DEMO.tokens.bistroPage);
    expect(bistro.errors?.[0]?.extensions?.code).toBe('GRAPH_PERMISSION_DENIED');
    // Bob is refused before any call; the other two are Graph's own refusals.
    expect(h.emulator.log.requestCount).toBe(2);
    expect(JSON.stringify([bob, unprivileged, bistro])).not.toContain(ids(await inbox())[0]);
  });

  it('lets entries expire at their max age', async () => {
    let clock = Date.now();
    await start({ emulator: { privacyFiltering: false }, cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE, now: () => clock } });
    await inbox();
    clock += MINUTE - 1;
    await inbox();
    expect(h.emulator.log.requestCount).toBe(1);
    clock += 1;
    await inbox();
    expect(h.emulator.log.requestCount).toBe(2);
  });

  it('keeps nothing from a read that was in flight when an event arrived', async () => {
    await start();
    const before = ids(await inbox());
    // A read that Graph answers slowly: it reads the list as it is now, and its answer comes after the event. The emulator logs
    // a read when it runs it, before the delay; the delay only has to outlast one webhook delivery, and is checked to have.
    h.emulator.log.clear();
    h.emulator.faults.inject({ kind: 'latency', ms: 1_000 });
    let answered = false;
    const stale = h.run(TeamInboxDocument, { pageId: ACME, first: 6 }, { token: null }).finally(() => (answered = true));
    await until(() => h.emulator.log.requestCount === 1, 'the slow read to reach the emulator');
    const sent = await h.emulator.webhooks.sendMessage(before[4]!, { text: 'news' });
    expect(sent.deliveryStatus).toBe(200);
    expect(answered, 'the slow read was answered before the event arrived').toBe(false);
    expect(ids(await stale)).toEqual(expect.arrayContaining(before));
    h.emulator.log.clear();
    const fresh = await h.run(TeamInboxDocument, { pageId: ACME, first: 6 }, { token: null });
    expect(h.emulator.log.requestCount).toBe(1);
    expect(fresh.data!.page!.conversations.edges[0]!.node.graphApiId).toBe(before[4]);
  });
});

describe('a Page’s own fields', () => {
  it('the shipped Inbox operation (operations/inbox.graphql), repeated 20 times, makes one upstream request in all', async () => {
    await start();
    const variables = { pageId: ACME, first: 10, messagesFirst: 3 };
    const first = await h.run(InboxDocument, variables);
    expect(first.errors).toBeUndefined();
    expect(first.data?.page?.name).toBe('Acme Shop');
    for (let i = 1; i < 20; i += 1) expect(await h.run(InboxDocument, variables)).toEqual(first);
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.readCache.stats.answersReused).toBe(19);
  });

  it('serves a Page’s name for CACHE_PAGE_MAX_AGE_SECONDS, whatever the inbox max age', async () => {
    let clock = Date.now();
    // Within the proof's life (CREDENTIALS_TTL_SECONDS, 300 s): past it, the token proves itself again with a read anyway.
    await start({ cache: { maxAgeMs: MINUTE, staleMs: 0, pageMaxAgeMs: 4 * MINUTE, now: () => clock } });
    const name = () => h.post({ query: `{ page(id: "${ACME}") { name } }` }).then((response) => response.body.data);
    expect(await name()).toEqual({ page: { name: 'Acme Shop' } });
    clock += 4 * MINUTE - 1;
    expect(await name()).toEqual({ page: { name: 'Acme Shop' } });
    expect(h.emulator.log.requestCount).toBe(1);
    clock += 1;
    expect(await name()).toEqual({ page: { name: 'Acme Shop' } });
    expect(h.emulator.log.requestCount).toBe(2);
  });
});

describe('with no max age (no webhooks)', () => {
  it('keeps entries for stale answers only: every read goes to Graph at once, none waits for another', async () => {
    await start({ emulator: { privacyFiltering: false }, cache: { maxAgeMs: 0, staleMs: 10 * MINUTE } });
    await Promise.all([inbox(), inbox()]);
    await inbox();
    await inbox();
    expect(h.emulator.log.requestCount).toBe(3);
    expect(h.readCache.stats).toMatchObject({ hits: 0, fillsAwaited: 0 });
  });
});

describe('stale rather than nothing', () => {
  it('answers a blocked Page from the cache, with fetchedAt and the stale marker', async () => {
    let clock = Date.now();
    await start({
      emulator: { privacyFiltering: false },
      cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE, now: () => clock },
    });
    const first = await inbox();
    const readAt = first.data!.page!.conversations.fetchedAt;
    clock += 2 * MINUTE;
    // The entry is past its max age: the read goes to Graph, which throttles the Page for 3 minutes.
    h.emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 3 });
    const blocked = await inbox();
    expect(blocked.errors).toBeUndefined();
    expect(blocked.data).toEqual(first.data);
    expect(blocked.data!.page!.conversations.fetchedAt).toBe(readAt);
    expect(blocked.extensions?.stale).toEqual([{ path: ['page', 'conversations'], fetchedAt: readAt, retryAfterSeconds: 180 }]);
    // While the block lasts, no call is made at all.
    h.emulator.log.clear();
    const again = await inbox();
    expect(again.extensions?.stale).toEqual([
      { path: ['page', 'conversations'], fetchedAt: readAt, retryAfterSeconds: expect.any(Number) },
    ]);
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it("answers stale for as long as the emulator's own throttle says, with no fault injected", async () => {
    let clock = Date.now();
    // Meta's Messenger allowance, spent: the second conversations call of the day is refused with (#80006), and the
    // `X-Business-Use-Case-Usage` of the refusal states when the Page gets its calls back (24 hours after the first).
    await start({
      emulator: { privacyFiltering: false, dailyCalls: 1 },
      cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE, now: () => clock },
    });
    const first = await inbox();
    expect(first.errors).toBeUndefined();
    const readAt = first.data!.page!.conversations.fetchedAt;
    clock += 2 * MINUTE;
    const blocked = await inbox();
    expect(blocked.errors).toBeUndefined();
    expect(blocked.data).toEqual(first.data);
    expect(blocked.extensions?.stale).toEqual([{ path: ['page', 'conversations'], fetchedAt: readAt, retryAfterSeconds: 24 * 60 * 60 }]);
    const budget = await h.run(PageCallBudgetDocument, { pageId: ACME });
    expect(budget.data!.page!.callBudget.businessUseCaseUsage).toEqual({ callCount: 200, totalCputime: 100, totalTime: 100 });
    // While the block lasts, no call is made at all.
    h.emulator.log.clear();
    await inbox();
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('still answers GRAPH_RATE_LIMITED when nothing is cached for the read', async () => {
    await start();
    h.emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 1 });
    const blocked = await h.run(TeamInboxDocument, { pageId: BISTRO, first: 5 }, { token: DEMO.tokens.bistroPage });
    expect(blocked.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPH_RATE_LIMITED', retryAfterSeconds: 60 });
  });
});

describe('the reconciler', () => {
  it('catches a change no webhook announced, with a budget place no client needed', async () => {
    let clock = Date.now();
    await start({
      emulator: { privacyFiltering: false },
      cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE },
      scheduler: { pageCallsPerSecond: 2, now: () => clock },
    });
    const before = ids(await inbox());
    // A second later the client's call has left the Page's window: the window is idle.
    clock += 1_000;
    // Meta's delivery went missing: the emulator changes the inbox without a webhook.
    h.emulator.store.addMessage(before[3]!, { text: 'never announced' });
    h.emulator.log.clear();
    await h.readCache.reconcile(30_000);
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.readCache.stats.reconcileChanges).toBe(1);
    expect(await (await h.app.fetch('http://gateway.test/metrics')).text()).toMatch(/^gateway_cache_reconcile_changes_total 1$/m);
    const after = await inbox();
    expect(ids(after)[0]).toBe(before[3]);
    // Within the interval the list is not reconciled again.
    h.emulator.log.clear();
    await h.readCache.reconcile(30_000);
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('never takes a place a client may need: with the window busy it makes no call', async () => {
    await start({
      emulator: { privacyFiltering: false },
      cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE },
      scheduler: { pageCallsPerSecond: 2 },
    });
    await inbox();
    // The read just answered holds one of the Page's two places for a second: none is idle.
    h.emulator.log.clear();
    await h.readCache.reconcile(30_000);
    expect(h.emulator.log.requestCount).toBe(0);
    expect(h.readCache.stats.reconcileReads).toBe(0);
  });
});

describe('the reconciler’s bound (CACHE_RECONCILE_MAX_LISTS)', () => {
  /** Reads Acme's inbox once per `first`, each a list of its own (Graph's `limit`), in that order. */
  const readLists = async (on: Harness, firsts: readonly number[]): Promise<void> => {
    for (const first of firsts) expect((await on.run(TeamInboxDocument, { pageId: ACME, first }, {})).errors).toBeUndefined();
  };
  /** The `limit` of each list a round re-read from Graph. */
  const reReadLimits = (on: Harness): string[] =>
    on.emulator.log.entries.filter((entry) => entry.path.endsWith('/conversations')).map((entry) => entry.params.limit!);

  it('re-reads the most recently read lists first, no more than the bound in a round', async () => {
    await start({ cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE, reconcileMaxLists: 2 } });
    await readLists(h, [2, 3, 4, 5]);
    h.emulator.log.clear();
    await h.readCache.reconcile(30_000);
    expect(reReadLimits(h).sort()).toEqual(['4', '5']);
    expect(h.readCache.stats.reconcileReads).toBe(2);
  });

  it('shares the bound out among a fleet: two instances on one Redis re-read as many lists as one would', async () => {
    const keyPrefix = testPrefix('read-cache-reconcile');
    const options: HarnessOptions = {
      emulator: { privacyFiltering: false },
      cache: { maxAgeMs: MINUTE, staleMs: 10 * MINUTE, reconcileMaxLists: 2, store: 'fleet' },
      redis: { url: TEST_REDIS_URL, keyPrefix },
    };
    const a = await startHarness(options);
    h = a;
    const b = await startHarness({ ...options, sharedEmulator: a.emulator });
    try {
      // Each instance learns of the other at its next heartbeat.
      await until(() => a.gateway.fleet.health().liveInstances === 2 && b.gateway.fleet.health().liveInstances === 2, 'two live instances');
      // Each instance re-reads the lists it read from Graph: A two, B two others.
      await readLists(a, [2, 3]);
      await readLists(b, [4, 5]);
      a.emulator.log.clear();
      await a.readCache.reconcile(30_000);
      await b.readCache.reconcile(30_000);
      // Half the bound each, its most recent list: 2 re-reads in all, not 4.
      expect(reReadLimits(a).sort()).toEqual(['3', '5']);
    } finally {
      await b.close();
      await deleteKeys(TEST_REDIS_URL, keyPrefix);
    }
  });
});

describe('what the cache keeps', () => {
  it('never a token: paging links (which hold the reader’s token) are kept as a marker only', async () => {
    await start();
    const [first] = ids(await inbox());
    await h.run(ConversationMessagesDocument, { id: Buffer.from(`Conversation:${ACME}:${first}`).toString('base64'), first: 2 });
    const kept = h.cacheStore.entries();
    // The list page, and the thread read with its first messages expanded (Graph field expansion).
    expect(kept.map(([key]) => key).sort()).toEqual([
      expect.stringMatching(/^v25\.0\/1000000001\/conversations\?/),
      expect.stringMatching(new RegExp(`^v25\\.0/${first}\\?fields=.*messages\\.limit`)),
    ]);
    for (const [key, entry] of kept) {
      const text = `${key} ${JSON.stringify(entry)}`;
      expect(text).not.toMatch(/access_token|appsecret_proof|EAA|https?:/);
      expect([...text.matchAll(/"next":"([^"]*)"/g)].map((match) => match[1])).toEqual(['omitted']);
    }
  });
});
