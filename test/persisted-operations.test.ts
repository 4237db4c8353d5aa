/**
 * Persisted operations: clients send a hash from the manifest GraphQL Code Generator writes
 * (`persisted-documents.json`, PERSISTED_OPERATIONS_FILE), and the gateway can refuse anything else.
 * Apollo Client's own persisted-queries link, against the served gateway, with and without a manifest.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { parse, print, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import type { GatewayServer } from '../src/http-server.js';
import { InboxDocument } from './generated/graphql.js';
import { ACME, serveOnLoopback, startHarness, type Harness } from './support/harness.js';

const MANIFEST_FILE = 'test/generated/persisted-documents.json';
const documents = new Map(Object.entries(JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as Record<string, string>));
const inboxHash = (InboxDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;
const variables = { pageId: ACME, first: 3, messagesFirst: 2 };
/** An operation in no manifest. */
const PageNameDocument = parse('query PageName($id: ID!) { page(id: $id) { name } }');
const byHash = (sha256Hash: string) => ({ variables, extensions: { persistedQuery: { version: 1, sha256Hash } } });

let open: Harness;
let only: Harness;
/** A gateway with no manifest, as `npm start` runs. */
let none: Harness;
const servers: GatewayServer[] = [];
beforeAll(async () => {
  open = await startHarness({ emulator: { privacyFiltering: false }, persistedOperations: { documents, only: false } });
  only = await startHarness({ emulator: { privacyFiltering: false }, persistedOperations: { documents, only: true } });
  none = await startHarness({ emulator: { privacyFiltering: false } });
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.drain(0)));
  await Promise.all([open.close(), only.close(), none.close()]);
});
beforeEach(() => {
  open.emulator.log.clear();
  only.emulator.log.clear();
  none.emulator.log.clear();
});

/** What Apollo's HttpLink sent: one entry per HTTP request. */
interface Sent {
  method: string;
  hash: string | undefined;
  hasText: boolean;
}

/** Apollo Client with its persisted-queries link in front of an HttpLink to `harness`, served on a loopback port. */
async function apolloClient(harness: Harness, generateHash?: (document: DocumentNode) => string) {
  const { server, origin } = await serveOnLoopback(harness.app);
  servers.push(server);
  const sent: Sent[] = [];
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    const extensions = (body.extensions ?? JSON.parse(url.searchParams.get('extensions') ?? '{}')) as {
      persistedQuery?: { sha256Hash: string };
    };
    sent.push({
      method: init?.method ?? 'GET',
      hash: extensions.persistedQuery?.sha256Hash,
      hasText: typeof body.query === 'string' || url.searchParams.has('query'),
    });
    return fetch(input, init);
  };
  const persisted = new PersistedQueryLink(
    generateHash === undefined
      ? { sha256: (text: string) => createHash('sha256').update(text).digest('hex') }
      : { generateHash: async (document) => generateHash(document) },
  );
  const client = new ApolloClient({
    link: ApolloLink.from([persisted, new HttpLink({ uri: `${origin}/graphql`, fetch: recording })]),
    cache: new InMemoryCache(),
  });
  return { client, sent };
}

