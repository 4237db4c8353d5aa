/**
 * The GraphQL-over-HTTP spec, audited by graphql-http's own suite against the gateway as `npm start`
 * serves it (the node:http server in front of yoga): what Apollo Client, urql and Relay rely on.
 */
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayServer } from '../src/http-server.js';
import { serveOnLoopback, startHarness, type Harness } from './support/harness.js';

let harness: Harness;
let server: GatewayServer;
let url = '';

beforeAll(async () => {
  harness = await startHarness();
  let origin: string;
  ({ server, origin } = await serveOnLoopback(harness.app));
  url = `${origin}/graphql`;
});
afterAll(async () => {
  await server.drain(0);
  await harness.close();
});

describe('GraphQL over HTTP', () => {
  for (const audit of serverAudits({ url: () => url, fetchFn: fetch })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (result.status === 'error') throw new Error(`${result.reason}${result.response ? ` (status ${result.response.status})` : ''}`);
      // MUST and SHOULD alike: every audit passes today, so a regression of either shows.
      expect(result).toMatchObject({ status: 'ok' });
    });
  }
});
