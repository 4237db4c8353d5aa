/**
 * Persisted operations: clients send a hash from the manifest GraphQL Code Generator writes
 * (`persisted-documents.json`, PERSISTED_OPERATIONS_FILE), and the gateway can refuse anything else.
 */
import { readFileSync } from 'node:fs';
import { print } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { InboxDocument } from './generated/graphql.js';
import { ACME, startHarness, type Harness } from './support/harness.js';

const MANIFEST_FILE = 'test/generated/persisted-documents.json';
const documents = new Map(Object.entries(JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as Record<string, string>));
const inboxHash = (InboxDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;
const variables = { pageId: ACME, first: 3, messagesFirst: 2 };
const byHash = (sha256Hash: string) => ({ variables, extensions: { persistedQuery: { version: 1, sha256Hash } } });

let open: Harness;
let only: Harness;
beforeAll(async () => {
  open = await startHarness({ emulator: { privacyFiltering: false }, persistedOperations: { documents, only: false } });
  only = await startHarness({ emulator: { privacyFiltering: false }, persistedOperations: { documents, only: true } });
});
afterAll(async () => {
  await open.close();
  await only.close();
});
beforeEach(() => {
  open.emulator.log.clear();
  only.emulator.log.clear();
});

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
    const url = `http://gateway.test/graphql?${new URLSearchParams({ variables: JSON.stringify(variables), extensions: JSON.stringify(byHash(inboxHash).extensions) })}`;
    const response = await only.app.fetch(url, { headers: { accept: 'application/graphql-response+json' } });
    const body = (await response.json()) as { data?: { page: { conversations: { edges: unknown[] } } } };
    expect(body.data!.page.conversations.edges).toHaveLength(3);
    expect(url.length).toBeLessThan(300);
  });

  it('answers an unknown hash with PersistedQueryNotFound, before any upstream call', async () => {
    const { body } = await open.post(byHash(`sha256:${'0'.repeat(64)}`));
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'PersistedQueryNotFound',
        extensions: expect.objectContaining({ code: 'PERSISTED_QUERY_NOT_FOUND' }),
      }),
    ]);
    expect(open.emulator.log.requestCount).toBe(0);
  });

  it('with PERSISTED_OPERATIONS_ONLY, refuses operations sent as text; without it, runs them', async () => {
    const text = { query: `{ page(id: "${ACME}") { name } }` };
    const refused = await only.post(text);
    expect(refused.body.errors![0]!.extensions!.code).toBe('PERSISTED_QUERY_ONLY');
    expect(only.emulator.log.requestCount).toBe(0);
    expect((await open.post(text)).body).toEqual({ data: { page: { name: 'Acme Shop' } } });
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
