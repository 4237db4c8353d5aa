/**
 * The HTTP server main.ts runs: request bodies are capped before GraphQL sees them, ordinary POST and
 * GET requests pass through unchanged, and the GraphQL-over-HTTP spec holds, audited by graphql-http's
 * own suite: what Apollo Client, urql and Relay rely on.
 */
import { request as httpRequest } from 'node:http';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES, type GatewayServer } from '../src/http-server.js';
import { ACME, serveOnLoopback, startHarness, type Harness } from './support/harness.js';

let harness: Harness;
let server: GatewayServer;
let url: string;

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

const PAGE_NAME = `{ page(id: "${ACME}") { name } }`;

/** Sends a POST with node:http, optionally chunked (no Content-Length); resolves with status and body. */
function rawPost(body: string, chunked: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text }));
      },
    );
    // The server may close the connection before reading all of an oversized body.
    request.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
    );
    if (chunked) {
      for (let at = 0; at < body.length; at += 64 * 1024) request.write(body.slice(at, at + 64 * 1024));
      request.end();
    } else {
      request.end(body);
    }
  });
}

describe('the gateway HTTP server', () => {
  it('answers POST and GET operations', async () => {
    harness.emulator.log.clear();
    const post = await rawPost(JSON.stringify({ query: PAGE_NAME }), false);
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body)).toEqual({ data: { page: { name: 'Acme Shop' } } });
    const get = await fetch(`${url}?${new URLSearchParams({ query: PAGE_NAME })}`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { page: { name: 'Acme Shop' } } });
  });

  it.each([
    ['with a Content-Length', false],
    ['chunked, without a Content-Length', true],
  ])('refuses a body over the cap %s with 413 REQUEST_TOO_LARGE, before any upstream call', async (_, chunked) => {
    harness.emulator.log.clear();
    const padding = ' '.repeat(MAX_REQUEST_BODY_BYTES);
    const { status, body } = await rawPost(`{"query":${JSON.stringify(PAGE_NAME)}${padding}}`, chunked);
    expect(status).toBe(413);
    expect(JSON.parse(body)).toEqual({
      errors: [{ message: `Request body larger than ${MAX_REQUEST_BODY_BYTES} bytes.`, extensions: { code: 'REQUEST_TOO_LARGE' } }],
    });
    expect(harness.emulator.log.entries).toHaveLength(0);
  });

  it('accepts a body just under the cap', async () => {
    const json = JSON.stringify({ query: PAGE_NAME });
    const { status, body } = await rawPost(json + ' '.repeat(MAX_REQUEST_BODY_BYTES - Buffer.byteLength(json)), false);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ data: { page: { name: 'Acme Shop' } } });
  });
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

describe('GET /health', () => {
  it('says the instance serves, and how it shares its state', async () => {
    const h = await startHarness();
    try {
      const response = await h.app.fetch('http://gateway.test/health');
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('private, no-store');
      expect(await response.json()).toEqual({ status: 'ok', redis: 'off', since: null, liveInstances: null, callsPerSecond: 2 });
    } finally {
      await h.close();
    }
  });
});
