/**
 * The write path (src/graph-api/writer.ts): a write is a form POST made once, never shared with an identical
 * one, and made again only when its request certainly never left. Against undici's MockAgent, and a real
 * refused connection on loopback.
 */
import { createServer } from 'node:net';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GraphApiClient } from '../src/graph-api/client.js';
import { GraphApiError, GraphTransportError } from '../src/graph-api/errors.js';
import type { GraphWrite } from '../src/graph-api/read.js';
import { appSecretProof } from '../src/graph-api/tokens.js';
import { GraphWriter } from '../src/graph-api/writer.js';

const ORIGIN = 'https://graph.example.test';
const TOKEN = 'EAAGwritetoken0123456789';
const SECRET = 'writer-test-app-secret-0123456789';
const SEND: GraphWrite = {
  path: '1000000001/messages',
  params: { recipient: JSON.stringify({ id: '6100000000000001' }), messaging_type: 'RESPONSE', message: JSON.stringify({ text: 'Hi' }) },
  token: TOKEN,
};
const connectError = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

let agent: MockAgent;
const writerOver = (client: GraphApiClient, maxAttempts = 3): GraphWriter =>
  new GraphWriter({ transport: client, maxAttempts, retryBaseDelayMs: 1 });

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  registered = 0;
});
afterEach(async () => {
  await agent.close();
});

let registered = 0;
/** The next POST to the send edge, answered by `reply` (each interceptor answers one request). */
function nextSend(reply: (scope: ReturnType<ReturnType<MockAgent['get']>['intercept']>) => void): void {
  registered += 1;
  reply(agent.get(ORIGIN).intercept({ path: '/v25.0/1000000001/messages', method: 'POST' }));
}
/** Requests made so far: the interceptors used up (a request past them would match none and fail). */
const sends = (): number => registered - agent.pendingInterceptors().length;

describe('a write', () => {
  it('is a form POST carrying the token and its proof in the body, made once', async () => {
    const client = new GraphApiClient({ baseUrl: ORIGIN, version: 'v25.0', appSecret: SECRET, transport: { dispatcher: agent } });
    let body = '';
    nextSend((scope) =>
      scope.reply((request) => {
        body = String(request.body);
        return { statusCode: 200, data: { recipient_id: '6100000000000001', message_id: 'm_1' } };
      }),
    );
    const usage = { requests: 0, calls: 0, coalesced: 0, cached: 0 };
    expect(await writerOver(client).write(SEND, { usage })).toEqual({ recipient_id: '6100000000000001', message_id: 'm_1' });
    expect(sends()).toBe(1);
    expect(Object.fromEntries(new URLSearchParams(body))).toEqual({
      ...SEND.params,
      access_token: TOKEN,
      appsecret_proof: appSecretProof(SECRET, TOKEN),
    });
    expect(usage).toEqual({ requests: 1, calls: 1, coalesced: 0, cached: 0 });
  });

  it('is never shared with an identical write: two sends are two messages', async () => {
    const client = new GraphApiClient({ baseUrl: ORIGIN, version: 'v25.0', transport: { dispatcher: agent } });
    nextSend((scope) => scope.reply(200, { message_id: 'm_1' }));
    nextSend((scope) => scope.reply(200, { message_id: 'm_2' }));
    const writer = writerOver(client);
    expect(await Promise.all([writer.write(SEND), writer.write(SEND)])).toEqual([{ message_id: 'm_1' }, { message_id: 'm_2' }]);
    expect(sends()).toBe(2);
  });

  it('is made again while its request never left (the connection refused or not made in time)', async () => {
    const client = new GraphApiClient({ baseUrl: ORIGIN, version: 'v25.0', transport: { dispatcher: agent } });
    nextSend((scope) => scope.replyWithError(connectError('ECONNREFUSED')));
    nextSend((scope) => scope.replyWithError(connectError('UND_ERR_CONNECT_TIMEOUT')));
    nextSend((scope) => scope.reply(200, { message_id: 'm_1' }));
    // Were it made once more, this would answer it.
    nextSend((scope) => scope.reply(200, { message_id: 'm_twice' }));
    expect(await writerOver(client).write(SEND)).toEqual({ message_id: 'm_1' });
    expect(sends()).toBe(3);
  });

  it('gives up with the failure after the attempts allowed', async () => {
    const client = new GraphApiClient({ baseUrl: ORIGIN, version: 'v25.0', transport: { dispatcher: agent } });
    nextSend((scope) => scope.replyWithError(connectError('ECONNREFUSED')));
    nextSend((scope) => scope.replyWithError(connectError('ECONNREFUSED')));
    nextSend((scope) => scope.reply(200, { message_id: 'm_third' }));
    const failed = await writerOver(client, 2).write(SEND);
    expect(failed).toBeInstanceOf(GraphTransportError);
    expect((failed as GraphTransportError).unsent).toBe(true);
    expect(sends()).toBe(2);
  });

  it.each([
    [
      'a connection reset after the request left',
      (scope: Parameters<Parameters<typeof nextSend>[0]>[0]) => scope.replyWithError(connectError('UND_ERR_SOCKET')),
    ],
    [
      'no answer in time',
      (scope: Parameters<Parameters<typeof nextSend>[0]>[0]) => scope.replyWithError(connectError('UND_ERR_HEADERS_TIMEOUT')),
    ],
    [
      "Graph's transient code 2 (HTTP 500)",
      (scope: Parameters<Parameters<typeof nextSend>[0]>[0]) =>
        scope.reply(500, { error: { message: 'An unexpected error has occurred.', type: 'OAuthException', code: 2, is_transient: true } }),
    ],
    [
      "Graph's unknown error code 1",
      (scope: Parameters<Parameters<typeof nextSend>[0]>[0]) =>
        scope.reply(500, { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 1 } }),
    ],
  ])('is not made again after %s: it may have taken effect', async (_name, reply) => {
    const client = new GraphApiClient({ baseUrl: ORIGIN, version: 'v25.0', transport: { dispatcher: agent } });
    nextSend(reply);
    // Were it made again, this would answer it.
    nextSend((scope) => scope.reply(200, { message_id: 'm_twice' }));
    const failed = await writerOver(client).write(SEND);
    expect(failed instanceof GraphTransportError || failed instanceof GraphApiError).toBe(true);
    if (failed instanceof GraphTransportError) expect(failed.unsent).toBe(false);
    expect(sends()).toBe(1);
  });

  it('knows a refused connection on loopback for one that never left', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const client = new GraphApiClient({
      baseUrl: `http://127.0.0.1:${port}`,
      version: 'v25.0',
      transport: { pool: { connections: 1, connectTimeoutMs: 1_000, headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000 } },
    });
    try {
      const failed = await new GraphWriter({ transport: client, maxAttempts: 2, retryBaseDelayMs: 1 }).write(SEND);
      expect(failed).toBeInstanceOf(GraphTransportError);
      expect((failed as GraphTransportError).unsent).toBe(true);
      expect(JSON.stringify(failed) + String(failed)).not.toContain(TOKEN);
    } finally {
      await client.close();
    }
  });
});
