/** Limits on costly and malformed input: refused with a clear error before any upstream call. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InboxDocument } from './generated/graphql.js';
import { ACME, startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false } });
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());

describe('query cost, counted in Graph items', () => {
  it('lets 50 conversations with 20 messages each through (1,050 items)', async () => {
    const result = await h.run(InboxDocument, { pageId: ACME, first: 50, messagesFirst: 20 });
    expect(result.errors).toBeUndefined();
    expect(result.data!.page!.conversations.edges).toHaveLength(50);
  });

  it('refuses 100 conversations with 100 messages each, before any upstream call', async () => {
    const result = await h.run(InboxDocument, { pageId: ACME, first: 100, messagesFirst: 100 });
    expect(result.data).toBeUndefined();
    expect(result.errors).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_TOO_COSTLY', cost: 10_100, maxCost: 2_500 } })]);
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('counts aliases and node lookups too', async () => {
    const aliases = Array.from({ length: 30 }, (_, i) => `c${i}: conversations(first: 100) { edges { cursor } }`).join(' ');
    const { body } = await h.post({ query: `{ page(id: "${ACME}") { ${aliases} } }` });
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', cost: 3_000 });
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('reads the counts from variables', async () => {
    const query = `query ($n: Int) { page(id: "${ACME}") { conversations(first: $n) { edges { node { messages(first: $n) { edges { cursor } } } } } } }`;
    // The same document, run again and again (parsed once, costs remembered), is judged by each run's variables.
    for (const n of [2, 2, 2]) expect((await h.post({ query, variables: { n } })).body.errors).toBeUndefined();
    const { body } = await h.post({ query, variables: { n: 60 } });
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', cost: 60 + 60 * 60 });
    expect((await h.post({ query, variables: { n: 2 } })).body.errors).toBeUndefined();
  });

  it('judges a repeated document with literal counts the same way every time', async () => {
    const query = `{ page(id: "${ACME}") { conversations(first: 100) { edges { node { messages(first: 30) { edges { cursor } } } } } } }`;
    for (let run = 0; run < 4; run += 1) {
      const { body } = await h.post({ query });
      expect(body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', cost: 100 + 100 * 30 });
    }
    expect(h.emulator.log.requestCount).toBe(0);
  });
});

describe('document limits', () => {
  it('refuses a query nested deeper than the limit', async () => {
    const deep = `{ page(id: "${ACME}") { conversations(first: 1) { edges { node { participants { name } messages(first: 1) { edges { node { from { name } attachments { url } } } } } } } } }`;
    const ok = await h.post({ query: deep });
    expect(ok.body.errors).toBeUndefined();
    const tooDeep = `{ node(id: "x") { ... on Conversation { messages { edges { node { from { name } } } } } } }`;
    const limited = await startHarness({ limits: { maxDepth: 4 } });
    try {
      const { body } = await limited.post({ query: tooDeep });
      expect(body.errors![0]).toMatchObject({ extensions: { code: 'QUERY_TOO_DEEP', depth: 6, maxDepth: 4 } });
      expect(limited.emulator.log.requestCount).toBe(0);
    } finally {
      await limited.close();
    }
  });

  it('refuses a document with too many tokens', async () => {
    const fields = Array.from({ length: 800 }, (_, i) => `f${i}: __typename`).join(' ');
    const { body } = await h.post({ query: `{ ${fields} }` });
    expect(body.errors![0]).toMatchObject({
      message: 'Syntax Error: Token limit of 2000 exceeded.',
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
  });

  it('answers a batch of operations, up to the limit', async () => {
    const one = { query: `{ page(id: "${ACME}") { graphApiId } }` };
    const answered = await h.post([one, one]);
    expect(answered.body).toEqual([{ data: { page: { graphApiId: ACME } } }, { data: { page: { graphApiId: ACME } } }]);
    const refused = await h.post(Array.from({ length: 11 }, () => one));
    expect(JSON.stringify(refused.body)).toMatch(/Batching is limited to 10 operations/);
  });
});
