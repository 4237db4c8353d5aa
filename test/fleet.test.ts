/**
 * A fleet as operators run it: three gateway processes sharing one Redis (a private `redis-server`, so
 * that the test may stop and restart it), the emulator enforcing Meta's 2 calls per second per Page, and
 * clients spread over the instances. Meta delivers webhooks to instance 1 only.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, type Emulator, startEmulator } from '../src/emulator/index.js';
import { type GatewayProcess, startGatewayProcess } from './support/gateway-process.js';
import { openEventStream } from './support/event-stream.js';
import { PrivateRedis } from './support/redis.js';
import { until, within } from './support/wait.js';

const ACME = DEMO.pages.acme.id;
const VERIFY_TOKEN = 'fleet-verify-token';
/** Longest an event may take from instance 1 to a subscriber on instance 3: live is milliseconds; generous for a busy machine. */
const RELAY_MS = 5_000;
/** Longest an instance may take to share Redis again once it is back. */
const REJOIN_MS = 10_000;
let redis: PrivateRedis;
let emulator: Emulator;
/** Instance 1 (Meta's webhooks go to it), 2 and 3; `beforeEach` replaces any that an earlier test killed. */
let fleet: GatewayProcess[];
const env = (): Record<string, string> => ({
  GRAPH_API_URL: emulator.url,
  GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage,
  GRAPH_APP_SECRET: DEMO.appSecret,
  WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN,
  REDIS_URL: redis.url,
  REDIS_KEY_PREFIX: 'fleet-test:',
  CURSOR_SECRET: 'fleet-cursor-secret-0123456789abcdef',
  CACHE_RECONCILE_SECONDS: '0',
});

beforeAll(async () => {
  redis = await PrivateRedis.start();
  emulator = await startEmulator({
    privacyFiltering: false,
    appSecret: DEMO.appSecret,
    // Meta's limit, and a block long enough that one throttle would show in every later read.
    conversationRateLimit: { callsPerSecond: 2, blockMs: 60_000 },
  });
  fleet = await Promise.all([startGatewayProcess(env()), startGatewayProcess(env()), startGatewayProcess(env())]);
  await emulator.webhooks.subscribe(`${fleet[0]!.origin}/webhooks/meta`, VERIFY_TOKEN);
}, 60_000);

// Each test starts from a whole fleet sharing Redis, whatever an earlier one stopped.
beforeEach(async () => {
  if (!redis.running) await redis.start();
  await Promise.all(
    fleet.map(async (instance, i) => {
      if (instance.child.exitCode === null && instance.child.signalCode === null) return;
      fleet[i] = await startGatewayProcess(env());
      if (i === 0) await emulator.webhooks.subscribe(`${fleet[0]!.origin}/webhooks/meta`, VERIFY_TOKEN);
    }),
  );
  // Shared means subscribed to the fleet's event channel too (src/redis/connection.ts): an event published now reaches every instance.
  for (const [i, instance] of fleet.entries())
    await until(async () => (await health(instance)).redis === 'shared', `instance ${i + 1} to share Redis`, 10_000);
}, 60_000);

afterAll(async () => {
  await Promise.all(fleet.map((instance) => instance.stop()));
  await emulator.close();
  await redis.stop();
});

const health = async (instance: GatewayProcess) =>
  (await (await fetch(`${instance.origin}/health`)).json()) as { status: string; redis: string };

interface Inbox {
  data?: {
    page: {
      conversations: {
        edges: Array<{ cursor: string; node: { graphApiId: string; snippet: string | null } }>;
        pageInfo: { endCursor: string };
      };
    };
  };
  errors?: Array<{ extensions?: { code?: string } }>;
}

async function inbox(instance: GatewayProcess, args = 'first: 10'): Promise<Inbox> {
  const response = await fetch(instance.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `{ page(id: "${ACME}") { conversations(${args}) { edges { cursor node { graphApiId snippet } } pageInfo { endCursor } } } }`,
    }),
  });
  return (await response.json()) as Inbox;
}

const idsOf = (answer: Inbox): string[] => answer.data!.page.conversations.edges.map((edge) => edge.node.graphApiId);

/** Calls each Page received in its busiest second, and the calls Graph refused (throttles), from the emulator's log. */
function spend(): { busiestSecond: number; refused: number; calls: number } {
  const calls = emulator.log.entries.flatMap((entry) =>
    entry.items !== undefined
      ? entry.items.filter((item) => item.pageId !== undefined).map((item) => ({ at: item.at, refused: item.status === 400 }))
      : entry.pageId === undefined
        ? []
        : [{ at: entry.at, refused: entry.status === 400 }],
  );
  const times = calls.map((call) => call.at).sort((a, b) => a - b);
  let busiestSecond = 0;
  for (let start = 0, end = 0; end < times.length; end += 1) {
    while (times[end]! - times[start]! >= 1_000) start += 1;
    busiestSecond = Math.max(busiestSecond, end - start + 1);
  }
  return { busiestSecond, refused: calls.filter((call) => call.refused).length, calls: calls.length };
}

/** An SSE subscription to the Page's inbox events on one instance; `next()` resolves with each event's message id. */
async function listen(instance: GatewayProcess): Promise<{ next: () => Promise<string>; close: () => void }> {
  const query = `subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { messageId } }`;
  const stream = await openEventStream<{ data: { inboxEvents: { messageId: string } } }>(instance.url, query);
  return { next: async () => (await stream.next()).data.inboxEvents.messageId, close: stream.close };
}

