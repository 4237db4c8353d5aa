/**
 * Relay, as an inbox UI built on it runs: documents checked and compiled by Relay's compiler (`test/relay/documents.ts`),
 * fetched by relay-runtime over the served gateway, and paginated the way `usePaginationFragment` does it: the
 * refetchable fragment's generated query, through `node(id:)`, with the connection's own cursors, merged into the
 * store by Relay's ConnectionHandler (which drops a page whose `after`/`before` is not the connection's
 * `endCursor`/`startCursor`).
 */
import {
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
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayServer } from '../src/http-server.js';
import RelayInboxPaginationQuery from './generated/relay/RelayInboxPaginationQuery.graphql.js';
import RelayInboxQuery from './generated/relay/RelayInboxQuery.graphql.js';
import RelayInboxPage from './generated/relay/RelayInbox_page.graphql.js';
import RelayThreadPaginationQuery from './generated/relay/RelayThreadPaginationQuery.graphql.js';
import RelayThreadConversation from './generated/relay/RelayThread_conversation.graphql.js';
import { ACME, assertNoSecrets, serveOnLoopback, startHarness, type Harness } from './support/harness.js';

interface Connection<N> {
  edges: Array<{ cursor: string; node: N }>;
  pageInfo: { startCursor: string | null; endCursor: string | null; hasNextPage: boolean; hasPreviousPage?: boolean };
}
type FragmentRef = Record<string, unknown>;
interface InboxPage {
  id: string;
  name: string;
  conversations: Connection<FragmentRef & { id: string; snippet: string | null }>;
}
interface Thread {
  id: string;
  participants: Array<{ name: string | null }>;
  messages: Connection<{ id: string; text: string | null }>;
}

let h: Harness;
let server: GatewayServer;
/** Relay's environment (network and store): a new store for each test, as a page load starts with one. */
let environment: Environment;
let network: ReturnType<typeof Network.create>;
/** Every request Relay's network layer sent: the operation's name and its variables. */
const sent: Array<{ name: string; variables: Record<string, unknown> }> = [];

beforeAll(async () => {
  h = await startHarness();
  let origin: string;
  ({ server, origin } = await serveOnLoopback(h.app));
  network = Network.create(async (request, variables) => {
    sent.push({ name: request.name, variables });
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: request.text, variables }),
    });
    const text = await response.text();
    if (process.env.RELAY_DEBUG) console.log(request.name, JSON.stringify(variables), text.slice(0, 1500));
    assertNoSecrets(text);
    return JSON.parse(text);
  });
});
afterAll(async () => {
  await server.drain(0);
  await h.close();
});
beforeEach(() => {
  environment = new Environment({ network, store: new Store(new RecordSource()) });
  h.emulator.log.clear();
  sent.length = 0;
});

/** Reads a fragment from Relay's store, as `useFragment` would render it. */
function readFragment<T>(fragment: GraphQLTaggedNode, ref: unknown): T {
  const selector = getSelector(getFragment(fragment), ref);
  if (selector?.kind !== 'SingularReaderSelector') throw new Error('expected a reference to one record');
  const snapshot = environment.lookup(selector);
  expect(snapshot.isMissingData).toBe(false);
  return snapshot.data as T;
}

/** Runs a query through Relay (network, normalization, connection handlers) and keeps its data in the store. */
async function load<Q extends OperationType>(query: GraphQLTaggedNode, variables: Q['variables']): Promise<Q['response']> {
  const operation = createOperationDescriptor(getRequest(query), variables);
  environment.retain(operation);
  await fetchQuery<Q>(environment, query, variables).toPromise();
  return environment.lookup(operation.fragment).data as Q['response'];
}

/** The first `count` conversation ids of Acme's inbox with each edge's cursor, read directly (not through Relay). */
async function inboxOrder(count: number): Promise<Array<{ id: string; cursor: string }>> {
  const answer = await h.post({
    query: 'query ($pageId: ID!, $count: Int!) { page(id: $pageId) { conversations(first: $count) { edges { cursor node { id } } } } }',
    variables: { pageId: ACME, count },
  });
  expect(answer.body.errors).toBeUndefined();
  const edges = (answer.body.data as { page: { conversations: Connection<{ id: string }> } }).page.conversations.edges;
  return edges.map((edge) => ({ id: edge.node.id, cursor: edge.cursor }));
}

