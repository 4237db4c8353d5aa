/**
 * Live inbox events and operations through the clients frontends use: graphql-ws's own client, Apollo
 * Client (`GraphQLWsLink`, and `HttpLink` alone, over Apollo's multipart subscriptions), and urql over
 * graphql-ws and over server-sent events (graphql-sse's client). Meta's webhooks are played by the
 * emulator, as in inbox-events.test.ts; the gateway runs on its own node:http server, as `npm start` runs it.
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client as UrqlClient, fetchExchange, subscriptionExchange, type OperationResult } from '@urql/core';
import { print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient, type Client, type ClientOptions, type ExecutionResult, type Sink, type SubscribePayload } from 'graphql-ws';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { allowedOriginsOf } from '../src/allowed-origins.js';
import { DEMO } from '../src/emulator/index.js';
import type { GatewayServer } from '../src/http-server.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { InboxEventsExampleDocument } from './generated/graphql.js';
import persistedDocuments from './generated/persisted-documents.json' with { type: 'json' };
import { ACME, BISTRO, assertNoSecrets, serveOnLoopback, serveWithWebhooks, startHarness, type Harness } from './support/harness.js';
import { firstConversation, listening } from './support/inbox-events.js';
import { until } from './support/wait.js';

// Low limits, so that short documents show the depth and cost checks run on the socket.
const LIMITS = { maxDepth: 5, maxCost: 200 };
let h: Harness;
let bus: InboxEventBus;
let server: GatewayServer;
let origin = '';

beforeAll(async () => {
  bus = new InboxEventBus();
  h = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: bus, limits: LIMITS });
  ({ server, origin } = await serveWithWebhooks(h, bus, { webSocket: { maxSubscriptionsPerConnection: 2 } }));
});
afterAll(async () => {
  await server.drain(0);
  await h.close();
});

/** Clients a test opened, disposed after it. */
const opened: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((dispose) => dispose()));
  await until(() => bus.listenerCount(ACME) + bus.listenerCount(DEMO.pages.acme.instagramId) === 0, 'the subscribers to leave');
});
beforeEach(() => h.emulator.log.clear());

const wsUrl = (at: string): string => `${at.replace(/^http/, 'ws')}/graphql`;

