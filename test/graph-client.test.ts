/**
 * The Graph API client on its own, against undici's MockAgent (no network at all): answers are checked
 * where they enter, so a malformed one is a typed failure, never a TypeError in a resolver.
 */
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GraphApiClient } from '../src/graph-api/client.js';
import { GraphTransportError } from '../src/graph-api/errors.js';
import { toClientError } from '../src/graph-errors.js';

const ORIGIN = 'https://graph.example.test';
let agent: MockAgent;
let client: GraphApiClient;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new GraphApiClient({ baseUrl: ORIGIN, version: 'v25.0', transport: { dispatcher: agent } });
});
afterEach(async () => {
  await agent.close();
});

const read = (path: string) => ({ request: { path, params: { fields: 'id' } }, token: 'EAAGtest' });

describe('answers checked where they enter', () => {
  it('takes a list page with its data, and an object with its id', async () => {
    const graph = agent.get(ORIGIN);
    graph.intercept({ path: '/v25.0/1/conversations?fields=id', method: 'GET' }).reply(200, { data: [{ id: 't_1' }], paging: {} });
    graph.intercept({ path: '/v25.0/t_1?fields=id', method: 'GET' }).reply(200, { id: 't_1' });
    expect(await client.readMany([read('1/conversations')])).toEqual([{ data: [{ id: 't_1' }], paging: {} }]);
    expect(await client.readMany([read('t_1')])).toEqual([{ id: 't_1' }]);
  });

  it.each([
    ['an edge answered without `data`', '1/conversations', { paging: {} }, 'Graph API answered an edge read without a `data` list'],
    [
      'an edge answered with `data` that is not a list',
      '1/conversations',
      { data: { id: 't_1' } },
      'Graph API answered an edge read without a `data` list',
    ],
    ['an object answered without its id', 't_1', { name: 'x' }, 'Graph API answered an object read without its `id`'],
    ['an object answered as a list', 't_1', [{ id: 't_1' }], 'Graph API answered an object read without its `id`'],
  ])('refuses %s: GRAPH_UNAVAILABLE', async (_case, path, body, message) => {
    agent
      .get(ORIGIN)
      .intercept({ path: `/v25.0/${path}?fields=id`, method: 'GET' })
      .reply(200, body);
    const [answer] = await client.readMany([read(path)]);
    expect(answer).toBeInstanceOf(GraphTransportError);
    expect(answer).toMatchObject({ failure: 'malformed-response', message });
    expect(toClientError(answer)?.extensions).toEqual({ code: 'GRAPH_UNAVAILABLE' });
  });

  it('checks each batch slot the same way, failing only that slot', async () => {
    const slot = (body: unknown) => ({ code: 200, headers: [], body: JSON.stringify(body) });
    agent
      .get(ORIGIN)
      .intercept({ path: '/v25.0/', method: 'POST' })
      .reply(200, [slot({ data: [], paging: {} }), slot({ paging: {} })]);
    const [good, bad] = await client.readMany([read('1/conversations'), read('2/conversations')]);
    expect(good).toEqual({ data: [], paging: {} });
    expect(bad).toMatchObject({ failure: 'malformed-response' });
  });
});