describe('Relay', () => {
  it('pages the inbox forward with usePaginationFragment’s query: one upstream request a page, edges appended in order', async () => {
    const order = await inboxOrder(6);
    h.emulator.log.clear();

    const data = await load(RelayInboxQuery, { pageId: ACME, count: 2 });
    const pageRef = (data as { page: unknown }).page;
    let inbox = readFragment<InboxPage>(RelayInboxPage, pageRef);
    expect(inbox.name).toBe('Acme Shop');
    expect(inbox.conversations.edges.map((edge) => edge.node.id)).toEqual(order.slice(0, 2).map((edge) => edge.id));
    expect(inbox.conversations.pageInfo.endCursor).toBe(inbox.conversations.edges.at(-1)!.cursor);
    expect(inbox.conversations.pageInfo.hasNextPage).toBe(true);
    expect(h.emulator.log.requestCount).toBe(1);

    for (const loaded of [4, 6]) {
      // loadNext(2): the fragment's refetch query by the Page's node id, after the connection's endCursor.
      await load(RelayInboxPaginationQuery, { id: inbox.id, count: 2, cursor: inbox.conversations.pageInfo.endCursor });
      inbox = readFragment<InboxPage>(RelayInboxPage, pageRef);
      expect(inbox.conversations.edges.map((edge) => edge.node.id)).toEqual(order.slice(0, loaded).map((edge) => edge.id));
    }
    expect(h.emulator.log.requestCount).toBe(3);
    expect(sent.map((request) => request.name)).toEqual(['RelayInboxQuery', 'RelayInboxPaginationQuery', 'RelayInboxPaginationQuery']);
    // Relay sends every argument the fragment declares, unused ones as null: `last: null, before: null` must be no error.
    expect(sent[1]!.variables).toMatchObject({ last: null, before: null });
  });

  it('pages backward from a cursor with loadPrevious’s query: edges prepended, the connection whole', async () => {
    const order = await inboxOrder(5);
    // A UI opened at a conversation deep in the list (a link, a restored scroll position): it starts after edge 3.
    const data = await load(RelayInboxQuery, { pageId: ACME, count: 2, cursor: order[2]!.cursor });
    const pageRef = (data as { page: unknown }).page;
    let inbox = readFragment<InboxPage>(RelayInboxPage, pageRef);
    expect(inbox.conversations.edges.map((edge) => edge.node.id)).toEqual([order[3]!.id, order[4]!.id]);
    expect(inbox.conversations.pageInfo.startCursor).toBe(inbox.conversations.edges[0]!.cursor);
    expect(inbox.conversations.pageInfo.hasPreviousPage).toBe(true);

    // loadPrevious(3): `last` before the connection's startCursor; Relay prepends only if `before` is its startCursor.
    await load(RelayInboxPaginationQuery, { id: inbox.id, count: null, last: 3, before: inbox.conversations.pageInfo.startCursor });
    // As loadPrevious sends it: the forward arguments null (the fragment gives `count` no default Relay would put back).
    expect(sent.at(-1)!.variables).toMatchObject({ count: null, cursor: null, last: 3 });
    inbox = readFragment<InboxPage>(RelayInboxPage, pageRef);
    expect(inbox.conversations.edges.map((edge) => edge.node.id)).toEqual(order.map((edge) => edge.id));
    expect(inbox.conversations.pageInfo.hasPreviousPage).toBe(false);
    expect(inbox.conversations.pageInfo.startCursor).toBe(order[0]!.cursor);
  });

  it('pages a conversation’s messages through node(id:) with the Conversation fragment’s own refetch query', async () => {
    const data = await load(RelayInboxQuery, { pageId: ACME, count: 1 });
    const inbox = readFragment<InboxPage>(RelayInboxPage, (data as { page: unknown }).page);
    const conversationRef = inbox.conversations.edges[0]!.node;
    let thread = readFragment<Thread>(RelayThreadConversation, conversationRef);
    expect(thread.messages.edges).toHaveLength(2);
    expect(thread.participants.map((participant) => participant.name)).toContain('Acme Shop');
    h.emulator.log.clear();

    await load(RelayThreadPaginationQuery, { id: thread.id, count: 3, cursor: thread.messages.pageInfo.endCursor });
    thread = readFragment<Thread>(RelayThreadConversation, conversationRef);
    expect(h.emulator.log.requestCount).toBe(1);

    // The same five messages, in the same order, as one direct read of the thread's first five.
    const direct = await h.post({
      query: `query ($id: ID!) { node(id: $id) { ... on Conversation { messages(first: 5) { edges { cursor node { id } } } } } }`,
      variables: { id: thread.id },
    });
    const edges = (direct.body.data as { node: { messages: { edges: Array<{ cursor: string; node: { id: string } }> } } }).node.messages
      .edges;
    expect(thread.messages.edges.map((edge) => edge.node.id)).toEqual(edges.map((edge) => edge.node.id));
    expect(new Set(thread.messages.edges.map((edge) => edge.node.id)).size).toBe(5);
  });
});
