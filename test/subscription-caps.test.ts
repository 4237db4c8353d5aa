/**
 * Caps on subscriptions, over server-sent events and WebSockets together, with the clients frontends use
 * (graphql-sse's, graphql-ws's, and a GraphiQL-style event stream): per client address and per instance.
 * Past a cap: TOO_MANY_SUBSCRIPTIONS, and nothing starts; a slot comes back when its subscription ends,
 * however it ends. Two clients: this process from 127.0.0.1, and from 127.0.0.2 (both loopback).
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client, type ExecutionResult } from 'graphql-ws';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO } from '../src/emulator/index.js';
import type { GatewayServer } from '../src/http-server.js';
import { createSubscriptionCaps, type SubscriptionCaps } from '../src/subscription-caps.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { openEventStream } from './support/event-stream.js';
import { ACME, serveOnLoopback, startHarness, type Harness } from './support/harness.js';
import { listening } from './support/inbox-events.js';
import { until } from './support/wait.js';

/** Small caps: 3 subscriptions per client, 4 for the instance. */
const MAX_PER_CLIENT = 3;
const MAX = 4;
const HERE = '127.0.0.1';
const ELSEWHERE = '127.0.0.2';
// Both platforms: subscribing reads which Instagram account the Page links (a Graph call), so a refusal shows it made none.
const EVENTS = `subscription { inboxEvents(pageId: "${ACME}") { kind messageId } }`;

let caps: SubscriptionCaps;
let bus: InboxEventBus;
let h: Harness;
let server: GatewayServer;
let origin = '';
/** Connections from ELSEWHERE, for fetch. */
const elsewhere = new Agent({ localAddress: ELSEWHERE });

beforeAll(async () => {
  caps = createSubscriptionCaps({ maxSubscriptions: MAX, maxSubscriptionsPerClient: MAX_PER_CLIENT });
  bus = new InboxEventBus();
  h = await startHarness({ inboxEvents: bus, subscriptionCaps: caps });
  ({ server, origin } = await serveOnLoopback(h.app, { webSocket: { subscriptionCaps: caps } }));
});
afterAll(async () => {
  await server.drain(0);
  await h.close();
  await elsewhere.close();
});

/** What a test opened, closed after it; then every slot must be back. */
const opened: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((close) => close()));
  await until(() => caps.size === 0 && bus.listenerCount(ACME) === 0, 'every subscription to end');
  h.emulator.log.clear();
});

/** graphql-ws's client, from `from`; no retries, so a refusal shows at once. */
function wsClient(from: string = HERE): Client {
  class FromAddress extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { localAddress: from });
    }
  }
  const client = createWsClient({ url: `${origin.replace(/^http/, 'ws')}/graphql`, webSocketImpl: FromAddress, retryAttempts: 0 });
  opened.push(() => client.dispose());
  return client;
}

/** graphql-sse's client (a POST per subscription), from `from`. */
function sseClient(from: string = HERE) {
  const client = createSseClient({
    url: `${origin}/graphql`,
    retryAttempts: 0,
    fetchFn: (input: string, init: RequestInit) =>
      from === HERE ? fetch(input, init) : undiciFetch(input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: elsewhere }),
  });
  opened.push(() => client.dispose());
  return client;
}

/** A GraphiQL-style event stream (GET, `Accept: text/event-stream`) from here. */
async function eventStream() {
  const stream = await openEventStream<ExecutionResult>(`${origin}/graphql`, EVENTS);
  opened.push(() => stream.close());
  return stream;
}

/** Apollo's multipart subscription (what `HttpLink` alone sends) from here; resolves once the response started. */
async function multipartSubscription() {
  const controller = new AbortController();
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json' },
    body: JSON.stringify({ query: EVENTS }),
  });
  opened.push(() => controller.abort());
  return response;
}