describe('persisted operations', () => {
  it('runs an operation sent by its hash, as it runs the same text, with the hash bare or prefixed', async () => {
    expect(inboxHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const asText = await open.post({ query: print(InboxDocument), variables });
    expect(asText.body.errors).toBeUndefined();
    for (const hash of [inboxHash, inboxHash.slice('sha256:'.length)]) {
      const persisted = await open.post(byHash(hash));
      expect(persisted.body).toEqual(asText.body);
    }
    // And on a gateway that runs persisted operations only.
    const { body } = await only.post(byHash(inboxHash));
    const ids = (data: unknown): string[] => (JSON.stringify(data).match(/"graphApiId":"[^"]+"/g) ?? []).sort();
    expect(ids(body.data)).toEqual(ids(asText.body.data));
    expect(ids(body.data).length).toBeGreaterThan(3);
  });

  it('works over GET too: a short URL for a whole inbox query', async () => {
    const search = new URLSearchParams({ variables: JSON.stringify(variables), extensions: JSON.stringify(byHash(inboxHash).extensions) });
    const url = `http://gateway.test/graphql?${search}`;
    const response = await only.app.fetch(url, { headers: { accept: 'application/graphql-response+json' } });
    const body = (await response.json()) as { data?: { page: { conversations: { edges: unknown[] } } } };
    expect(body.data!.page.conversations.edges).toHaveLength(3);
    expect(url.length).toBeLessThan(300);
  });

  it('answers an unknown hash with PersistedQueryNotFound (404; 200 for application/json), before any upstream call', async () => {
    const unknown = byHash(`sha256:${'0'.repeat(64)}`);
    const { status, body } = await open.post(unknown);
    expect(status).toBe(404);
    expect(body).toEqual({ errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
    const legacy = await open.post(unknown, { accept: 'application/json' });
    expect(legacy.status).toBe(200);
    expect(legacy.body).toEqual(body);
    expect(open.emulator.log.requestCount).toBe(0);
  });

  it('with PERSISTED_OPERATIONS_ONLY, refuses operations sent as text; without it, runs them', async () => {
    const text = { query: `{ page(id: "${ACME}") { name } }` };
    const refused = await only.post(text);
    expect(refused.status).toBe(400);
    expect(refused.body.errors![0]!.extensions!.code).toBe('PERSISTED_QUERY_ONLY');
    expect(only.emulator.log.requestCount).toBe(0);
    expect((await open.post(text)).body).toEqual({ data: { page: { name: 'Acme Shop' } } });
  });
});

describe('a gateway with no manifest', () => {
  it('answers a hash alone with PersistedQueryNotSupported (400; 200 for application/json), and runs text sent with a hash', async () => {
    const hashOnly = byHash(inboxHash.slice('sha256:'.length));
    const { status, body } = await none.post(hashOnly);
    expect(status).toBe(400);
    expect(body).toEqual({ errors: [{ message: 'PersistedQueryNotSupported', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } }] });
    const legacy = await none.post(hashOnly, { accept: 'application/json' });
    expect(legacy.status).toBe(200);
    expect(legacy.body).toEqual(body);
    const get = await none.app.fetch(
      `http://gateway.test/graphql?${new URLSearchParams({ extensions: JSON.stringify(hashOnly.extensions) })}`,
      { headers: { accept: 'application/graphql-response+json' } },
    );
    expect(get.status).toBe(400);
    expect(none.emulator.log.requestCount).toBe(0);

    const both = await none.post({ query: print(PageNameDocument), variables: { id: ACME }, extensions: hashOnly.extensions });
    expect(both.body).toEqual({ data: { page: { name: 'Acme Shop' } } });
  });

  it("serves Apollo's persisted-queries link: the first query falls back to text, later ones send text only", async () => {
    const { client, sent } = await apolloClient(none);
    const first = await client.query({ query: PageNameDocument, variables: { id: ACME }, fetchPolicy: 'no-cache' });
    expect(first.data).toEqual({ page: { __typename: 'Page', name: 'Acme Shop' } });
    expect(first.error).toBeUndefined();
    // The hash, refused as not supported; then the text, without the hash.
    expect(sent).toEqual([
      { method: 'POST', hash: expect.stringMatching(/^[0-9a-f]{64}$/), hasText: false },
      { method: 'POST', hash: undefined, hasText: true },
    ]);
    const second = await client.query({ query: InboxDocument, variables, fetchPolicy: 'no-cache' });
    expect(second.error).toBeUndefined();
    expect(sent.slice(2)).toEqual([{ method: 'POST', hash: undefined, hasText: true }]);
  });
});

describe("Apollo's persisted-queries link on a gateway with a manifest", () => {
  const codegenHash = (document: DocumentNode): string => {
    const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
    if (hash === undefined) throw new Error('not a document GraphQL Code Generator wrote');
    return hash;
  };

  it('sends only the hash of an operation in the manifest, as GraphQL Code Generator computed it', async () => {
    const { client, sent } = await apolloClient(only, codegenHash);
    const result = await client.query({ query: InboxDocument, variables, fetchPolicy: 'no-cache' });
    expect(result.error).toBeUndefined();
    expect(result.data?.page?.conversations.edges).toHaveLength(3);
    expect(sent).toEqual([{ method: 'POST', hash: inboxHash, hasText: false }]);
  });

  it('resends the text of an operation not in the manifest after PersistedQueryNotFound', async () => {
    const { client, sent } = await apolloClient(open);
    const result = await client.query({ query: PageNameDocument, variables: { id: ACME }, fetchPolicy: 'no-cache' });
    expect(result.data).toEqual({ page: { __typename: 'Page', name: 'Acme Shop' } });
    expect(sent).toEqual([
      { method: 'POST', hash: expect.stringMatching(/^[0-9a-f]{64}$/), hasText: false },
      { method: 'POST', hash: sent[0]!.hash, hasText: true },
    ]);
  });
});

describe('PERSISTED_OPERATIONS_FILE', () => {
  it('loads the manifest codegen writes, and refuses a broken one or ONLY without a file', () => {
    expect(readConfig({ PERSISTED_OPERATIONS_FILE: MANIFEST_FILE, PERSISTED_OPERATIONS_ONLY: 'true' }).persistedOperations).toEqual({
      documents,
      only: true,
    });
    expect(() => readConfig({ PERSISTED_OPERATIONS_FILE: 'package.json' })).toThrow(
      /PERSISTED_OPERATIONS_FILE must name a JSON file .*the document of "name" does not parse/,
    );
    expect(() => readConfig({ PERSISTED_OPERATIONS_ONLY: 'true' })).toThrow(
      /PERSISTED_OPERATIONS_ONLY=true needs PERSISTED_OPERATIONS_FILE/,
    );
  });
});