/** One counter of an instance's /metrics. */
async function metricOf(instance: GatewayProcess, name: string): Promise<number> {
  const text = await (await fetch(`${instance.origin}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

describe('three instances on one Redis', () => {
  it('keep 30 clients within 2 calls per second per Page fleet-wide, with no throttle', { timeout: 60_000 }, async () => {
    emulator.log.clear();
    // Eight distinct lists no other test reads (so none is cached), each asked for by several clients on every instance.
    const lists = Array.from({ length: 8 }, (_, i) => `first: ${i + 11}`);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, client) => inbox(fleet[client % 3]!, lists[client % lists.length])));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    const { busiestSecond, refused, calls } = spend();
    expect(calls).toBeGreaterThanOrEqual(lists.length);
    expect(busiestSecond).toBeLessThanOrEqual(2);
    expect(refused).toBe(0);
  });

  it('resume a cursor issued by one instance on another', async () => {
    // The truth from the emulator's own store: asking Graph for it would spend the Page's budget.
    const truth = emulator.store.listConversations(ACME, { folder: 'inbox' }).map((thread) => thread.id);
    const first = await inbox(fleet[0]!, 'first: 4');
    const next = await inbox(fleet[1]!, `first: 4, after: "${first.data!.page.conversations.pageInfo.endCursor}"`);
    expect(idsOf(first)).toEqual(truth.slice(0, 4));
    expect(idsOf(next)).toEqual(truth.slice(4, 8));
  });

  it('relay a webhook delivered to instance 1 to a subscriber on instance 3, once; every instance reads the change at once', async () => {
    // The stream opens once the subscription listens (yoga answers after the subscribe resolver returned), and every instance shares
    // the event channel (beforeEach): the first message sent is the first heard.
    const subscriber = await listen(fleet[2]!);
    try {
      const conversation = idsOf(await inbox(fleet[0]!))[6]!;
      // Every instance has this inbox cached: after the event, one instance fills it again for all.
      await Promise.all(fleet.map((instance) => inbox(instance)));
      emulator.log.clear();
      const sent = await emulator.webhooks.sendMessage(conversation, { text: 'Where is my order?' });
      expect(sent.deliveryStatus).toBe(200);
      // Live: Redis pub/sub takes milliseconds; the bound is generous only so that a busy machine cannot fail it.
      expect(await within(RELAY_MS, subscriber.next(), 'the event on instance 3')).toBe(sent.id);
      // Meta's 200 came after the cache moved fleet-wide: every instance's next read shows the change.
      const after = await Promise.all(fleet.map((instance) => inbox(instance)));
      for (const answer of after) expect(idsOf(answer)[0]).toBe(conversation);
      expect(spend().calls).toBe(1);
      const awaited = await Promise.all(fleet.map(async (instance) => metricOf(instance, 'gateway_cache_fills_awaited_total')));
      expect(awaited.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(1);
      // Once: the next event heard is the next message.
      const second = await emulator.webhooks.sendMessage(conversation, { text: 'Hello?' });
      expect(await within(RELAY_MS, subscriber.next(), 'the next event')).toBe(second.id);
    } finally {
      subscriber.close();
    }
  });

  it('go on when one instance dies', async () => {
    const exited = once(fleet[1]!.child, 'exit');
    fleet[1]!.child.kill('SIGKILL');
    await exited;
    emulator.log.clear();
    for (const instance of [fleet[0]!, fleet[2]!]) {
      const answer = await inbox(instance, 'first: 21');
      expect(answer.errors).toBeUndefined();
      expect(idsOf(answer)).toHaveLength(21);
    }
    expect(spend().refused).toBe(0);
  });

  it('keep answering while Redis is away, and share again within seconds of its return', { timeout: 60_000 }, async () => {
    await redis.stop();
    for (const instance of [fleet[0]!, fleet[2]!]) {
      // The connections close when Redis dies: noticed at once, bounded only so as not to hang.
      await until(async () => (await health(instance)).redis === 'degraded', 'the instance to notice', 10_000);
      expect(await health(instance)).toMatchObject({ status: 'degraded', redis: 'degraded' });
      const answer = await inbox(instance, 'first: 3');
      expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    }

    await redis.start();
    // The behaviour: rejoining by itself, without a restart, within seconds (ioredis retries at most 1 s apart, a heartbeat
    // every second). 10 s is generous for a busy machine and still far from never.
    const back = Date.now();
    for (const instance of [fleet[0]!, fleet[2]!])
      await until(async () => (await health(instance)).redis === 'shared', 'the instance to rejoin', REJOIN_MS - (Date.now() - back));
    // Fan-out works again: the first delivery to instance 1 after rejoining reaches a subscriber on instance 3.
    const subscriber = await listen(fleet[2]!);
    try {
      const conversation = idsOf(await inbox(fleet[0]!))[8]!;
      const sent = await emulator.webhooks.sendMessage(conversation, { text: 'is anyone there?' });
      expect(await within(RELAY_MS, subscriber.next(), 'the event on instance 3')).toBe(sent.id);
    } finally {
      subscriber.close();
    }
  });
});
