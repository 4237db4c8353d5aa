/** Graph errors become clear GraphQL errors with stable codes; tokens never leak. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryReadCacheStore } from '../src/graph-api/read-cache-store.js';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, type MessagingPlatform } from './generated/graphql.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { createCursorCodec } from '../src/cursors.js';
import { ACME, assertNoSecrets, BISTRO, startHarness, type GraphQLResponse, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false } });
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());

describe('Graph errors', () => {
  // Test names must not print the tokens: test output is a log too.
  it.each([
    {
      name: 'an unknown token',
      token: 'EAAGnot-a-real-token-0000000000000000000000',
      code: 'GRAPH_TOKEN_INVALID',
      graphCode: 190,
      subcode: null,
    },
    { name: 'an expired token', token: DEMO.tokens.expired, code: 'GRAPH_TOKEN_EXPIRED', graphCode: 190, subcode: 463 },
    { name: 'a Page token of another Page', token: DEMO.tokens.bistroPage, code: 'GRAPH_PERMISSION_DENIED', graphCode: 200, subcode: null },
    {
      name: 'a Page token without the MESSAGING task',
      token: DEMO.tokens.acmePageNoMessaging,
      code: 'GRAPH_PERMISSION_DENIED',
      graphCode: 200,
      subcode: null,
    },
  ])('$name → $code', async ({ token, code, graphCode, subcode }) => {
    const result = await h.run(ConversationIdsDocument, { pageId: ACME, first: 5 }, { token });
    expect(result.data).toEqual({ page: null });
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]).toMatchObject({
      path: ['page', 'conversations'],
      extensions: {
        code,
        graph: { code: graphCode, subcode, type: expect.any(String), fbtraceId: expect.any(String), isTransient: false },
      },
    });
  });

  it('an unknown Page is GRAPH_NOT_FOUND', async () => {
    const result = await h.run(ConversationIdsDocument, { pageId: '1999999999', first: 5 });
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_NOT_FOUND', graph: { code: 100, subcode: 33 } });
  });

  it('one failed read fails only the fields that needed it', async () => {
    const { body } = await h.post({
      query: `{
        acme: page(id: "${ACME}") { conversations(first: 2) { edges { node { graphApiId } } } }
        bistro: page(id: "${BISTRO}") { conversations(first: 2) { edges { node { graphApiId } } } }
      }`,
    });
    const data = body.data as { acme: { conversations: { edges: unknown[] } } | null; bistro: unknown };
    expect(data.acme!.conversations.edges).toHaveLength(2);
    expect(data.bistro).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: ['bistro', 'conversations'], extensions: { code: 'GRAPH_PERMISSION_DENIED' } });
    // Both reads left in one batch request; its second item failed alone.
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.emulator.log.entries[0]!.items!.map((item) => item.status)).toEqual([200, 403]);
  });

  it('a Bearer token from the request wins over the configured one', async () => {
    const result = await h.run(ConversationIdsDocument, { pageId: BISTRO, first: 3 }, { token: DEMO.tokens.bistroPage });
    expect(result.errors).toBeUndefined();
    expect(result.data!.page!.conversations.edges).toHaveLength(3);
  });
});

describe('each error the conversations edge lists, in its situation', () => {
  const conversations = (token: string, platform: MessagingPlatform = 'MESSENGER', userId?: string) =>
    h.run(ConversationIdsDocument, { pageId: ACME, platform, first: 2, ...(userId === undefined ? {} : { userId }) }, { token });

  const REFERENCE = "Meta's permissions reference says what each call needs: https://developers.facebook.com/docs/permissions";
  const TASK_MESSAGE =
    'The token lacks a permission, or its user a task on the Page, that this call needs (Graph: "(#200) The user does not have ' +
    `sufficient administrative permission for this action on this page."). ${REFERENCE}`;
  it.each([
    ['a user with neither the MESSAGING nor the MODERATE task', DEMO.tokens.acmePageNoMessaging, 'MESSENGER', TASK_MESSAGE],
    ['a moderator on Instagram, which needs MESSAGING', DEMO.tokens.acmeModerator, 'INSTAGRAM', TASK_MESSAGE],
    // Graph names the permission in its message: the message is Graph's.
    [
      'an app without pages_messaging on Messenger',
      DEMO.tokens.acmePageNoPagesMessaging,
      'MESSENGER',
      '(#200) Requires pages_messaging permission to manage the object',
    ],
    [
      'an app without the Instagram permissions on Instagram',
      DEMO.tokens.acmePageNoInstagram,
      'INSTAGRAM',
      '(#200) Requires instagram_basic permission to manage the object',
    ],
  ] as const)('%s → GRAPH_PERMISSION_DENIED saying what is missing', async (_name, token, platform, message) => {
    const result = await conversations(token, platform);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]).toMatchObject({ message, extensions: { code: 'GRAPH_PERMISSION_DENIED', graph: { code: 200 } } });
    // Graph sends no machine-readable list of what is missing, so neither does the gateway.
    expect(result.errors![0]!.extensions!.graph).toEqual({
      code: 200,
      subcode: null,
      type: 'OAuthException',
      fbtraceId: expect.any(String),
      isTransient: false,
    });
  });

  it.each([
    ['the moderator', DEMO.tokens.acmeModerator, 'MESSENGER'],
    ['the app without pages_messaging', DEMO.tokens.acmePageNoPagesMessaging, 'INSTAGRAM'],
    ['the app without the Instagram permissions', DEMO.tokens.acmePageNoInstagram, 'MESSENGER'],
  ] as const)('%s still reads the %s inbox', async (_name, token, platform) => {
    const result = await conversations(token, platform);
    expect(result.errors).toBeUndefined();
    expect(result.data!.page!.conversations.edges).toHaveLength(2);
  });

  it('a person who blocked the Page → GRAPH_MESSAGING_DISALLOWED (230)', async () => {
    const result = await conversations(DEMO.tokens.acmePage, 'MESSENGER', DEMO.customers.blockedAcme.psid);
    expect(result.errors![0]).toMatchObject({
      message: '(#230) Permissions disallow message to user',
      extensions: { code: 'GRAPH_MESSAGING_DISALLOWED', graph: { code: 230 } },
    });
  });

  it('a user blocked for policy violations → GRAPH_POLICY_BLOCKED (368), not retried', async () => {
    const result = await conversations(DEMO.tokens.acmePagePolicyBlocked);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_POLICY_BLOCKED', graph: { code: 368, subcode: null } });
    // Besides learning who the token is (/me, /me/accounts): one conversations call.
    expect(h.emulator.log.entries.filter((entry) => entry.path.endsWith('/conversations'))).toHaveLength(1);
  });

  it('Graph refusing the request for want of a token or signature (104) → GRAPH_TOKEN_MISSING', async () => {
    h.emulator.faults.inject({ kind: 'graph-error', code: 104 }, { match: { path: /\/conversations$/ } });
    const result = await conversations(DEMO.tokens.acmePage);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_TOKEN_MISSING', graph: { code: 104 } });
  });

  it('any other Graph code → GRAPH_ERROR, retried only when Graph marks it transient', async () => {
    h.emulator.faults.inject({ kind: 'graph-error', code: 9007 }, { match: { path: /\/conversations$/ } });
    const once = await conversations(DEMO.tokens.acmePage);
    expect(once.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_ERROR', graph: { code: 9007, isTransient: false } });
    expect(h.emulator.log.callCount).toBe(1);
    h.emulator.log.clear();
    h.emulator.faults.inject({ kind: 'graph-error', code: 9007, transient: true }, { match: { path: /\/conversations$/ } });
    const retried = await conversations(DEMO.tokens.acmePage);
    expect(retried.errors).toBeUndefined();
    expect(h.emulator.log.callCount).toBe(2);
  });

  it('no answer within the upstream timeout → GRAPH_TIMEOUT, not retried', async () => {
    const slow = await startHarness({ upstreamTimeouts: { headersTimeoutMs: 100 } });
    try {
      slow.emulator.faults.inject({ kind: 'latency', ms: 1_000 }, { match: { path: /\/conversations$/ } });
      const result = await slow.run(ConversationIdsDocument, { pageId: ACME, first: 2 });
      expect(result.errors![0]!.extensions).toEqual({ code: 'GRAPH_TIMEOUT' });
      expect(slow.emulator.log.requestCount).toBe(1);
    } finally {
      await slow.close();
    }
  });
});

describe('requests the gateway refuses itself', () => {
  it('a malformed Authorization header', async () => {
    const { body } = await h.post({ query: `{ page(id: "${ACME}") { name } }` }, { authorization: 'Basic abc' });
    expect(body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('no token at all', async () => {
    const anonymous = await startHarness({ defaultAccessToken: undefined });
    try {
      const result = await anonymous.run(ConversationIdsDocument, { pageId: ACME, first: 1 });
      expect(result.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
      expect(anonymous.emulator.log.requestCount).toBe(0);
    } finally {
      await anonymous.close();
    }
  });

  it.each([
    ['a Page id that is not a Graph id', `{ page(id: "1/../me?x=") { name } }`, 'BAD_USER_INPUT'],
    [
      'a userId that is not a PSID/IGSID',
      `{ page(id: "${ACME}") { conversations(userId: "1&access_token=x") { edges { cursor } } } }`,
      'BAD_USER_INPUT',
    ],
    ['an unknown folder', `{ page(id: "${ACME}") { conversations(folder: ARCHIVE) { edges { cursor } } } }`, 'GRAPHQL_VALIDATION_FAILED'],
  ])('%s', async (_name, query, code) => {
    const { body } = await h.post({ query });
    expect(body.errors![0]!.extensions!.code).toBe(code);
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('an unexpected failure is masked: the client learns nothing of it, the log keeps it', async () => {
    // A cache store with a bug: a plain Error (not an upstream failure), its message full of internals.
    class BrokenStore extends MemoryReadCacheStore {
      override async lookup(): Promise<never> {
        throw new Error('cache store exploded at 10.0.0.7:6379 with key inbox-gateway:v25.0/1000000001');
      }
    }
    const broken = new BrokenStore({ maxEntries: 1, maxBytes: 1, tagTtlMs: 1 });
    const logged: string[] = [];
    const failing = await startHarness({
      cache: { maxAgeMs: 60_000, store: broken },
      logger: createLogger({ destination: { write: (line) => logged.push(line) } }),
    });
    try {
      const { body } = await failing.post({
        query: `{ page(id: "${ACME}") { conversations(first: 1) { edges { node { graphApiId } } } } }`,
      });
      expect(body.data).toEqual({ page: null });
      expect(body.errors).toEqual([
        {
          message: 'Unexpected error.',
          path: ['page', 'conversations'],
          locations: [{ line: 1, column: 28 }],
          extensions: { code: expect.any(String) },
        },
      ]);
      expect(JSON.stringify(body)).not.toMatch(/exploded|10\.0\.0\.7|inbox-gateway/);
      // One error line, with the stack of what failed.
      const errors = logged.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { stack: string } });
      expect(errors.filter((entry) => entry.level === 50)).toEqual([
        expect.objectContaining({
          msg: expect.stringContaining('cache store exploded'),
          err: expect.objectContaining({ stack: expect.any(String) }),
        }),
      ]);
    } finally {
      await failing.close();
    }
  });
});

describe('every error carries a code', () => {
  /** Posts `body` as `accept` asks; returns the status and the parsed answer. */
  async function send(body: string, accept: string): Promise<{ status: number; body: GraphQLResponse<unknown> }> {
    const response = await h.app.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body,
    });
    const text = await response.text();
    assertNoSecrets(text);
    return { status: response.status, body: JSON.parse(text) as GraphQLResponse<unknown> };
  }
  const GRAPHQL_RESPONSE = 'application/graphql-response+json';
  const JSON_ONLY = 'application/json';

  it.each([
    [
      'a mutation the schema does not have: GRAPHQL_VALIDATION_FAILED',
      JSON.stringify({ query: 'mutation { markRead(id: "1") }' }),
      { message: 'Cannot query field "markRead" on type "Mutation". Did you mean "markSeen"?', code: 'GRAPHQL_VALIDATION_FAILED' },
      [400, 200],
    ],
    [
      'a syntax error: GRAPHQL_PARSE_FAILED',
      JSON.stringify({ query: '{ page(id: "1") { name ' }),
      { message: 'Syntax Error: Expected Name, found <EOF>.', code: 'GRAPHQL_PARSE_FAILED' },
      [400, 200],
    ],
    [
      'no document: BAD_REQUEST',
      JSON.stringify({ variables: {} }),
      { message: 'Must provide query string.', code: 'BAD_REQUEST' },
      [400, 200],
    ],
    [
      'a variable of the wrong type: BAD_USER_INPUT',
      JSON.stringify({
        query: 'query ($first: Int) { page(id: "1000000001") { conversations(first: $first) { edges { cursor } } } }',
        variables: { first: 'ten' },
      }),
      { message: 'Variable "$first" got invalid value "ten"; Int cannot represent non-integer value: "ten"', code: 'BAD_USER_INPUT' },
      [400, 400],
    ],
    [
      'an operation name the document does not have: OPERATION_RESOLUTION_FAILURE',
      JSON.stringify({ query: 'query Inbox { __typename }', operationName: 'Outbox' }),
      { message: 'Could not determine what operation to execute.', code: 'OPERATION_RESOLUTION_FAILURE' },
      [400, 400],
    ],
  ])('%s', async (_name, body, expected, [graphqlResponseStatus, jsonStatus]) => {
    for (const [accept, status] of [
      [GRAPHQL_RESPONSE, graphqlResponseStatus],
      [JSON_ONLY, jsonStatus],
    ] as const) {
      const answer = await send(body, accept);
      expect(answer.body.errors).toEqual([expect.objectContaining({ message: expected.message, extensions: { code: expected.code } })]);
      expect(answer.status, accept).toBe(status);
    }
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('a malformed JSON body: BAD_REQUEST (400), and in production the body is not echoed back', async () => {
    const body = '{"query": "{ page(id: \\"1000000001\\") { name } }", "variables": {"secret": "hunter2"';
    for (const accept of [GRAPHQL_RESPONSE, JSON_ONLY]) {
      const answer = await send(body, accept);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ errors: [{ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } }] });
    }
    const development = createApp({
      scheduler: h.scheduler,
      credentials: h.credentials,
      readCache: h.readCache,
      cursors: createCursorCodec('test-cursor-secret-0123456789abcdef'),
      defaultAccessToken: undefined,
      production: false,
      logger: createLogger({ destination: { write: () => true } }),
    });
    const response = await development.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    // Outside production the parser's own words help whoever is writing the request.
    expect(((await response.json()) as GraphQLResponse<unknown>).errors![0]!.extensions).toMatchObject({
      code: 'BAD_REQUEST',
      originalError: { name: 'SyntaxError' },
    });
  });

  it('a batch: each operation answers with its own code', async () => {
    const answer = await send(JSON.stringify([{ query: '{ __typename }' }, { query: 'mutation { x }' }, { query: '{' }]), JSON_ONLY);
    expect(answer.body).toEqual([
      { data: { __typename: 'Query' } },
      { errors: [expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })] },
      { errors: [expect.objectContaining({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] },
    ]);
  });

  it('a Graph error reaches the client without Meta\'s "Please read the documentation at …" tail or a placeholder', async () => {
    const { body } = await h.post({ query: '{ page(id: "1999999999") { conversations(first: 1) { edges { cursor } } } }' });
    expect(body.errors![0]!.message).toBe(
      "Unsupported get request. Object with ID '1999999999' does not exist, cannot be loaded due to missing permissions, or does not " +
        'support this operation.',
    );
    expect(JSON.stringify(body)).not.toMatch(/\[url\]|documentation at/);
  });
});
