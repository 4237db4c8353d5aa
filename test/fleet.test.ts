/**
 * A fleet as operators run it: three gateway processes sharing one Redis (a private `redis-server`, so
 * that the test may stop and restart it), the emulator enforcing Meta's 2 calls per second per Page, and
 * clients spread over the instances. Meta delivers webhooks to instance 1 only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, type Emulator, startEmulator } from '../src/emulator/index.js';
import { type GatewayProcess, startGatewayProcess } from './support/gateway-process.js';
import { openEventStream } from './support/event-stream.js';
import { PrivateRedis } from './support/redis.js';
import { until } from './support/wait.js';

const ACME = DEMO.pages.acme.id;
const VERIFY_TOKEN = 'fleet-verify-token';
let redis: PrivateRedis;
let emulator: Emulator;
let fleet: GatewayProcess[];

beforeAll(async () => {
  redis = await PrivateRedis.start();
  emulator = await startEmulator({
    privacyFiltering: false,
    appSecret: DEMO.appSecret,
    // Meta's limit, and a block long enough that one throttle would show in every later read.
    conversationRateLimit: { callsPerSecond: 2, blockMs: 60_000 },
  });
  const env = {
    GRAPH_API_URL: emulator.url,
    GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage,
    GRAPH_APP_SECRET: DEMO.appSecret,
    WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'fleet-test:',
    CURSOR_SECRET: 'fleet-cursor-secret-0123456789abcdef',
    CACHE_RECONCILE_SECONDS: '0',
  };
  fleet = await Promise.all([startGatewayProcess(env), startGatewayProcess(env), startGatewayProcess(env)]);
  await emulator.webhooks.subscribe(`${fleet[0]!.origin}/webhooks/meta`, VERIFY_TOKEN);
}, 60_000);

afterAll(async () => {
  await Promise.all(fleet.map((instance) => instance.stop()));
  await emulator.close();
  await redis.stop();
});

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

/**
 * Sends messages to a conversation (delivered to instance 1) every 200 ms until the subscriber hears one,
 * within `ms`: a subscription is live only once it has read the Page's Instagram link.
 */
async function heardOnce(subscriber: { next: () => Promise<string> }, conversation: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const heard = subscriber.next();
  let answered = false;
  void heard.then(() => (answered = true));
  while (!answered) {
    if (Date.now() > deadline) throw new Error(`no message heard within ${ms} ms`);
    await emulator.webhooks.sendMessage(conversation, { text: 'is anyone there?' });
    await Promise.race([heard, new Promise((resolve) => setTimeout(resolve, 200))]);
  }
}

/** One counter of an instance's /metrics. */
async function metricOf(instance: GatewayProcess, name: string): Promise<number> {
  const text = await (await fetch(`${instance.origin}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

/** Resolves with the value, or fails after `ms`. */
const within = <T>(ms: number, promise: Promise<T>, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)),
  ]);

describe('three instances on one Redis', () => {
  it('keep 30 clients within 2 calls per second per Page fleet-wide, with no throttle', { timeout: 60_000 }, async () => {
    emulator.log.clear();
    // Eight distinct lists, each asked for by several clients on every instance.
    const lists = Array.from({ length: 8 }, (_, i) => `first: ${i + 3}`);
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

  it(
    'relay a webhook delivered to instance 1 to a subscriber on instance 3, once, within 2 s; every instance reads the change ' +
      'within 1.5 s',
    async () => {
      const subscriber = await listen(fleet[2]!);
      try {
        const conversation = idsOf(await inbox(fleet[0]!))[6]!;
        // The subscription is live once a message comes through (subscribing reads the Page's Instagram link first).
        await heardOnce(subscriber, conversation, 5_000);

        // Every instance has this inbox cached: after the event, one instance fills it again for all.
        await Promise.all(fleet.map((instance) => inbox(instance)));
        emulator.log.clear();
        const sent = await emulator.webhooks.sendMessage(conversation, { text: 'Where is my order?' });
        expect(sent.deliveryStatus).toBe(200);
        const answered = Date.now();
        // Once: after the warm-up events, the next one heard is this message, then the one after it.
        let heard = await within(2_000, subscriber.next(), 'the event on instance 3');
        while (heard !== sent.id) heard = await within(2_000, subscriber.next(), 'the event on instance 3');
        expect(Date.now() - answered).toBeLessThan(2_000);
        await Promise.all(
          fleet.map(async (instance, i) => {
            await until(async () => idsOf(await inbox(instance))[0] === conversation, `instance ${i + 1} to show the change`, 1_500);
          }),
        );
        expect(spend().calls).toBe(1);
        const awaited = await Promise.all(fleet.map(async (instance) => metricOf(instance, 'gateway_cache_fills_awaited_total')));
        expect(awaited.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(1);
        const second = await emulator.webhooks.sendMessage(conversation, { text: 'Hello?' });
        expect(await within(2_000, subscriber.next(), 'the next event')).toBe(second.id);
      } finally {
        subscriber.close();
      }
    },
  );

  it('go on when one instance dies', async () => {
    fleet[1]!.child.kill('SIGKILL');
    await until(() => fleet[1]!.child.exitCode !== null || fleet[1]!.child.signalCode !== null, 'instance 2 to die');
    emulator.log.clear();
    for (const instance of [fleet[0]!, fleet[2]!]) {
      const answer = await inbox(instance, 'first: 21');
      expect(answer.errors).toBeUndefined();
      expect(idsOf(answer)).toHaveLength(21);
    }
    expect(spend().refused).toBe(0);
  });

  it('keep answering while Redis is away, and share again within 5 s of its return', { timeout: 30_000 }, async () => {
    const health = async (instance: GatewayProcess) =>
      (await (await fetch(`${instance.origin}/health`)).json()) as { status: string; redis: string };
    await redis.stop();
    for (const instance of [fleet[0]!, fleet[2]!]) {
      await until(async () => (await health(instance)).redis === 'degraded', 'the instance to notice', 3_000);
      expect(await health(instance)).toMatchObject({ status: 'degraded', redis: 'degraded' });
      const answer = await inbox(instance, 'first: 3');
      expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    }

    await redis.start();
    const back = Date.now();
    for (const instance of [fleet[0]!, fleet[2]!])
      await until(async () => (await health(instance)).redis === 'shared', 'the instance to rejoin', 5_000);
    // Fan-out works again: a delivery to instance 1 reaches a subscriber on instance 3.
    const subscriber = await listen(fleet[2]!);
    try {
      const conversation = idsOf(await inbox(fleet[0]!))[8]!;
      await heardOnce(subscriber, conversation, 5_000 - (Date.now() - back));
      expect(Date.now() - back).toBeLessThan(5_000);
    } finally {
      subscriber.close();
    }
  });
});
