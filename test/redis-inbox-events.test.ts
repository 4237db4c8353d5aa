/**
 * Inbox events and redeliveries a fleet shares through real Redis, end to end: an event Meta delivers to
 * one instance reaches the `inboxEvents` subscribers of every instance once, the delivering one included,
 * and a redelivery reaching another instance is dropped there. What every event stream and redelivery
 * filter does is the contract in test/shared-state-contracts.test.ts.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEMO, metaWebhookBody, signWebhookBody } from '../src/emulator/index.js';
import { RedisConnection } from '../src/redis/connection.js';
import { RedisInboxEventStream } from '../src/redis/inbox-events.js';
import { RedisRedeliveryFilter } from '../src/redis/redelivery.js';
import { createWebhookReceiver, WEBHOOK_PATH } from '../src/webhooks/receiver.js';
import { ACME, serveOnLoopback, startHarness } from './support/harness.js';
import { openEventStream, type EventStream } from './support/event-stream.js';
import { deleteKeys, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';
import { until } from './support/wait.js';
import { messageEvent as event } from './support/inbox-events.js';

const PREFIX = testPrefix('redis-inbox-events');
const connections: RedisConnection[] = [];

/** One instance's link to the test's Redis, shared once it answers (and subscribed). */
async function instance(): Promise<RedisConnection> {
  const connection = new RedisConnection({ url: TEST_REDIS_URL, keyPrefix: PREFIX, logger: recordingLogger() });
  connections.push(connection);
  return connection;
}
const shared = async (connection: RedisConnection): Promise<void> => {
  expect(await connection.settled(5_000)).toBe('shared');
};

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
});
afterAll(async () => {
  await deleteKeys(TEST_REDIS_URL, PREFIX);
});

describe('RedisInboxEventStream', () => {
  it("counts each instance's own subscribers only: every instance hears the channel and hands events to its own", async () => {
    const [ca, cb] = [await instance(), await instance()];
    const [a, b] = [new RedisInboxEventStream(ca), new RedisInboxEventStream(cb)];
    await shared(ca);
    await shared(cb);
    const onA = a.subscribe([ACME]);
    const onB = b.subscribe([ACME, '1000000002']);
    expect([a.listenerCount(ACME), b.listenerCount(ACME), a.listenerCount('1000000002'), b.listenerCount('1000000002')]).toEqual([
      1, 1, 0, 1,
    ]);
    await a.publish(event('m_1'));
    expect((await onB.next()).value).toEqual(event('m_1'));
    expect((await onA.next()).value).toEqual(event('m_1'));
    await onB.return!();
    expect([a.listenerCount(ACME), b.listenerCount(ACME)]).toEqual([1, 0]);
    await onA.return!();
  });
});

describe('two gateways sharing Redis (Meta delivers each webhook to one of them)', () => {
  /** Opens an SSE subscription on `origin`; the gateway must accept it. */
  async function subscribe(origin: string, query: string): Promise<EventStream<unknown>> {
    const stream = await openEventStream(`${origin}/graphql`, query);
    expect(stream.status).toBe(200);
    return stream;
  }

  const delivery = (mid: string, text: string): string =>
    JSON.stringify({
      object: 'page',
      entry: [
        {
          id: ACME,
          time: 1,
          messaging: [{ sender: { id: '7001' }, recipient: { id: ACME }, timestamp: 1_790_000_000_000, message: { mid, text } }],
        },
      ],
    });
  const deliver = (origin: string, body: string): Promise<Response> =>
    fetch(`${origin}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(DEMO.appSecret, body) },
      body,
    });

  it("relays a delivery to both gateways' subscribers once, and drops its redelivery to the other gateway", async () => {
    const gateways = await Promise.all(
      [1, 2].map(async () => {
        const connection = await instance();
        const events = new RedisInboxEventStream(connection);
        const redeliveries = new RedisRedeliveryFilter(connection);
        await shared(connection);
        const harness = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: events });
        const { server, origin } = await serveOnLoopback(harness.app, {
          webhooks: createWebhookReceiver({ appSecret: DEMO.appSecret, verifyToken: 'verify', bus: events, redeliveries }),
        });
        return { events, harness, server, origin };
      }),
    );
    const [a, b] = [gateways[0]!, gateways[1]!];
    try {
      const query = `subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { messageId text } }`;
      const [onA, onB] = [await subscribe(a.origin, query), await subscribe(b.origin, query)];
      await until(() => a.events.listenerCount(ACME) === 1 && b.events.listenerCount(ACME) === 1, 'both subscribers');
      // Subscribing proved each caller reads the inbox (one read on each gateway); events then cost nothing.
      expect([a.harness.emulator.log.requestCount, b.harness.emulator.log.requestCount]).toEqual([1, 1]);
      a.harness.emulator.log.clear();
      b.harness.emulator.log.clear();

      expect((await deliver(a.origin, delivery('m_fleet_1', 'to every gateway'))).status).toBe(200);
      // Meta redelivers it, and the load balancer sends it to the other gateway this time.
      expect((await deliver(b.origin, delivery('m_fleet_1', 'to every gateway'))).status).toBe(200);
      expect((await deliver(b.origin, delivery('m_fleet_2', 'second'))).status).toBe(200);

      for (const subscription of [onA, onB]) {
        expect(await subscription.next()).toEqual({ data: { inboxEvents: { messageId: 'm_fleet_1', text: 'to every gateway' } } });
        expect(await subscription.next()).toEqual({ data: { inboxEvents: { messageId: 'm_fleet_2', text: 'second' } } });
        subscription.close();
      }
      // No Graph call per event on either gateway.
      expect([a.harness.emulator.log.requestCount, b.harness.emulator.log.requestCount]).toEqual([0, 0]);
    } finally {
      for (const gateway of gateways) {
        await gateway.server.drain(0);
        await gateway.harness.close();
      }
    }
  });
  it('answers a delivery of 100 events well under a second (no round trip per event), all relayed in order', async () => {
    const connection = await instance();
    const events = new RedisInboxEventStream(connection);
    const redeliveries = new RedisRedeliveryFilter(connection);
    await shared(connection);
    const harness = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: events });
    const { server, origin } = await serveOnLoopback(harness.app, {
      webhooks: createWebhookReceiver({ appSecret: DEMO.appSecret, verifyToken: 'verify', bus: events, redeliveries }),
    });
    try {
      const subscription = await subscribe(origin, `subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { messageId } }`);
      await until(() => events.listenerCount(ACME) === 1, 'the subscriber');
      const messaging = Array.from({ length: 100 }, (_, i) => ({
        sender: { id: String(7001 + (i % 10)) },
        recipient: { id: ACME },
        timestamp: 1_790_000_000_000 + i,
        message: { mid: `m_batch_${i}`, text: `café/${i}` },
      }));
      const body = metaWebhookBody({ object: 'page', entry: [{ id: ACME, time: 1_790_000_000_100, messaging }] });
      const started = performance.now();
      expect((await deliver(origin, body)).status).toBe(200);
      expect(performance.now() - started).toBeLessThan(500);
      for (let i = 0; i < 100; i += 1) expect(await subscription.next()).toEqual({ data: { inboxEvents: { messageId: `m_batch_${i}` } } });
      subscription.close();
    } finally {
      await server.drain(0);
      await harness.close();
    }
  });
});
