/**
 * What an operator reads at night: each request's id on its response and on every line logged for it, one access
 * line per operation, one line when Graph blocks a Page, a line per refused webhook call, and the metrics at
 * `/metrics`. Log lines are captured at the logger's destination; metrics are read from the `/metrics` text.
 */
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../src/config.js';
import { DEMO } from '../src/emulator/index.js';
import { createLogger } from '../src/logger.js';
import { RedisConnection } from '../src/redis/connection.js';
import { ConversationIdsDocument, SendReplyDocument } from './generated/graphql.js';
import { ACME, startHarness, TEST_VERIFY_TOKEN, type Harness } from './support/harness.js';
import { deleteKeys, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';
import { until } from './support/wait.js';

type Line = Record<string, unknown> & { level: number; msg: string };

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({ format: 'json', destination: { write: (line) => lines.push(JSON.parse(line) as Line) } });
  return { logger, lines };
}

const CONVERSATIONS = /^\d+\/conversations$/;
const listAcme = { query: print(ConversationIdsDocument), variables: { pageId: ACME, first: 2 } };

/** The samples of `name` in a Prometheus text, as `labels value` (labels `{}` when it has none). */
async function samples(h: Harness, name: string): Promise<string[]> {
  const text = await (await h.app.fetch('http://gateway.test/metrics')).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => line.slice(name.length).replace(/^ /, '{} '));
}

describe('request ids and the access line', () => {
  let h: Harness;
  const { logger, lines } = capturingLogger();
  beforeAll(async () => {
    h = await startHarness({ logger, emulator: { privacyFiltering: false } });
  });
  afterAll(() => h.close());

  it('answers with the request id it was given, and logs one access line per operation that carries it', async () => {
    lines.length = 0;
    const { status, headers } = await h.post(listAcme, { 'x-request-id': 'agent-ui.42' });
    expect(status).toBe(200);
    expect(headers.get('x-request-id')).toBe('agent-ui.42');
    expect(lines.map(({ time: _time, pid: _pid, hostname: _host, durationMs: _ms, ...line }) => line)).toEqual([
      {
        level: 30,
        requestId: 'agent-ui.42',
        operationName: 'ConversationIds',
        operationType: 'query',
        status: 'ok',
        upstream: { requests: 1, calls: 1, cached: 0 },
        pages: [ACME],
        errorCodes: [],
        msg: 'operation',
      },
    ]);
    expect(lines[0]!.durationMs).toEqual(expect.any(Number));
  });

  it("takes a traceparent's trace id, and makes an id for a request without a usable one", async () => {
    const traced = await h.post(listAcme, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(traced.headers.get('x-request-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const unusable = await h.post(listAcme, { 'x-request-id': 'has spaces and is far too long'.repeat(4) });
    expect(unusable.headers.get('x-request-id')).toMatch(/^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/);
  });

  it('logs an invalid token (190) as it logs an expired one: a warning with its Graph code, never the token', async () => {
    lines.length = 0;
    h.emulator.faults.inject({ kind: 'expired-token' }, { times: 1, match: { path: CONVERSATIONS } });
    await h.post(listAcme, { 'x-request-id': 'expired' });
    await h.post(listAcme, { 'x-request-id': 'invalid', authorization: 'Bearer not-a-token-the-emulator-knows' });
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings.map(({ requestId, graphCode, graphSubcode }) => ({ requestId, graphCode, graphSubcode }))).toEqual([
      { requestId: 'expired', graphCode: 190, graphSubcode: 463 },
      { requestId: 'invalid', graphCode: 190, graphSubcode: undefined },
    ]);
    const access = lines.filter((line) => line.msg === 'operation');
    expect(access.map(({ requestId, status, errorCodes }) => ({ requestId, status, errorCodes }))).toEqual([
      { requestId: 'expired', status: 'error', errorCodes: ['GRAPH_TOKEN_EXPIRED'] },
      { requestId: 'invalid', status: 'error', errorCodes: ['GRAPH_TOKEN_INVALID'] },
    ]);
    expect(JSON.stringify(lines)).not.toContain('not-a-token-the-emulator-knows');
  });
});

describe('a Page blocked by a Graph throttle', () => {
  it('gets one warning with the throttle code and the regain time, not one per refused operation', async () => {
    const { logger, lines } = capturingLogger();
    const h = await startHarness({ logger, emulator: { privacyFiltering: false }, defaultAccessToken: DEMO.tokens.alice });
    try {
      h.emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 2 }, { times: 1, match: { path: CONVERSATIONS } });
      for (let i = 0; i < 20; i += 1) await h.post(listAcme);
      const warnings = lines.filter((line) => line.level === 40);
      expect(warnings.map(({ time: _time, pid: _pid, hostname: _host, requestId: _id, blockedUntil: _until, ...line }) => line)).toEqual([
        {
          level: 40,
          pageId: ACME,
          graphCode: 80006,
          fbtraceId: expect.any(String),
          retryAfterSeconds: 120,
          msg: `Graph throttled Page ${ACME} (code 80006): no calls for it, on any instance sharing its budget, for 120 s`,
        },
      ]);
      expect(lines.filter((line) => line.msg === 'operation')).toHaveLength(20);
      expect(await samples(h, 'gateway_upstream_throttles_total')).toEqual(['{} 1']);
      expect(await samples(h, 'gateway_pages_blocked')).toEqual(['{} 1']);
      expect(await samples(h, 'gateway_upstream_errors_total')).toEqual(['{graph_code="80006"} 1']);
    } finally {
      await h.close();
    }
  });
});