/** graphql-ws's client on `ws`; no retries, so a refusal shows at once. Every message it receives is checked for secrets. */
function wsClient(options: Partial<ClientOptions> = {}, at = origin): Client {
  const client = createClient({
    url: wsUrl(at),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    on: { message: (message) => assertNoSecrets(JSON.stringify(message)) },
    ...options,
  });
  opened.push(() => client.dispose());
  return client;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const MESSENGER_EVENTS =
  `subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { kind platform pageId customerId ` + `messageId text } }`;

describe("graphql-ws's client", () => {
  it('subscribes to inboxEvents with the token of its connection params and receives a message with its fields', async () => {
    const client = wsClient({ connectionParams: bearer(DEMO.tokens.alice) });
    const events = client.iterate({ query: MESSENGER_EVENTS });
    const first = events.next();
    await listening(bus, ACME);
    const conversation = firstConversation(h.emulator, 'messenger');
    const sent = await h.emulator.webhooks.sendMessage(conversation.id, { text: 'Over the socket' });
    expect((await first).value).toEqual({
      data: {
        inboxEvents: {
          kind: 'MESSAGE',
          platform: 'MESSENGER',
          pageId: ACME,
          customerId: conversation.customerId,
          messageId: sent.id,
          text: 'Over the socket',
        },
      },
    });
    await events.return?.();
  });

  it('uses the default token without connection params, and takes `authorization` in lower case', async () => {
    const plain = wsClient().iterate({ query: MESSENGER_EVENTS });
    const lower = wsClient({ connectionParams: { authorization: `Bearer ${DEMO.tokens.alice}` } }).iterate({ query: MESSENGER_EVENTS });
    const [first, second] = [plain.next(), lower.next()];
    await listening(bus, ACME, 2);
    const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'to both' });
    expect((await first).value).toMatchObject({ data: { inboxEvents: { messageId: sent.id, text: 'to both' } } });
    expect((await second).value).toMatchObject({ data: { inboxEvents: { messageId: sent.id, text: 'to both' } } });
  });

  it('refuses a Page the caller does not reach with PAGE_NOT_ACCESSIBLE, and starts no listener', async () => {
    // Bob reaches Bistro only; the default token (Acme's) would reach Acme: the connection's token is the one used.
    const bob = wsClient({ connectionParams: bearer(DEMO.tokens.bob) });
    const refused = await bob.iterate({ query: MESSENGER_EVENTS }).next();
    expect(refused.value).toEqual({
      errors: [expect.objectContaining({ path: ['inboxEvents'], extensions: { code: 'PAGE_NOT_ACCESSIBLE' } })],
    });
    expect(bus.listenerCount(ACME)).toBe(0);
    const withDefault = await wsClient()
      .iterate({ query: `subscription { inboxEvents(pageId: "${BISTRO}") { messageId } }` })
      .next();
    expect((withDefault.value as ExecutionResult).errors?.[0]?.extensions?.code).toBe('PAGE_NOT_ACCESSIBLE');
    expect(bus.listenerCount(BISTRO)).toBe(0);
  });

  it('closes the socket with 4401 and a reason when Authorization is not "Bearer <token>", never echoing the value', async () => {
    for (const authorization of [`Basic ${DEMO.tokens.alice}`, 'Bearer', DEMO.tokens.alice, 42]) {
      const closes: Array<{ code: number; reason: string }> = [];
      const client = wsClient({
        connectionParams: { Authorization: authorization },
        on: { closed: (event) => closes.push(event as { code: number; reason: string }) },
      });
      await expect(client.iterate({ query: MESSENGER_EVENTS }).next()).rejects.toMatchObject({ code: 4401 });
      expect(closes).toEqual([
        expect.objectContaining({ code: 4401, reason: 'The Authorization connection param must be "Bearer <access token>".' }),
      ]);
    }
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('answers queries on the socket, and refuses too deep, too costly and too long documents as HTTP does; it stays open', async () => {
    const client = wsClient();
    /** The socket's answer: a result, or the errors of graphql-ws's `error` message (documents refused before they run). */
    const overSocket = (query: string) =>
      client
        .iterate({ query })
        .next()
        .then(
          ({ value }) => value as ExecutionResult,
          (errors: unknown) => ({ errors }),
        );
    const overHttp = async (query: string) => (await h.post({ query })).body;

    expect(await overSocket(`{ page(id: "${ACME}") { graphApiId name } }`)).toEqual({
      data: { page: { graphApiId: ACME, name: 'Acme Shop' } },
    });
    h.emulator.log.clear();
    const tooDeep = `{ node(id: "x") { ... on Conversation { messages { edges { node { from { name } } } } } } }`;
    const tooCostly =
      `{ page(id: "${ACME}") { a: conversations(first: 100) { edges { cursor } } b: conversations(first: 100) { edges ` +
      `{ cursor } } c: conversations(first: 100) { edges { cursor } } } }`;
    const tooLong = `{ ${Array.from({ length: 800 }, (_, i) => `f${i}: __typename`).join(' ')} }`;
    const expected = {
      [tooDeep]: { code: 'QUERY_TOO_DEEP', depth: 6, maxDepth: LIMITS.maxDepth },
      [tooCostly]: { code: 'QUERY_TOO_COSTLY', cost: 300, maxCost: LIMITS.maxCost },
      [tooLong]: { code: 'GRAPHQL_PARSE_FAILED' },
      '{ nope }': { code: 'GRAPHQL_VALIDATION_FAILED' },
    };
    for (const [query, extensions] of Object.entries(expected)) {
      const answer = await overSocket(query);
      expect(answer).toEqual({ errors: [expect.objectContaining({ extensions })] });
      // Word for word what the HTTP endpoint answers.
      expect(answer).toEqual(await overHttp(query));
    }
    expect(h.emulator.log.requestCount).toBe(0);
    // The same socket still answers.
    expect(await overSocket(`{ page(id: "${ACME}") { graphApiId } }`)).toEqual({ data: { page: { graphApiId: ACME } } });
  });

  it.each([
    { name: 'BAD_NODE_ID for a malformed node id', code: 'BAD_NODE_ID', payload: { query: '{ node(id: "x") { id } }' } },
    {
      name: 'BAD_NODE_ID for a well-formed id of no type it serves',
      code: 'BAD_NODE_ID',
      payload: { query: `{ node(id: "${Buffer.from('Nothing:1').toString('base64')}") { id } }` },
    },
    {
      name: "PAGE_NOT_ACCESSIBLE for a Page the connection's token does not reach",
      code: 'PAGE_NOT_ACCESSIBLE',
      token: DEMO.tokens.bob,
      payload: { query: `{ page(id: "${ACME}") { conversations(first: 1) { edges { cursor } } } }` },
    },
    {
      name: 'BAD_CURSOR for a cursor it did not issue',
      code: 'BAD_CURSOR',
      payload: { query: `{ page(id: "${ACME}") { conversations(first: 1, after: "nope") { edges { cursor } } } }` },
    },
    {
      name: 'BAD_USER_INPUT for a variable of the wrong type (graphql-js leaves it uncoded)',
      code: 'BAD_USER_INPUT',
      payload: {
        query: `query Conversations($first: Int) { page(id: "${ACME}") { conversations(first: $first) { edges { cursor } } } }`,
        variables: { first: 'ten' },
      },
    },
  ])(
    'answers an error raised as the operation runs with the code and words of the HTTP answer: $name',
    async ({ code, token, payload }) => {
      const client = wsClient(token === undefined ? {} : { connectionParams: bearer(token) });
      const overSocket = (await client.iterate(payload).next()).value as ExecutionResult;
      const overHttp = (await h.post(payload, token === undefined ? {} : { authorization: `Bearer ${token}` })).body;
      expect(overSocket.errors).toEqual([expect.objectContaining({ extensions: { code } })]);
      expect(overSocket).toEqual(overHttp);
    },
  );

  it(
    `holds at most 2 subscriptions per connection (this server's cap), refuses the next with TOO_MANY_SUBSCRIPTIONS, and frees a slot ` +
      `on complete`,
    async () => {
      const client = wsClient();
      const first = client.iterate({ query: MESSENGER_EVENTS });
      const second = client.iterate({ query: MESSENGER_EVENTS });
      const [firstEvent, secondEvent] = [first.next(), second.next()];
      await listening(bus, ACME, 2);
      await expect(client.iterate({ query: MESSENGER_EVENTS }).next()).rejects.toEqual([
        expect.objectContaining({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', maxSubscriptions: 2, per: 'connection' } }),
      ]);
      // Queries do not count, and the two subscriptions still deliver.
      expect(await client.iterate({ query: `{ page(id: "${ACME}") { graphApiId } }` }).next()).toMatchObject({
        value: { data: { page: { graphApiId: ACME } } },
      });
      const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'both slots' });
      expect((await firstEvent).value).toMatchObject({ data: { inboxEvents: { messageId: sent.id } } });
      expect((await secondEvent).value).toMatchObject({ data: { inboxEvents: { messageId: sent.id } } });

      await first.return?.();
      await until(() => bus.listenerCount(ACME) === 1, 'the first subscription to end');
      const third = client.iterate({ query: MESSENGER_EVENTS });
      const thirdEvent = third.next();
      await listening(bus, ACME, 2);
      const again = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'freed slot' });
      expect((await thirdEvent).value).toMatchObject({ data: { inboxEvents: { messageId: again.id, text: 'freed slot' } } });
    },
  );

  it('is closed with 1001 when the server drains for a shutdown, at once rather than at the grace deadline', async () => {
    const { server: draining, origin: drainingOrigin } = await serveOnLoopback(h.app);
    const closes: number[] = [];
    const client = wsClient({ on: { closed: (event) => closes.push((event as { code: number }).code) } }, drainingOrigin);
    const events = client.iterate({ query: MESSENGER_EVENTS });
    const next = events.next();
    await listening(bus, ACME);
    const started = performance.now();
    // A grace period far longer than the test's own timeout: only closing the socket lets this end.
    await draining.drain(600_000);
    expect(performance.now() - started).toBeLessThan(2_000);
    await expect(next).rejects.toMatchObject({ code: 1001 });
    expect(closes).toEqual([1001]);
    await until(() => bus.listenerCount(ACME) === 0, 'the subscriber to leave');
  });

  it('follows the persisted-operations manifest: text refused when only persisted operations run, a known hash served', async () => {
    const documents = new Map(Object.entries(persistedDocuments as Record<string, string>));
    const persisted = await startHarness({ inboxEvents: bus, persistedOperations: { documents, only: true } });
    const { server: persistedServer, origin: persistedOrigin } = await serveOnLoopback(persisted.app, {
      webSocket: { persistedOperations: { documents, only: true } },
    });
    try {
      const client = wsClient({}, persistedOrigin);
      await expect(client.iterate({ query: `{ page(id: "${ACME}") { graphApiId } }` }).next()).rejects.toEqual([
        expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ONLY' } }),
      ]);
      const hash = (InboxEventsExampleDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;
      const events = client.iterate({ query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      const next = events.next();
      await listening(bus, ACME);
      // Deliveries reach this suite's server, whose bus both gateways share.
      const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'by hash' });
      expect((await next).value).toMatchObject({ data: { inboxEvents: { kind: 'MESSAGE', messageId: sent.id, text: 'by hash' } } });
      await events.return?.();
    } finally {
      await persistedServer.drain(0);
      await persisted.close();
    }
  });
});

