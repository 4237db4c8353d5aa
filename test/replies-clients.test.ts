/**
 * Replying through the clients frontends use, over the served gateway: graphql-ws (a mutation and the subscription
 * that hears its echo on one socket), Apollo Client (a sent reply, and a refusal under `errorPolicy: 'all'` and
 * under the default), urql, and Relay (`commitMutation` with `@prependEdge`, optimistic then real).
 */
import { ApolloClient, CombinedGraphQLErrors, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { Client as UrqlClient, fetchExchange } from '@urql/core';
import { readFileSync } from 'node:fs';
import { buildSchema, isAbstractType, print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import {
  commitMutation,
  ConnectionHandler,
  createOperationDescriptor,
  Environment,
  fetchQuery,
  getFragment,
  getRequest,
  getSelector,
  type GraphQLTaggedNode,
  Network,
  type OperationType,
  RecordSource,
  Store,
} from 'relay-runtime';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { GatewayServer } from '../src/http-server.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { InboxDocument, SendReplyDocument, type SendReplyMutation } from './generated/graphql.js';
import RelaySendReplyMutation, { type RelaySendReplyMutation as RelaySendReply } from './generated/relay/RelaySendReplyMutation.graphql.js';
import RelayThreadPaginationQuery from './generated/relay/RelayThreadPaginationQuery.graphql.js';
import RelayThreadConversation from './generated/relay/RelayThread_conversation.graphql.js';
import { ACME, assertNoSecrets, type Harness, serveWithWebhooks, startHarness } from './support/harness.js';
import { listening } from './support/inbox-events.js';
import { within } from './support/wait.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

const conversationId = (threadId: string): string => Buffer.from(`Conversation:${ACME}:${threadId}`).toString('base64');

let clock = Date.now();
const bus = new InboxEventBus();
let h: Harness;
let server: GatewayServer;
let origin = '';

/** The Send API calls the emulator received. */
const sends = () => h.emulator.log.entries.filter((entry) => entry.method === 'POST' && /\/messages$/.test(entry.path));

beforeAll(async () => {
  h = await startHarness({
    emulator: { privacyFiltering: false, now: () => clock },
    inboxEvents: bus,
    cache: { maxAgeMs: 10 * 60_000, now: () => clock },
    sends: { echoWaitMs: 60_000 },
  });
  ({ server, origin } = await serveWithWebhooks(h, bus));
  // The agents' inbox lists the conversations first: the gateway then knows which inbox each thread is in.
  const inbox = await h.run(InboxDocument, { pageId: ACME, platform: 'MESSENGER', first: 25, messagesFirst: 1 });
  expect(inbox.errors).toBeUndefined();
});
beforeEach(() => h.emulator.log.clear());
/** Clients a test opened, disposed after it. */
const opened: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((dispose) => dispose()));
  h.emulator.webhooks.holdEchoes(false);
  await h.emulator.webhooks.idle();
});
afterAll(async () => {
  await server.drain(0);
  await h.close();
});

/** When the customer last wrote, as the emulator stamped it (whole seconds). */
let lastWrittenAt = 0;
/** Threads handed out so far: each test replies in a thread of its own. */
let threadsUsed = 0;
/**
 * A thread of Acme whose customer wrote `ago` before now: the message is stamped now and the clock (the emulator's
 * and the gateway's) moves on by `ago` (the emulator never stamps a message before its newest one).
 */
function threadWrittenAgo(ago: number): string {
  const thread = h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' })[threadsUsed++]!;
  const { createdTime } = h.emulator.store.addMessage(thread.id, { text: `customer wrote ${ago / HOUR} h before` });
  lastWrittenAt = Date.parse(createdTime.replace('+0000', 'Z'));
  clock += ago;
  return thread.id;
}