describe('metrics at /metrics', () => {
  let h: Harness;
  let origin: string;
  const { logger, lines } = capturingLogger();
  beforeAll(async () => {
    h = await startHarness({ logger, emulator: { privacyFiltering: false }, inboxEvents: 'fleet' });
    await new Promise<void>((resolve) => h.gateway.server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(h.gateway.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    h.gateway.server.closeAllConnections();
    await new Promise((resolve) => h.gateway.server.close(resolve));
    await h.close();
  });

  const deliver = (body: string, signature?: string) =>
    fetch(`${origin}/webhooks/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }) },
      body,
    });
  const sign = (body: string): string => `sha256=${createHmac('sha256', DEMO.appSecret).update(body).digest('hex')}`;
  const handshake = (token: string) => fetch(`${origin}/webhooks/meta?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=c-1`);

  it('counts webhook calls by result, and warns of each refusal with its running count, never the body', async () => {
    lines.length = 0;
    expect((await deliver('{"object":"page","entry":[]}', 'sha256=00')).status).toBe(403);
    expect((await deliver('{"object":"page","entry":[]}')).status).toBe(403);
    expect((await deliver('not json', sign('not json'))).status).toBe(400);
    expect((await deliver('{"object":"page","entry":[]}', sign('{"object":"page","entry":[]}'))).status).toBe(200);
    expect((await handshake('wrong-token')).status).toBe(403);
    expect((await handshake(TEST_VERIFY_TOKEN)).status).toBe(200);
    expect(lines.map(({ level, webhookResult, count }) => ({ level, webhookResult, count }))).toEqual([
      { level: 40, webhookResult: 'bad_signature', count: 1 },
      { level: 40, webhookResult: 'bad_signature', count: 2 },
      { level: 40, webhookResult: 'bad_body', count: 1 },
      { level: 40, webhookResult: 'handshake_refused', count: 1 },
    ]);
    expect(JSON.stringify(lines)).not.toContain('not json');
    expect(await samples(h, 'gateway_webhook_deliveries_total')).toEqual([
      '{result="bad_signature"} 2',
      '{result="bad_body"} 1',
      '{result="accepted"} 1',
      '{result="handshake_refused"} 1',
      '{result="handshake_ok"} 1',
    ]);
  });

  it('counts HTTP answers by method, route and status, with no path a client chose', async () => {
    expect(
      (
        await fetch(`${origin}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(listAcme),
        })
      ).status,
    ).toBe(200);
    expect((await fetch(`${origin}/health`)).status).toBe(200);
    expect((await fetch(`${origin}/no/such/path/1000000001`)).status).toBe(404);
    const text = await (await fetch(`${origin}/metrics`)).text();
    const http = text.split('\n').filter((line) => line.startsWith('gateway_http_requests_total{'));
    expect(http).toEqual([
      'gateway_http_requests_total{method="POST",route="/webhooks/meta",status="403"} 2',
      'gateway_http_requests_total{method="POST",route="/webhooks/meta",status="400"} 1',
      'gateway_http_requests_total{method="POST",route="/webhooks/meta",status="200"} 1',
      'gateway_http_requests_total{method="GET",route="/webhooks/meta",status="403"} 1',
      'gateway_http_requests_total{method="GET",route="/webhooks/meta",status="200"} 1',
      'gateway_http_requests_total{method="POST",route="/graphql",status="200"} 1',
      'gateway_http_requests_total{method="GET",route="/health",status="200"} 1',
      'gateway_http_requests_total{method="GET",route="other",status="404"} 1',
    ]);
  });

  it('counts sends by outcome', async () => {
    const thread = h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' })[0]!;
    h.emulator.store.addMessage(thread.id, { text: 'is it shipped?' });
    const conversationId = Buffer.from(`Conversation:${ACME}:${thread.id}`).toString('base64');
    const sent = await h.run(SendReplyDocument, { input: { conversationId, text: 'Yes, today.', idempotencyKey: 'observability-1' } });
    expect(sent.data?.sendMessage.result.__typename).toBe('MessageSent');
    expect(await samples(h, 'gateway_sends_total')).toEqual(['{outcome="sent"} 1']);
  });

  it('shows the instance: build, Redis state, subscriptions, budget line, and an operation histogram past the timeout', async () => {
    expect(await samples(h, 'gateway_build_info')).toEqual([`{version="0.1.0",node="${process.version}"} 1`]);
    expect(await samples(h, 'gateway_redis_state')).toEqual(['{} 0']);
    expect(await samples(h, 'gateway_subscriptions_open')).toEqual(['{} 0']);
    expect(await samples(h, 'gateway_budget_queue_depth')).toEqual(['{} 0']);
    expect(await samples(h, 'gateway_pages_blocked')).toEqual(['{} 0']);
    const buckets = await samples(h, 'gateway_graphql_operation_duration_seconds_bucket');
    expect(buckets.map((sample) => /le="([^"]+)"/.exec(sample)![1]).slice(-4)).toEqual(['15', '20', '30', '+Inf']);
    expect((await samples(h, 'gateway_upstream_request_duration_seconds_count'))[0]).toMatch(/^\{\} [1-9]\d*$/);
    expect((await samples(h, 'gateway_budget_wait_seconds_count'))[0]).toMatch(/^\{\} [1-9]\d*$/);
  });

  it('logs a subscription once, when it starts, and counts it open while it runs', async () => {
    lines.length = 0;
    const controller = new AbortController();
    // Through the HTTP server: the caps count subscriptions by the socket they came on.
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-request-id': 'live-1' },
      body: JSON.stringify({ query: `subscription Live { inboxEvents(pageId: "${ACME}") { kind } }` }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    await until(() => lines.some((line) => line.msg === 'operation'), 'the access line');
    expect(
      lines.map(({ requestId, operationName, operationType, status, msg }) => ({ requestId, operationName, operationType, status, msg })),
    ).toEqual([{ requestId: 'live-1', operationName: 'Live', operationType: 'subscription', status: 'ok', msg: 'operation' }]);
    await until(async () => (await samples(h, 'gateway_subscriptions_open'))[0] === '{} 1', 'the subscription counted open');
    controller.abort();
    await response.body?.cancel().catch(() => undefined);
    await until(async () => (await samples(h, 'gateway_subscriptions_open'))[0] === '{} 0', 'the subscription to end');
  });
});