describe('the same errors over HTTP and the socket', () => {
  /** The first result of `payload` over HTTP (JSON or one server-sent event) and over the socket, as `[http, socket]` errors. */
  async function overBoth(payload: SubscribePayload, token: string = DEMO.tokens.alice): Promise<[unknown, unknown]> {
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(token) },
      body: JSON.stringify(payload),
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.startsWith('text/event-stream')
      ? JSON.parse(/^data: (.*)$/m.exec(text)![1]!)
      : JSON.parse(text);
    const socket = wsClient({ connectionParams: bearer(token) }).iterate(payload);
    const overSocket = await socket.next().then(
      (result) => (result.value as ExecutionResult).errors,
      (errors: unknown) => errors,
    );
    return [(json as ExecutionResult).errors, overSocket];
  }
  const codes = (errors: unknown): unknown => (errors as Array<{ extensions?: { code?: unknown } }>).map((error) => error.extensions?.code);

  it('an invalid query: GRAPHQL_VALIDATION_FAILED both ways', async () => {
    const [http, socket] = await overBoth({ query: '{ nope }' });
    expect([codes(http), codes(socket)]).toEqual([['GRAPHQL_VALIDATION_FAILED'], ['GRAPHQL_VALIDATION_FAILED']]);
  });

  it('a query that does not parse: GRAPHQL_PARSE_FAILED both ways', async () => {
    const [http, socket] = await overBoth({ query: '{ page(' });
    expect([codes(http), codes(socket)]).toEqual([['GRAPHQL_PARSE_FAILED'], ['GRAPHQL_PARSE_FAILED']]);
  });

  it('a subscription with a token Graph refuses: the same code both ways', async () => {
    const [http, socket] = await overBoth({ query: MESSENGER_EVENTS }, 'not-a-real-token');
    expect(codes(socket)).toEqual(codes(http));
    expect(codes(http)).toEqual(['GRAPH_TOKEN_INVALID']);
  });

  it('a subscription with no token and no default token: UNAUTHENTICATED both ways', async () => {
    const anonymous = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: bus, defaultAccessToken: undefined });
    const served = await serveOnLoopback(anonymous.app);
    try {
      const response = await fetch(`${served.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ query: MESSENGER_EVENTS }),
      });
      const text = await response.text();
      const json = response.headers.get('content-type')?.startsWith('text/event-stream') ? /^data: (.*)$/m.exec(text)![1]! : text;
      const overHttp = (JSON.parse(json) as ExecutionResult).errors;
      const overSocket = await wsClient({}, served.origin)
        .iterate({ query: MESSENGER_EVENTS })
        .next()
        .then(
          (result) => (result.value as ExecutionResult).errors,
          (errors: unknown) => errors,
        );
      expect([codes(overHttp), codes(overSocket)]).toEqual([['UNAUTHENTICATED'], ['UNAUTHENTICATED']]);
    } finally {
      await served.server.drain(0);
      await anonymous.close();
    }
  });

  it('a query past the cost limit: the same code both ways', async () => {
    const query =
      `{ page(id: "${ACME}") { a: conversations(first: 100) { edges { cursor } } b: conversations(first: 100) { edges ` +
      `{ cursor } } c: conversations(first: 100) { edges { cursor } } } }`;
    const [http, socket] = await overBoth({ query });
    expect(codes(socket)).toEqual(codes(http));
    expect(codes(http)).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('a hash alone without a manifest: PersistedQueryNotSupported both ways', async () => {
    const payload = { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } };
    const [http, socket] = await overBoth(payload);
    expect([http, socket]).toEqual([
      [{ message: 'PersistedQueryNotSupported', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } }],
      [{ message: 'PersistedQueryNotSupported', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } }],
    ]);
  });
});

describe('Apollo Client', () => {
  const cache = () => new InMemoryCache();

  it('GraphQLWsLink: receives inbox events, and PAGE_NOT_ACCESSIBLE as a GraphQL error', async () => {
    const wsLink = new GraphQLWsLink(wsClient({ connectionParams: bearer(DEMO.tokens.alice) }));
    const apollo = new ApolloClient({ link: wsLink, cache: cache() });
    opened.push(() => apollo.stop());
    const first = firstValueFrom(apollo.subscribe({ query: gql(print(InboxEventsExampleDocument)) }));
    await listening(bus, ACME);
    await listening(bus, DEMO.pages.acme.instagramId);
    const conversation = firstConversation(h.emulator, 'instagram');
    const sent = await h.emulator.webhooks.sendMessage(conversation.id, { text: 'from Apollo' });
    expect((await first).data).toEqual({
      inboxEvents: {
        __typename: 'InboxEvent',
        kind: 'MESSAGE',
        platform: 'INSTAGRAM',
        customerId: conversation.customerId,
        messageId: sent.id,
        text: 'from Apollo',
        time: new Date(Date.parse(sent.createdTime)).toISOString(),
      },
    });

    const bob = new ApolloClient({ link: new GraphQLWsLink(wsClient({ connectionParams: bearer(DEMO.tokens.bob) })), cache: cache() });
    opened.push(() => bob.stop());
    const refused = await firstValueFrom(bob.subscribe({ query: gql(MESSENGER_EVENTS) }));
    expect(refused.error).toMatchObject({ errors: [expect.objectContaining({ extensions: { code: 'PAGE_NOT_ACCESSIBLE' } })] });
  });

  it('HttpLink alone (multipart subscriptions): receives inbox events, and PAGE_NOT_ACCESSIBLE as a GraphQL error', async () => {
    const apollo = new ApolloClient({
      link: new HttpLink({ uri: `${origin}/graphql`, headers: bearer(DEMO.tokens.alice) }),
      cache: cache(),
    });
    opened.push(() => apollo.stop());
    const first = firstValueFrom(apollo.subscribe({ query: gql(MESSENGER_EVENTS) }));
    await listening(bus, ACME);
    const conversation = firstConversation(h.emulator, 'messenger');
    const sent = await h.emulator.webhooks.sendMessage(conversation.id, { text: 'over multipart' });
    expect((await first).data).toEqual({
      inboxEvents: {
        __typename: 'InboxEvent',
        kind: 'MESSAGE',
        platform: 'MESSENGER',
        pageId: ACME,
        customerId: conversation.customerId,
        messageId: sent.id,
        text: 'over multipart',
      },
    });

    const bob = new ApolloClient({ link: new HttpLink({ uri: `${origin}/graphql`, headers: bearer(DEMO.tokens.bob) }), cache: cache() });
    opened.push(() => bob.stop());
    const refused = await firstValueFrom(bob.subscribe({ query: gql(MESSENGER_EVENTS) }));
    expect(refused.error).toMatchObject({ errors: [expect.objectContaining({ extensions: { code: 'PAGE_NOT_ACCESSIBLE' } })] });
  });

  it("multipart on the wire: Apollo's subscription protocol, boundary graphql, each result under payload", async () => {
    const controller = new AbortController();
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json',
        ...bearer(DEMO.tokens.alice),
      },
      body: JSON.stringify({ query: `subscription { inboxEvents(pageId: "${ACME}", platform: MESSENGER) { kind text } }` }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec=1.0');
    await listening(bus, ACME);
    await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'wire' });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('"wire"')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toBe(
      '\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n' +
        '{"payload":{"data":{"inboxEvents":{"kind":"MESSAGE","text":"wire"}}}}\r\n--graphql',
    );
    controller.abort();
    await reader.cancel().catch(() => undefined);
  });

  it('ApolloLink.split: queries over HTTP, subscriptions over the socket (the README setup)', async () => {
    const link = ApolloLink.split(
      ({ operationType }) => operationType === 'subscription',
      new GraphQLWsLink(wsClient()),
      new HttpLink({ uri: `${origin}/graphql` }),
    );
    const apollo = new ApolloClient({ link, cache: cache() });
    opened.push(() => apollo.stop());
    const page = await apollo.query({ query: gql`{ page(id: "${ACME}") { graphApiId name } }` });
    expect(page.data).toEqual({ page: { __typename: 'Page', graphApiId: ACME, name: 'Acme Shop' } });
    const first = firstValueFrom(apollo.subscribe({ query: gql(MESSENGER_EVENTS) }));
    await listening(bus, ACME);
    const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'split' });
    expect((await first).data).toMatchObject({ inboxEvents: { messageId: sent.id, text: 'split' } });
  });
});

describe('urql', () => {
  /** The urql client the README shows, with subscriptions forwarded to `forward`. */
  const urqlClient = <Result>(forward: (request: SubscribePayload, sink: Sink<Result>) => () => void) =>
    new UrqlClient({
      url: `${origin}/graphql`,
      exchanges: [
        subscriptionExchange({
          forwardSubscription: (request) => ({
            // urql's result type and the clients' differ only in how optional fields are spelled (exactOptionalPropertyTypes).
            subscribe: (sink) => ({ unsubscribe: forward({ ...request, query: request.query ?? '' }, sink as Sink<Result>) }),
          }),
        }),
        fetchExchange,
      ],
    });

  /** The first result of a subscription; the subscription ends with it. */
  const firstResult = (client: UrqlClient, query: string) =>
    new Promise<OperationResult>((resolve) => {
      const { unsubscribe } = client.subscription(query, {}).subscribe((result) => {
        resolve(result);
        queueMicrotask(() => unsubscribe());
      });
    });

  it('subscriptionExchange over graphql-ws receives inbox events', async () => {
    const ws = wsClient({ connectionParams: bearer(DEMO.tokens.alice) });
    const urql = urqlClient((request, sink) => ws.subscribe(request, sink));
    const first = firstResult(urql, MESSENGER_EVENTS);
    await listening(bus, ACME);
    const conversation = firstConversation(h.emulator, 'messenger');
    const sent = await h.emulator.webhooks.sendMessage(conversation.id, { text: 'from urql over ws' });
    expect((await first).data).toEqual({
      inboxEvents: {
        kind: 'MESSAGE',
        platform: 'MESSENGER',
        pageId: ACME,
        customerId: conversation.customerId,
        messageId: sent.id,
        text: 'from urql over ws',
      },
    });
  });

  it("subscriptionExchange over server-sent events (graphql-sse's client) receives inbox events and PAGE_NOT_ACCESSIBLE", async () => {
    const sse = createSseClient({ url: `${origin}/graphql`, headers: bearer(DEMO.tokens.alice), retryAttempts: 0 });
    opened.push(() => sse.dispose());
    const urql = urqlClient(({ query, variables }, sink) => sse.subscribe({ query, ...(variables ? { variables } : {}) }, sink));
    const first = firstResult(urql, MESSENGER_EVENTS);
    await listening(bus, ACME);
    const sent = await h.emulator.webhooks.sendMessage(firstConversation(h.emulator, 'messenger').id, { text: 'from urql over SSE' });
    expect((await first).data).toMatchObject({ inboxEvents: { kind: 'MESSAGE', messageId: sent.id, text: 'from urql over SSE' } });

    const bob = createSseClient({ url: `${origin}/graphql`, headers: bearer(DEMO.tokens.bob), retryAttempts: 0 });
    opened.push(() => bob.dispose());
    const refused = await firstResult(
      urqlClient(({ query }, sink) => bob.subscribe({ query }, sink)),
      MESSENGER_EVENTS,
    );
    expect(refused.error?.graphQLErrors[0]?.extensions.code).toBe('PAGE_NOT_ACCESSIBLE');
  });
});

describe('the upgrade request', () => {
  /** Opens a bare socket; resolves with the HTTP status the upgrade was refused with (and the refusal's code), or 101. */
  const answerTo = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; code?: string }>((resolve, reject) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
      socket.once('open', () => {
        socket.close();
        resolve({ status: 101 });
      });
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.once('end', () => {
          const refusal = JSON.parse(body) as { errors: Array<{ extensions: { code: string } }> };
          resolve({ status: response.statusCode ?? 0, code: refusal.errors[0]!.extensions.code });
        });
      });
      socket.once('error', (error) => {
        if (!/Unexpected server response/.test(error.message)) reject(error);
      });
    });
  const upgrade = async (url: string, headers: Record<string, string> = {}) => (await answerTo(url, headers)).status;

  it('is served at /graphql only, to pages of the same origin (others need CORS_ORIGINS), and to clients that send no Origin', async () => {
    expect(await upgrade(wsUrl(origin))).toBe(101);
    expect(await upgrade(wsUrl(origin), { origin })).toBe(101);
    expect(await upgrade(wsUrl(origin), { origin: 'https://elsewhere.example' })).toBe(403);
    expect(await upgrade(`${origin.replace(/^http/, 'ws')}/metrics`)).toBe(404);
    const { server: open, origin: openOrigin } = await serveOnLoopback(h.app, {
      webSocket: { allowedOrigins: ['https://inbox.example'] },
    });
    try {
      expect(await upgrade(wsUrl(openOrigin), { origin: 'https://inbox.example' })).toBe(101);
      expect(await upgrade(wsUrl(openOrigin), { origin: 'https://elsewhere.example' })).toBe(403);
      expect(await upgrade(wsUrl(openOrigin), { origin: 'http://localhost:5173' })).toBe(403);
    } finally {
      await open.drain(0);
    }
  });

  it('by default (no CORS_ORIGINS), in development: pages on this machine only, as CORS; in production: none', async () => {
    const development = await serveOnLoopback(h.app, { webSocket: { allowedOrigins: allowedOriginsOf(undefined, false) } });
    const production = await serveOnLoopback(h.app, { webSocket: { allowedOrigins: allowedOriginsOf(undefined, true) } });
    try {
      for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', 'https://[::1]:3000']) {
        expect(await answerTo(wsUrl(development.origin), { origin }), origin).toEqual({ status: 101 });
        expect(await answerTo(wsUrl(production.origin), { origin }), origin).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
      }
      for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'null']) {
        expect(await answerTo(wsUrl(development.origin), { origin }), origin).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
      }
      // The gateway's own pages, and clients that are not browsers, either way.
      for (const { origin: at } of [development, production]) {
        expect(await answerTo(wsUrl(at), { origin: at })).toEqual({ status: 101 });
        expect(await answerTo(wsUrl(at))).toEqual({ status: 101 });
      }
    } finally {
      await Promise.all([development.server.drain(0), production.server.drain(0)]);
    }
  });

  it('a subscription over HTTP whose Accept takes neither server-sent events nor multipart gets a JSON 406 with a code', async () => {
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: MESSENGER_EVENTS }),
    });
    expect(response.status).toBe(406);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
    expect(body.errors).toEqual([
      {
        message:
          'Subscriptions over HTTP are served as server-sent events (Accept: text/event-stream) or as Apollo multipart responses ' +
          '(Accept: multipart/mixed;subscriptionSpec=1.0); or open a WebSocket on this path with the graphql-ws protocol.',
        extensions: { code: 'SUBSCRIPTION_TRANSPORT_UNSUPPORTED' },
      },
    ]);
    expect(bus.listenerCount(ACME)).toBe(0);
    expect(h.emulator.log.requestCount).toBe(0);
  });
});
