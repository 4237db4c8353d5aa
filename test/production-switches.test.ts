/**
 * What a production deployment does not show the public: GraphiQL and introspection (GRAPHIQL, INTROSPECTION,
 * off by default in production). `/metrics` on a port of its own (METRICS_PORT) is tested on the process, in main.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { GRAPHIQL_ASSETS_PATH } from '../src/plugins/use-graphiql-assets.js';
import { ACME, type Harness, type HarnessOptions, startHarness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const start = async (switches: NonNullable<HarnessOptions['switches']>): Promise<Harness> => (h = await startHarness({ switches }));
const openInBrowser = (harness: Harness) => harness.app.fetch('http://gateway.test/graphql', { headers: { accept: 'text/html' } });
const codes = (body: { errors?: Array<{ extensions?: { code?: string } }> }) => (body.errors ?? []).map((e) => e.extensions?.code);

describe('defaults', () => {
  it('turns GraphiQL and introspection on in development and off in production, unless set', () => {
    expect(readConfig({})).toMatchObject({ graphiql: true, introspection: true, metricsPort: undefined });
    expect(readConfig({ NODE_ENV: 'production' })).toMatchObject({ graphiql: false, introspection: false });
    expect(readConfig({ NODE_ENV: 'production', GRAPHIQL: 'true', INTROSPECTION: 'true' })).toMatchObject({
      graphiql: true,
      introspection: true,
    });
    expect(readConfig({ GRAPHIQL: 'false', INTROSPECTION: 'false', METRICS_PORT: '9464' })).toMatchObject({
      graphiql: false,
      introspection: false,
      metricsPort: 9464,
    });
    expect(() => readConfig({ GRAPHIQL: 'yes' })).toThrow('GRAPHIQL must be true or false, got "yes"');
  });
});

describe('GRAPHIQL', () => {
  it('on: a browser gets GraphiQL at /graphql', async () => {
    const response = await openInBrowser(await start({ graphiql: true }));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(GRAPHIQL_ASSETS_PATH);
  });

  it('off: a browser gets no GraphiQL page and no asset', async () => {
    const harness = await start({ graphiql: false });
    const response = await openInBrowser(harness);
    expect(response.headers.get('content-type')).not.toContain('text/html');
    expect(await response.text()).not.toContain('GraphiQL');
    const asset = await harness.app.fetch(`http://gateway.test${GRAPHIQL_ASSETS_PATH}/any/graphiql.js`);
    expect(asset.status).not.toBe(200);
    expect(await asset.text()).not.toContain('GraphiQL');
  });
});

describe('INTROSPECTION', () => {
  const INTROSPECT = '{ __schema { queryType { name } } }';

  it('on: the schema is answered', async () => {
    const { body } = await (await start({ introspection: true })).post({ query: INTROSPECT });
    expect(body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('off: __schema and __type are refused with INTROSPECTION_DISABLED, wherever they are; __typename still answers', async () => {
    const harness = await start({ introspection: false });
    expect(codes((await harness.post({ query: INTROSPECT })).body)).toEqual(['INTROSPECTION_DISABLED']);
    const nested = `{ page(id: "${ACME}") { __typename } ...F } fragment F on Query { __type(name: "Page") { name } }`;
    const refused = (await harness.post({ query: nested })).body;
    expect(refused.data).toBeUndefined();
    expect(codes(refused)).toEqual(['INTROSPECTION_DISABLED']);
    expect((await harness.post({ query: `{ __typename page(id: "${ACME}") { __typename } }` })).body).toEqual({
      data: { __typename: 'Query', page: { __typename: 'Page' } },
    });
  });
});
