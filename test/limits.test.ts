/** Limits on costly and malformed input: refused with a clear error before any upstream call. */
import { getIntrospectionQuery } from 'graphql';
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

  it("counts the messages each conversation's replyWindow reads (20 per conversation)", async () => {
    const query = (first: number) =>
      `{ page(id: "${ACME}") { conversations(first: ${first}) { edges { node { replyWindow { open } } } } } }`;
    const { body } = await h.post({ query: query(120) });
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', cost: 120 * (1 + 20) });
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('reads the counts from variables', async () => {
    const query =
      `query ($n: Int) { page(id: "${ACME}") { conversations(first: $n) { edges { node { messages(first: $n) { edges { ` +
      `cursor } } } } } } }`;
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
    const deep =
      `{ page(id: "${ACME}") { conversations(first: 1) { edges { node { participants { name } messages(first: 1) { edges { ` +
      `node { from { name } attachments { url } } } } } } } } }`;
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

  it('measures fragments once however often they are spread (a doubling chain of 40 would take 2^40 walks)', async () => {
    const chain = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Page { ${i < 39 ? `...F${i + 1} ...F${i + 1}` : 'graphApiId'} }`);
    const { body } = await h.post({ query: `{ page(id: "${ACME}") { ...F0 } } ${chain.join(' ')}` });
    expect(body).toEqual({ data: { page: { graphApiId: ACME } } });
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

describe('introspection limits', () => {
  /** graphql-js's standard introspection query with every option on. */
  const STANDARD = getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
    oneOf: true,
  });
  /** Its fragments, for hand-made variants. */
  const FRAGMENTS = STANDARD.slice(STANDARD.indexOf('fragment FullType'));

  it('answers the standard introspection query (15 levels deep) and what GraphiQL sends, at any MAX_QUERY_DEPTH', async () => {
    const graphiql = getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true });
    const shallow = await startHarness({ limits: { maxDepth: 4 } });
    try {
      for (const harness of [h, shallow]) {
        for (const query of [STANDARD, graphiql]) {
          const { status, body } = await harness.post({ query, operationName: 'IntrospectionQuery' });
          expect(body.errors).toBeUndefined();
          expect(status).toBe(200);
          const { __schema } = body.data as { __schema: { queryType: unknown; types: Array<{ name: string }> } };
          expect(__schema.queryType).toEqual({ name: 'Query', kind: 'OBJECT' });
          expect(__schema.types.map((type) => type.name)).toContain('Conversation');
        }
      }
      // The allowance is introspection's own: ordinary fields keep the configured limit in the same operation.
      const { body } = await shallow.post({
        query: `{ __schema { queryType { name } } node(id: "x") { ... on Conversation { messages { edges { node { id } } } } } }`,
      });
      expect(body.errors).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_TOO_DEEP', depth: 5, maxDepth: 4 } })]);
    } finally {
      await shallow.close();
    }
  });

  it('refuses a longer ofType chain than the standard query follows', async () => {
    const deeper = getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, typeDepth: 10 });
    const { body } = await h.post({ query: deeper });
    expect(body).toEqual({
      errors: [
        {
          message:
            "This introspection query is nested 16 levels deep; the limit for introspection is 15, what graphql-js's " +
            'getIntrospectionQuery() needs.',
          locations: [{ line: 2, column: 5 }],
          extensions: { code: 'QUERY_TOO_DEEP', depth: 16, maxDepth: 15 },
        },
      ],
    });
  });

  it('allows three introspection root fields in an operation, not four', async () => {
    const roots = ['a: __schema { queryType { name } }', 'b: __type(name: "Page") { name }', 'c: __type(name: "Query") { name }'];
    const allowed = await h.post({ query: `{ ${roots.join(' ')} }` });
    expect(allowed.body).toEqual({ data: { a: { queryType: { name: 'Query' } }, b: { name: 'Page' }, c: { name: 'Query' } } });
    const refused = await h.post({ query: `{ ${roots.join(' ')} d: __schema { types { name } } }` });
    expect(refused.body.errors).toEqual([
      expect.objectContaining({
        message: 'This operation holds 4 introspection fields (__schema, __type); the limit is 3.',
        extensions: { code: 'INTROSPECTION_TOO_LARGE', introspectionFields: 4, maxIntrospectionFields: 3 },
      }),
    ]);
  });

  it('refuses a field repeated under aliases inside introspection (the whole schema again per alias)', async () => {
    const copies = Array.from({ length: 3 }, (_, i) => `t${i}: types { ...FullType }`).join(' ');
    const { body } = await h.post({ query: `{ __schema { ${copies} } } ${FRAGMENTS}` });
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'This introspection query selects `__schema.types` under 2 names (t0, t1); select each introspection field once.',
        extensions: { code: 'INTROSPECTION_TOO_LARGE', field: '__schema.types' },
      }),
    ]);
    // Deeper down, and through a fragment, too.
    const viaFragment = await h.post({
      query: `{ __type(name: "Page") { ...Twice } } fragment Twice on __Type { fields { a: name b: name } }`,
    });
    expect(viaFragment.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'INTROSPECTION_TOO_LARGE', field: '__type.fields.name' } }),
    ]);
  });

  it("refuses type lists nested three deep (graphql-js's own rule)", async () => {
    const { body } = await h.post({ query: '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }' });
    expect(body.errors).toEqual([
      expect.objectContaining({ message: 'Maximum introspection depth exceeded', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    ]);
  });
});