describe("graphql-ws's client", () => {
  it('sends a reply and hears its echo once on the same socket', async () => {
    const threadId = threadWrittenAgo(HOUR);
    let sockets = 0;
    const client: Client = createClient({
      url: `${origin.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      on: { connected: () => sockets++, message: (message) => assertNoSecrets(JSON.stringify(message)) },
    });
    opened.push(() => client.dispose());
    const events = client.iterate({ query: `subscription { inboxEvents(pageId: "${ACME}") { kind messageId text } }` });
    const firstEvent = events.next();
    await listening(bus, ACME);
    h.emulator.webhooks.holdEchoes(true);

    const answer = await client
      .iterate({
        query: print(SendReplyDocument),
        variables: { input: { conversationId: conversationId(threadId), text: 'Over the socket', idempotencyKey: 'ws-1' } },
      })
      .next();
    const result = (answer.value as { data: SendReplyMutation }).data.sendMessage.result;
    if (result.__typename !== 'MessageSent') throw new Error(`not sent: ${JSON.stringify(result)}`);
    expect(result).toMatchObject({ replayed: false, message: { text: 'Over the socket' } });
    const messageId = result.message.graphApiId;
    expect((await firstEvent).value).toEqual({ data: { inboxEvents: { kind: 'ECHO', messageId, text: 'Over the socket' } } });

    // Meta's echo is not heard again: the customer's next message is the next event.
    expect(await h.emulator.webhooks.releaseEchoes()).toBe(1);
    const marker = await h.emulator.webhooks.sendMessage(threadId, { text: 'thanks' });
    expect((await events.next()).value).toEqual({ data: { inboxEvents: { kind: 'MESSAGE', messageId: marker.id, text: 'thanks' } } });
    expect(sockets).toBe(1);
    expect(sends()).toHaveLength(1);
    await events.return?.();
  });
});

describe('Apollo Client', () => {
  /**
   * Which types each union and interface of the schema holds, as Apollo's InMemoryCache needs them to match
   * `... on SendRefusal` on a member of SendMessageResult (what codegen's fragment-matcher plugin writes).
   */
  const possibleTypes = (): Record<string, string[]> => {
    const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
    return Object.fromEntries(
      Object.values(schema.getTypeMap())
        .filter(isAbstractType)
        .map((type) => [type.name, schema.getPossibleTypes(type).map((member) => member.name)]),
    );
  };
  const apolloClient = (cache = new InMemoryCache({ possibleTypes: possibleTypes() })) => {
    const apollo = new ApolloClient({ link: new HttpLink({ uri: `${origin}/graphql` }), cache });
    opened.push(() => apollo.stop());
    return apollo;
  };
  const SEND_REPLY = gql(print(SendReplyDocument));

  it("sends a reply with errorPolicy 'all': data holds MessageSent", async () => {
    const threadId = threadWrittenAgo(HOUR);
    const sent = await apolloClient().mutate({
      mutation: SEND_REPLY,
      variables: { input: { conversationId: conversationId(threadId), text: 'From Apollo', idempotencyKey: 'apollo-1' } },
      errorPolicy: 'all',
    });
    expect(sent.error).toBeUndefined();
    expect((sent.data as SendReplyMutation).sendMessage.result).toMatchObject({
      __typename: 'MessageSent',
      replayed: false,
      message: { __typename: 'Message', text: 'From Apollo', graphApiId: h.emulator.store.messageIds(threadId)![0] },
    });
    expect(sends()).toHaveLength(1);
  });

  it("tells a closed window with errorPolicy 'all' as data and error; the default policy rejects with both", async () => {
    const threadId = threadWrittenAgo(30 * HOUR);
    const input = { conversationId: conversationId(threadId), text: 'Too late', idempotencyKey: 'apollo-late-1' };
    const refused = await apolloClient().mutate({ mutation: SEND_REPLY, variables: { input }, errorPolicy: 'all' });
    expect((refused.data as SendReplyMutation).sendMessage.result).toEqual({
      __typename: 'ReplyWindowClosed',
      code: 'REPLY_WINDOW_CLOSED',
      reason: `The messaging window of this conversation is closed since ${new Date(lastWrittenAt + DAY).toISOString()}.`,
      closedAt: new Date(lastWrittenAt + DAY).toISOString(),
      humanAgentUntil: null,
    });
    expect(CombinedGraphQLErrors.is(refused.error)).toBe(true);
    expect((refused.error as CombinedGraphQLErrors).errors[0]?.extensions?.code).toBe('REPLY_WINDOW_CLOSED');

    // errorPolicy 'none' (the default): the promise rejects; the typed refusal is only on the error's `data`.
    const thrown = await apolloClient()
      .mutate({ mutation: SEND_REPLY, variables: { input } })
      .then(
        (result) => result,
        (error: unknown) => error,
      );
    expect(CombinedGraphQLErrors.is(thrown)).toBe(true);
    expect((thrown as CombinedGraphQLErrors).errors.map((error) => error.extensions?.code)).toEqual(['REPLY_WINDOW_CLOSED']);
    expect((thrown as CombinedGraphQLErrors).data).toMatchObject({ sendMessage: { result: { __typename: 'ReplyWindowClosed' } } });
    expect(sends()).toHaveLength(0);
  });

  it('drops the SendRefusal fields (code, reason) of a refusal when the cache has no possibleTypes', async () => {
    const threadId = threadWrittenAgo(30 * HOUR);
    const input = { conversationId: conversationId(threadId), text: 'Too late', idempotencyKey: 'apollo-late-2' };
    const refused = await apolloClient(new InMemoryCache()).mutate({ mutation: SEND_REPLY, variables: { input }, errorPolicy: 'all' });
    expect((refused.data as SendReplyMutation).sendMessage.result).toEqual({
      __typename: 'ReplyWindowClosed',
      closedAt: expect.any(String),
      humanAgentUntil: null,
    });
  });
});

describe('urql', () => {
  it('sends a reply through client.mutation', async () => {
    const threadId = threadWrittenAgo(HOUR);
    const urql = new UrqlClient({ url: `${origin}/graphql`, exchanges: [fetchExchange] });
    const sent = await urql
      .mutation(SendReplyDocument, { input: { conversationId: conversationId(threadId), text: 'From urql', idempotencyKey: 'urql-1' } })
      .toPromise();
    expect(sent.error).toBeUndefined();
    expect(sent.data?.sendMessage.result).toMatchObject({
      __typename: 'MessageSent',
      replayed: false,
      message: { text: 'From urql', graphApiId: h.emulator.store.messageIds(threadId)![0] },
    });
  });
});

describe('Relay', () => {
  interface Thread {
    id: string;
    messages: { edges: Array<{ cursor: string; node: { id: string; text: string | null } }> };
  }

  const nodesOf = (thread: Thread) => thread.messages.edges.map(({ node }) => ({ id: node.id, text: node.text }));

  /** Holds the mutation's network answer until `release()`, so a test can look at the optimistic store first. */
  let release: () => void = () => undefined;
  const held = (): Promise<void> =>
    new Promise((resolve) => {
      release = resolve;
    });
  let hold: Promise<void> | undefined;
  const network = Network.create(async (request, variables) => {
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: request.text, variables }),
    });
    const text = await response.text();
    assertNoSecrets(text);
    if (request.operationKind === 'mutation' && hold !== undefined) await hold;
    return JSON.parse(text);
  });

  /** Loads a thread's newest messages into the store (the Conversation fragment's refetch query) and a reader of it. */
  async function loadThread(environment: Environment, id: string): Promise<() => Thread> {
    const variables = { id, count: 2 };
    const operation = createOperationDescriptor(getRequest(RelayThreadPaginationQuery), variables);
    environment.retain(operation);
    await fetchQuery<OperationType>(environment, RelayThreadPaginationQuery, variables).toPromise();
    const ref = (environment.lookup(operation.fragment).data as { node: unknown }).node;
    return () => {
      const selector = getSelector(getFragment(RelayThreadConversation as GraphQLTaggedNode), ref);
      if (selector?.kind !== 'SingularReaderSelector') throw new Error('expected a reference to one record');
      return environment.lookup(selector).data as unknown as Thread;
    };
  }

  it('prepends the sent message to the thread’s connection with @prependEdge: the optimistic edge first, then the real one', async () => {
    const threadId = threadWrittenAgo(HOUR);
    const environment = new Environment({ network, store: new Store(new RecordSource()) });
    const readThread = await loadThread(environment, conversationId(threadId));
    const before = nodesOf(readThread());
    expect(before).toHaveLength(2);
    const connection = ConnectionHandler.getConnectionID(conversationId(threadId), 'RelayThread_messages');

    hold = held();
    const completed = new Promise<RelaySendReply['response']>((resolve, reject) => {
      commitMutation<RelaySendReply>(environment, {
        mutation: RelaySendReplyMutation,
        variables: {
          input: { conversationId: conversationId(threadId), text: 'From Relay', idempotencyKey: 'relay-1' },
          connections: [connection],
        },
        optimisticResponse: {
          sendMessage: {
            result: {
              __typename: 'MessageSent',
              messageEdge: { cursor: 'optimistic', node: { id: 'client:optimistic-reply', text: 'From Relay' } },
            },
          },
        },
        onCompleted: (response, errors) => (errors ? reject(new Error(JSON.stringify(errors))) : resolve(response)),
        onError: reject,
      });
    });
    let response: RelaySendReply['response'];
    try {
      // Before the network answers: the optimistic edge is on top.
      expect(nodesOf(readThread())).toEqual([{ id: 'client:optimistic-reply', text: 'From Relay' }, ...before]);
    } finally {
      release();
      response = await within(5_000, completed, 'the mutation to complete');
      hold = undefined;
    }

    const sent = response.sendMessage.result;
    expect(sent.__typename).toBe('MessageSent');
    const node = sent.messageEdge!.node;
    expect(node.text).toBe('From Relay');
    // The real edge replaced the optimistic one.
    expect(nodesOf(readThread())).toEqual([{ id: node.id, text: node.text }, ...before]);
    expect(readThread().messages.edges[0]!.cursor).toBe(sent.messageEdge!.cursor);
    // The edge Relay put in the MessageConnection is one of its own: a MessageEdge like the others.
    const edges = environment.getStore().getSource().get(connection)?.edges as { __refs: string[] };
    expect(edges.__refs.map((ref) => environment.getStore().getSource().get(ref)?.__typename)).toEqual([
      'MessageEdge',
      'MessageEdge',
      'MessageEdge',
    ]);
    expect(sends()).toHaveLength(1);
  });
});
