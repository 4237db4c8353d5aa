/**
 * The HTTP server main.ts runs: request bodies are capped before GraphQL sees them, ordinary POST and
 * GET requests pass through unchanged, and the GraphQL-over-HTTP spec holds, audited by graphql-http's
 * own suite: what Apollo Client, urql and Relay rely on.
 */
import { request as httpRequest } from 'node:http';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayServer } from '../src/http-server.js';
import { DEFAULT_CONFIG, readConfig } from '../src/config.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { ACME, serveOnLoopback, startHarness, type Harness } from './support/harness.js';

const MAX_REQUEST_BODY_BYTES = DEFAULT_CONFIG.maxRequestBodyBytes;

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
function rawPost(body: string, chunked: boolean, to = url): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      to,
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

  it('answers a POST with no body 400 with a code, at once', async () => {
    for (const chunked of [false, true]) {
      const refused = await rawPost('', chunked);
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body)).toEqual({
        errors: [{ message: 'POST needs a body: {"query": "…", "variables": {…}} as JSON.', extensions: { code: 'BAD_REQUEST' } }],
      });
    }
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
      errors: [
        {
          message: 'Request body larger than 524288 bytes (MAX_REQUEST_BODY_BYTES).',
          extensions: { code: 'REQUEST_TOO_LARGE', maxBodyBytes: 524288 },
        },
      ],
    });
    expect(harness.emulator.log.entries).toHaveLength(0);
  });

  it('takes its cap from MAX_REQUEST_BODY_BYTES', async () => {
    expect(readConfig({ MAX_REQUEST_BODY_BYTES: '4096' }).maxRequestBodyBytes).toBe(4096);
    expect(() => readConfig({ MAX_REQUEST_BODY_BYTES: '100' })).toThrow(
      'MAX_REQUEST_BODY_BYTES must be an integer from 1024 to 104857600, got "100"',
    );
    const small = await serveOnLoopback(harness.app, { maxBodyBytes: 4096 });
    try {
      const json = JSON.stringify({ query: PAGE_NAME });
      const fits = await rawPost(json + ' '.repeat(4096 - Buffer.byteLength(json)), false, `${small.origin}/graphql`);
      expect(JSON.parse(fits.body)).toEqual({ data: { page: { name: 'Acme Shop' } } });
      const refused = await rawPost(`${json} `.padEnd(4097, ' '), false, `${small.origin}/graphql`);
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.body).errors[0].extensions).toEqual({ code: 'REQUEST_TOO_LARGE', maxBodyBytes: 4096 });
    } finally {
      await small.server.drain(0);
    }
  });

  it('accepts a body just under the cap', async () => {
    const json = JSON.stringify({ query: PAGE_NAME });
    const { status, body } = await rawPost(json + ' '.repeat(MAX_REQUEST_BODY_BYTES - Buffer.byteLength(json)), false);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ data: { page: { name: 'Acme Shop' } } });
  });
});

describe('what the server refuses, each as a JSON error with a code', () => {
  it.each([
    ['an unknown path', '/nope', { method: 'GET' }, 404, 'NOT_FOUND'],
    [
      'a POST to an unknown path',
      '/graphql/v2',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
      404,
      'NOT_FOUND',
    ],
    [
      'a method GraphQL does not use',
      '/graphql',
      { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' },
      405,
      'BAD_REQUEST',
    ],
    [
      'a body type GraphQL does not read',
      '/graphql',
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: PAGE_NAME },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'an Accept it cannot answer',
      '/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/xml' },
        body: JSON.stringify({ query: PAGE_NAME }),
      },
      406,
      'NOT_ACCEPTABLE',
    ],
  ] as const)('%s', async (_name, path, init, status, code) => {
    const response = await fetch(`${url.replace(/\/graphql$/, '')}${path}`, init);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors).toEqual([{ message: expect.any(String), extensions: { code } }]);
    expect(body.errors[0]!.message.length).toBeGreaterThan(20);
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
    // The instance's own budget, as configured (the harness's default is no per-Page limit; here the production default).
    const h = await startHarness({ scheduler: { pageCallsPerSecond: 2 } });
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

describe('draining (SIGTERM)', () => {
  it('counts subscription streams apart from requests, and ends them at once', async () => {
    const live = await startHarness({ inboxEvents: new InboxEventBus() });
    const { server: draining, origin } = await serveOnLoopback(live.app);
    try {
      const subscription = `subscription { inboxEvents(pageId: "${ACME}") { kind } }`;
      const response = await fetch(`${origin}/graphql?${new URLSearchParams({ query: subscription })}`, {
        headers: { accept: 'text/event-stream' },
      });
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      // Settles when the stream ends, which it never does by itself.
      const ended = response.text().then(
        () => 'ended',
        () => 'cut',
      );
      expect(draining.inFlight()).toEqual({ requests: 0, eventStreams: 1, webSockets: 0 });
      // A grace period longer than the test: the drain ends only because the stream was cut.
      await draining.drain(60_000);
      expect(await ended).toMatch(/ended|cut/);
      expect(draining.inFlight()).toEqual({ requests: 0, eventStreams: 0, webSockets: 0 });
    } finally {
      await live.close();
    }
  });
});
