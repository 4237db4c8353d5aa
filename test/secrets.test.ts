/**
 * Secrets scrubbed by value: a token of a shape no pattern recognises, echoed by the upstream, reaches
 * neither a response nor a log line, over HTTP or a WebSocket; and the registry's rules, one by one.
 */
import { createClient, type ExecutionResult } from 'graphql-ws';
import { MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AppOptions, createApp } from '../src/app.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import { bearerToken } from '../src/context.js';
import { Credentials } from '../src/credentials.js';
import { MemoryCallBudget } from '../src/graph-api/call-budget.js';
import { GraphApiClient } from '../src/graph-api/client.js';
import { ReadCache } from '../src/graph-api/read-cache.js';
import { MemoryReadCacheStore, type ReadCacheStore } from '../src/graph-api/read-cache-store.js';
import { GraphScheduler } from '../src/graph-api/scheduler.js';
import { holdsSecret, scrubSecrets } from '../src/graph-api/scrub.js';
import { MIN_SECRET_LENGTH, registerConfiguredSecrets, registerSecret, SecretRegistry } from '../src/graph-api/secrets.js';
import { appSecretProof } from '../src/graph-api/tokens.js';
import type { GatewayServer } from '../src/http-server.js';
import { createLogger } from '../src/logger.js';
import { createCursorCodec } from '../src/cursors.js';
import { ACME, serveOnLoopback } from './support/harness.js';

describe('SecretRegistry', () => {
  it('replaces a registered value as is, URL-encoded, form-encoded and JSON-escaped: tokens by [token], others by [redacted]', () => {
    const registry = new SecretRegistry();
    registry.register('my.weird/token+value=abc123', 'token');
    registry.register('s3cret "quoted" pass!', 'secret');
    expect(registry.redact('token my.weird/token+value=abc123, sent as my.weird%2Ftoken%2Bvalue%3Dabc123.')).toBe(
      'token [token], sent as [token].',
    );
    expect(
      registry.redact('{"msg":"password s3cret \\"quoted\\" pass! or s3cret+%22quoted%22+pass%21 or s3cret%20%22quoted%22%20pass!"}'),
    ).toBe('{"msg":"password [redacted] or [redacted] or [redacted]"}');
    expect(registry.redact('nothing to see')).toBe('nothing to see');
  });

  it(`ignores values shorter than ${MIN_SECRET_LENGTH} characters, which would redact ordinary words`, () => {
    const registry = new SecretRegistry();
    registry.register('hunter2', 'secret');
    registry.registerCallerToken('abc123');
    expect(registry.redact('hunter2 abc123')).toBe('hunter2 abc123');
    registry.register('hunter22', 'secret');
    expect(registry.redact('hunter22')).toBe('[redacted]');
  });

  it('replaces the longest of two secrets that start alike, whole', () => {
    const registry = new SecretRegistry();
    registry.register('prefix-12345', 'secret');
    registry.register('prefix-12345-and-more', 'token');
    expect(registry.redact('a prefix-12345-and-more b prefix-12345 c')).toBe('a [token] b [redacted] c');
  });

  it('registers the appsecret_proof of each token once the app secret is known', () => {
    const registry = new SecretRegistry();
    registry.registerAppSecret('app-secret-0123456789');
    registry.register('configured-token-value', 'token');
    registry.registerCallerToken('caller-token-value');
    const proofs = ['configured-token-value', 'caller-token-value'].map((token) => appSecretProof('app-secret-0123456789', token));
    expect(registry.redact(`key app-secret-0123456789, proofs ${proofs.join(' ')}`)).toBe('key [redacted], proofs [redacted] [redacted]');
  });

  it('remembers the most recent caller tokens only; permanent secrets stay', () => {
    const registry = new SecretRegistry(2);
    registry.register('configured-secret', 'secret');
    for (const token of ['caller-one-token', 'caller-two-token', 'caller-one-token', 'caller-three-token']) {
      registry.registerCallerToken(token);
    }
    // caller-two was the least recently seen when caller-three came.
    expect(registry.redact('configured-secret caller-one-token caller-two-token caller-three-token')).toBe(
      '[redacted] [token] caller-two-token [token]',
    );
  });

  it('keeps a form two caller tokens share until neither is remembered', () => {
    const registry = new SecretRegistry(2);
    // The URL-encoded form of the first is the second, as is.
    registry.registerCallerToken('shared/form-token');
    registry.registerCallerToken('shared%2Fform-token');
    registry.registerCallerToken('another-caller-token');
    expect(registry.redact('shared%2Fform-token')).toBe('[token]');
  });
});