const refusal = (per: 'client' | 'instance', maxSubscriptions: number) =>
  expect.objectContaining({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', maxSubscriptions, per } });

describe('per client (MAX_SUBSCRIPTIONS_PER_CLIENT)', () => {
  it("counts Apollo's multipart subscriptions too, refuses past the cap (JSON), and gives the slot back", async () => {
    const held = await Promise.all(Array.from({ length: MAX_PER_CLIENT }, () => multipartSubscription()));
    expect(held.map((response) => response.status)).toEqual(Array(MAX_PER_CLIENT).fill(200));
    await listening(bus, ACME, MAX_PER_CLIENT);
    expect(caps.heldBy(HERE)).toBe(MAX_PER_CLIENT);
    h.emulator.log.clear();
    const refused = await multipartSubscription();
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await refused.json()) as { errors: unknown[] }).errors).toEqual([refusal('client', MAX_PER_CLIENT)]);
    expect(h.emulator.log.requestCount).toBe(0);
    await held[0]!.body!.cancel();
    await until(() => caps.heldBy(HERE) === MAX_PER_CLIENT - 1, 'the cancelled multipart response to give its slot back');
  });

  it('counts both transports together, refuses the next with TOO_MANY_SUBSCRIPTIONS, and takes one again once one ends', async () => {
    const stream = await eventStream();
    const sse = sseClient().iterate({ query: EVENTS });
    void sse.next();
    const ws = wsClient();
    const overSocket = ws.iterate({ query: EVENTS });
    void overSocket.next();
    await listening(bus, ACME, MAX_PER_CLIENT);
    expect(caps.heldBy(HERE)).toBe(MAX_PER_CLIENT);
    h.emulator.log.clear();

    // Over server-sent events: the stream's one result is the refusal. Over the socket: graphql-ws's `error` message.
    expect((await (await eventStream()).next()).errors).toEqual([refusal('client', MAX_PER_CLIENT)]);
    expect(await sseClient().iterate({ query: EVENTS }).next()).toEqual({
      done: false,
      value: { errors: [refusal('client', MAX_PER_CLIENT)] },
    });
    await expect(ws.iterate({ query: EVENTS }).next()).rejects.toEqual([refusal('client', MAX_PER_CLIENT)]);
    // Nothing started for them: no listener, no Graph call (a subscription reads the Page's Instagram link first).
    expect(bus.listenerCount(ACME)).toBe(MAX_PER_CLIENT);
    expect(h.emulator.log.requestCount).toBe(0);
    expect(caps.heldBy(HERE)).toBe(MAX_PER_CLIENT);

    // The client closes the stream: its slot comes back, and the next subscription is taken, over either transport.
    stream.close();
    await until(() => caps.heldBy(HERE) === MAX_PER_CLIENT - 1, 'the closed stream to give its slot back');
    void ws.iterate({ query: EVENTS }).next();
    await listening(bus, ACME, MAX_PER_CLIENT);
    expect(caps.heldBy(HERE)).toBe(MAX_PER_CLIENT);
  });

  it('counts each client apart: another address subscribes while this one is at its cap', async () => {
    const here = wsClient();
    for (let i = 0; i < MAX_PER_CLIENT; i += 1) void here.iterate({ query: EVENTS }).next();
    await listening(bus, ACME, MAX_PER_CLIENT);
    void wsClient(ELSEWHERE).iterate({ query: EVENTS }).next();
    await listening(bus, ACME, MAX_PER_CLIENT + 1);
    expect([caps.heldBy(HERE), caps.heldBy(ELSEWHERE)]).toEqual([MAX_PER_CLIENT, 1]);
  });
});

describe('per instance (MAX_SUBSCRIPTIONS)', () => {
  it('refuses any client past the cap, and takes one again when a subscription completes or its socket closes', async () => {
    const here = wsClient();
    const first = here.iterate({ query: EVENTS });
    void first.next();
    for (let i = 1; i < MAX_PER_CLIENT; i += 1) void here.iterate({ query: EVENTS }).next();
    const there = wsClient(ELSEWHERE);
    void there.iterate({ query: EVENTS }).next();
    await listening(bus, ACME, MAX);

    // 127.0.0.2 holds 1 of its 3: the instance's cap refuses it, over either transport.
    expect(await sseClient(ELSEWHERE).iterate({ query: EVENTS }).next()).toEqual({
      done: false,
      value: { errors: [refusal('instance', MAX)] },
    });
    await expect(there.iterate({ query: EVENTS }).next()).rejects.toEqual([refusal('instance', MAX)]);

    // A subscription completed by its client gives its slot back.
    await first.return?.();
    await until(() => caps.size === MAX - 1, 'the completed subscription to give its slot back');
    const sse = sseClient(ELSEWHERE).iterate({ query: EVENTS });
    void sse.next();
    await listening(bus, ACME, MAX);
    expect(caps.heldBy(ELSEWHERE)).toBe(2);

    // A socket closed gives back every slot it held.
    await here.dispose();
    await until(() => caps.size === 2, "the closed socket's subscriptions to give their slots back");
    expect(caps.heldBy(HERE)).toBe(0);
  });

  it('holds no slot for a subscription that fails to start (a Page the caller does not reach)', async () => {
    const refused = createSseClient({
      url: `${origin}/graphql`,
      headers: { authorization: `Bearer ${DEMO.tokens.bob}` },
      retryAttempts: 0,
    });
    opened.push(() => refused.dispose());
    const result = await refused.iterate({ query: EVENTS }).next();
    expect((result.value as ExecutionResult).errors?.[0]?.extensions?.code).toBe('PAGE_NOT_ACCESSIBLE');
    await until(() => caps.size === 0, 'the failed subscription to give its slot back');
  });
});
