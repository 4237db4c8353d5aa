/**
 * The HTTP server main.ts runs: request bodies are capped before GraphQL sees them, ordinary POST and
 * GET requests pass through unchanged, and the GraphQL-over-HTTP spec holds, audited by graphql-http's
 * own suite: what Apollo Client, urql and Relay rely on.
 */
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { Pool } from 'undici';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayServer } from '../src/http-server.js';
import { DEFAULT_CONFIG, readConfig } from '../src/config.js';
import { DEMO } from '../src/emulator/index.js';
import { createReadiness } from '../src/readiness.js';
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

describe('GET /health/live and /health/ready', () => {
  it('is live at once; ready only from the end of start-up to the first signal', async () => {
    const h = await startHarness();
    try {
      const probe = async (path: string) => {
        const response = await h.app.fetch(`http://gateway.test${path}`);
        return { status: response.status, body: await response.json() };
      };
      expect(await probe('/health/live')).toEqual({ status: 200, body: { status: 'live' } });
      expect(await probe('/health/ready')).toEqual({ status: 503, body: { status: 'unready', reason: 'starting' } });
      h.readiness.started();
      expect(await probe('/health/ready')).toEqual({ status: 200, body: { status: 'ready' } });
      h.readiness.stopping();
      expect(await probe('/health/ready')).toEqual({ status: 503, body: { status: 'unready', reason: 'shutting-down' } });
      // Never ready again in this process, and still live.
      h.readiness.started();
      expect(await probe('/health/ready')).toEqual({ status: 503, body: { status: 'unready', reason: 'shutting-down' } });
      expect(await probe('/health/live')).toEqual({ status: 200, body: { status: 'live' } });
      // `/health` is unchanged.
      expect((await probe('/health')).body).toMatchObject({ status: 'ok', redis: 'off' });
    } finally {
      await h.close();
    }
  });

  it('is unready while Redis is unreachable when readiness depends on it (REDIS_REQUIRED), ready again when it answers', () => {
    let reachable = false;
    const readiness = createReadiness({ redisReachable: () => reachable });
    readiness.started();
    expect(readiness.view()).toEqual({ ready: false, reason: 'redis-unreachable' });
    reachable = true;
    expect(readiness.view()).toEqual({ ready: true });
    readiness.stopping();
    expect(readiness.view()).toEqual({ ready: false, reason: 'shutting-down' });
    expect(createReadiness().view()).toEqual({ ready: false, reason: 'starting' });
  });
});

describe('keep-alive', () => {
  it('keeps idle connections KEEP_ALIVE_TIMEOUT_SECONDS (72 s by default), headers allowed a second more', async () => {
    const h = await startHarness();
    const byDefault = await serveOnLoopback(h.app);
    const longer = await serveOnLoopback(h.app, { keepAliveTimeoutMs: 400_000 });
    try {
      const timeouts = ({ server }: typeof byDefault) => [server.keepAliveTimeout, server.headersTimeout, server.requestTimeout];
      expect(timeouts(byDefault)).toEqual([72_000, 73_000, 300_000]);
      expect(timeouts(longer)).toEqual([400_000, 401_000, 401_000]);
    } finally {
      await Promise.all([byDefault, longer].map(({ server }) => new Promise((resolve) => server.close(resolve))));
      await h.close();
    }
  });

  it('answers every request with Connection: close once told to (the drain delay), and serves it in full', async () => {
    const h = await startHarness();
    const { server, origin } = await serveOnLoopback(h.app);
    const pool = new Pool(origin, { connections: 1 });
    try {
      const ask = async () => {
        const response = await pool.request({
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `{ page(id: "${ACME}") { name } }` }),
        });
        return { status: response.statusCode, connection: response.headers.connection, body: await response.body.json() };
      };
      const kept = await ask();
      expect(kept).toEqual({ status: 200, connection: 'keep-alive', body: { data: { page: { name: DEMO.pages.acme.name } } } });
      server.closeKeepAlive();
      const disconnected = once(pool, 'disconnect');
      expect(await ask()).toEqual({ ...kept, connection: 'close' });
      // The client leaves the connection, the server still takes new ones (each answered once, then closed).
      await disconnected;
      expect(await ask()).toEqual({ ...kept, connection: 'close' });
      const probe = await fetch(`${origin}/health/live`);
      expect([probe.status, probe.headers.get('connection'), await probe.json()]).toEqual([200, 'close', { status: 'live' }]);
      const ready = await fetch(`${origin}/health/ready`);
      expect([ready.status, await ready.json()]).toEqual([503, { status: 'unready', reason: 'starting' }]);
    } finally {
      await pool.close();
      await new Promise((resolve) => server.close(resolve));
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