describe('scrubSecrets', () => {
  it('removes registered secrets before the patterns run, whatever their shape', () => {
    registerSecret('webhook-verify-token-x', 'secret');
    expect(scrubSecrets('verify token webhook-verify-token-x refused')).toBe('verify token [redacted] refused');
    expect(bearerToken('Bearer 0dd~token!shape:42')).toBe('0dd~token!shape:42');
    expect(scrubSecrets('Malformed access token 0dd~token!shape:42 (0dd~token!shape%3A42)')).toBe(
      'Malformed access token [token] ([token])',
    );
  });

  it('removes every configured secret, and the proof of each configured token', () => {
    const pageToken = 'page-token/from+the=file';
    registerConfiguredSecrets({
      tokens: [pageToken, undefined],
      appSecret: 'configured-app-secret-0123',
      others: ['cursor-secret-0123456789abcdef', 'redis-password', undefined, 'short'],
    });
    const proof = appSecretProof('configured-app-secret-0123', pageToken);
    expect(
      scrubSecrets(`${pageToken} ${proof} configured-app-secret-0123 cursor-secret-0123456789abcdef redis://:redis-password@redis short`),
    ).toBe('[token] [redacted] [redacted] [redacted] redis://:[redacted]@redis short');
  });
});

const GRAPH = 'https://graph.example.test';

/** The gateway over a Graph API played by `agent`, with a store of its own (no cache) unless one is given. */
function gatewayOver(agent: MockAgent, options: Pick<AppOptions, 'production' | 'logger'> & { store?: ReadCacheStore }) {
  const scheduler = new GraphScheduler({
    ...DEFAULT_CONFIG,
    budget: new MemoryCallBudget(0),
    transport: new GraphApiClient({ baseUrl: GRAPH, version: 'v25.0', transport: { dispatcher: agent } }),
  });
  return createApp({
    scheduler,
    readCache: new ReadCache({
      store: options.store ?? new MemoryReadCacheStore({ maxEntries: 1, maxBytes: 1, tagTtlMs: 1 }),
      scheduler,
      version: 'v25.0',
      maxAgeMs: options.store === undefined ? 0 : 60_000,
      staleMs: 0,
      proofTtlMs: 1,
    }),
    credentials: new Credentials({ scheduler, ttlMs: DEFAULT_CONFIG.credentialsTtlMs }),
    cursors: createCursorCodec('c'.repeat(32)),
    defaultAccessToken: undefined,
    production: options.production,
    logger: options.logger,
  });
}

describe('a caller token of an unusual shape, echoed by the Graph API', () => {
  // No pattern recognises it: not Graph's EAA…, not appid|secret, not a URL parameter.
  const WEIRD = 'my.weird/token+value=abc123';
  const ECHO = `Invalid OAuth access token - Cannot parse access token: ${WEIRD} (sent as ${encodeURIComponent(WEIRD)})`;
  const SCRUBBED = 'Invalid OAuth access token - Cannot parse access token: [token] (sent as [token])';
  const traces = [WEIRD, encodeURIComponent(WEIRD), 'abc123'];
  const logged: string[] = [];
  let agent: MockAgent;
  let server: GatewayServer;
  let origin = '';

  beforeAll(async () => {
    // The Graph API answers every call with its 190, quoting the token as it was sent (no network: undici's MockAgent).
    agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get(GRAPH)
      .intercept({ path: () => true, method: () => true })
      .reply(400, { error: { message: ECHO, type: 'OAuthException', code: 190, fbtrace_id: 'AbCdEf' } })
      .persist();
    const app = gatewayOver(agent, { production: true, logger: createLogger({ destination: { write: (line) => logged.push(line) } }) });
    ({ server, origin } = await serveOnLoopback(app));
  });
  afterAll(async () => {
    await server.drain(0);
    await agent.close();
  });
  afterEach(() => {
    logged.length = 0;
  });

  const query = `{ page(id: "${ACME}") { name } }`;
  const refusal = { message: SCRUBBED, extensions: expect.objectContaining({ code: 'GRAPH_TOKEN_INVALID' }) };

  it('over HTTP: the answer says [token] where Graph quoted it, and so does the log line', async () => {
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WEIRD}` },
      body: JSON.stringify({ query }),
    });
    const body = await response.text();
    expect((JSON.parse(body) as { errors: unknown }).errors).toEqual([expect.objectContaining(refusal)]);
    // The operation's access line, then Graph's refusal, quoted scrubbed.
    expect(logged).toEqual([expect.stringContaining('"errorCodes":["GRAPH_TOKEN_INVALID"]'), expect.stringContaining(SCRUBBED)]);
    for (const trace of traces) {
      for (const text of [body, ...logged]) expect(text).not.toContain(trace);
    }
  });

  it('over a WebSocket, the token in its connection params: the same', async () => {
    const client = createClient({
      url: `${origin.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { Authorization: `Bearer ${WEIRD}` },
    });
    let received = '';
    try {
      const { value } = await client.iterate({ query }).next();
      received = JSON.stringify(value);
      expect((value as ExecutionResult).errors).toEqual([expect.objectContaining(refusal)]);
    } finally {
      await client.dispose();
    }
    // The operation's access line, then Graph's refusal, quoted scrubbed.
    expect(logged).toEqual([expect.stringContaining('"errorCodes":["GRAPH_TOKEN_INVALID"]'), expect.stringContaining(SCRUBBED)]);
    // Both lines name the socket operation they belong to.
    const ids = logged.map((line) => (JSON.parse(line) as { requestId?: string }).requestId);
    expect(ids[0]).toMatch(/^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/);
    expect(ids[1]).toBe(ids[0]);
    for (const trace of traces) {
      for (const text of [received, ...logged]) expect(text).not.toContain(trace);
    }
  });
});