describe('configuration errors', () => {
  it('show a URL with its credentials replaced by ***', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        readConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problems({ GRAPH_API_URL: 'https://operator:hunter2@graph.facebook.com/v25.0' })).toEqual([
      'GRAPH_API_URL must be an origin such as https://graph.facebook.com (no path, query or credentials), ' +
        'got "https://***@graph.facebook.com/v25.0"',
    ]);
    expect(problems({ REDIS_URL: 'redis://operator:hunter2@redis:6379/cache' })).toEqual([
      'REDIS_URL must name a database by its number, as in redis://redis:6379/0, got "redis://***@redis:6379/cache"',
    ]);
  });
});

describe("ioredis's own warnings", () => {
  it('go through the fleet logger, not raw to the console', async () => {
    const prefix = testPrefix('observability');
    const logger = recordingLogger();
    const url = TEST_REDIS_URL.replace('redis://', 'redis://:a-password-this-redis-does-not-need@');
    const connection = new RedisConnection({ url, keyPrefix: prefix, logger });
    try {
      await until(() => logger.lines.some((line) => line.startsWith('warn Redis: [WARN]')), 'the AUTH warning');
      expect(logger.lines.filter((line) => line.startsWith('warn Redis:'))[0]).toMatch(
        /^warn Redis: \[WARN\] (Redis server|This Redis server's `default` user) does not require a password/,
      );
    } finally {
      await connection.close();
      await deleteKeys(TEST_REDIS_URL, prefix);
    }
  });
});