describe('in development, what an answer shows of an unexpected failure', () => {
  it('is scrubbed of registered secrets too (its message and stack)', async () => {
    registerSecret('configured-secret/in+a=stack', 'secret');
    // A cache store with a bug whose message quotes a secret.
    class BrokenStore extends MemoryReadCacheStore {
      override async lookup(): Promise<never> {
        throw new Error('store failed with configured-secret/in+a=stack');
      }
    }
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get(GRAPH)
      .intercept({ path: () => true, method: () => true })
      .reply(200, [
        { code: 200, body: JSON.stringify({ id: '1', name: 'A user' }) },
        {
          code: 200,
          body: JSON.stringify({ data: [{ id: ACME, name: 'Acme Shop', access_token: 'EAAGpage0123456789', tasks: ['MESSAGING'] }] }),
        },
      ])
      .persist();
    const app = gatewayOver(agent, {
      production: false,
      logger: createLogger({ destination: { write: () => true } }),
      store: new BrokenStore({ maxEntries: 1, maxBytes: 1, tagTtlMs: 1 }),
    });
    try {
      const response = await app.fetch('http://gateway.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer EAAGcaller0123456789' },
        body: JSON.stringify({ query: `{ page(id: "${ACME}") { conversations(first: 1) { edges { cursor } } } }` }),
      });
      const body = await response.text();
      expect(body).toContain('store failed with [redacted]');
      expect(body).not.toContain('configured-secret');
    } finally {
      await agent.close();
    }
  });
});

describe('what a shared store refuses to hold (holdsSecret)', () => {
  it('refuses a token standing alone, a secret parameter, and a secret known by value, whatever its shape', () => {
    expect(holdsSecret(JSON.stringify({ access_token: 'EAAGdemoJzTYuejIccIUWo94ssmTwmaBGpRfhi48QAkBrNQBPTbjqdmdBEsRJtie' }))).toBe(true);
    expect(holdsSecret('{"next":"https://graph.facebook.com/v19.0/1/conversations?access_token=abc"}')).toBe(true);
    const registry = 'zz-a-secret-of-no-known-shape-1234';
    registerSecret(registry, 'token');
    expect(holdsSecret(`{"snippet":"${registry}"}`)).toBe(true);
  });

  it('keeps what only looks like the start of a token: message ids with -EAA inside, a customer quoting a short EAA word', () => {
    expect(holdsSecret('{"id":"m_Qx8-EAAk2LmZrT9vWq1yBc4DfGhJkLmNpQrStUvWxYz012345678_abcDEF"}')).toBe(false);
    expect(holdsSecret('{"id":"aWdGGiblWZ_EAAx3mQw9ZpL4vTn8HsJd3FbYe6Ua1GiRoSxVkCt5NqMh0WlPzAb"}')).toBe(false);
    expect(holdsSecret('{"message":"my code is EAA12345678"}')).toBe(false);
  });
});
