/**
 * Browsers may call the gateway only from the origins an operator allows: closed in production, pages on this
 * machine only in development.
 */
import { DEFAULT_CONFIG } from '../src/config.js';
import { MemoryCallBudget } from '../src/graph-api/call-budget.js';
import { ReadCache } from '../src/graph-api/read-cache.js';
import { MemoryReadCacheStore } from '../src/graph-api/read-cache-store.js';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { Credentials } from '../src/credentials.js';
import { GraphApiClient } from '../src/graph-api/client.js';
import { GraphScheduler } from '../src/graph-api/scheduler.js';
import { createCursorCodec } from '../src/cursors.js';

function app(options: { production: boolean; corsOrigins?: string[] }) {
  // Preflight requests never reach the Graph API: nothing listens on this address.
  const scheduler = new GraphScheduler({
    ...DEFAULT_CONFIG,
    budget: new MemoryCallBudget(DEFAULT_CONFIG.pageCallsPerSecond),
    transport: new GraphApiClient({ baseUrl: 'http://127.0.0.1:9', version: 'v25.0', transport: { pool: DEFAULT_CONFIG.upstream } }),
  });
  const readCache = new ReadCache({
    store: new MemoryReadCacheStore({ maxEntries: 1, maxBytes: 1, tagTtlMs: 1 }),
    scheduler,
    version: 'v25.0',
    maxAgeMs: 0,
    staleMs: 0,
    proofTtlMs: 1,
  });
  return createApp({
    scheduler,
    readCache,
    credentials: new Credentials({ scheduler, ttlMs: DEFAULT_CONFIG.credentialsTtlMs }),
    cursors: createCursorCodec('c'.repeat(32)),
    defaultAccessToken: undefined,
    ...options,
  });
}

const preflight = (origin: string) =>
  new Request('http://gateway.test/graphql', {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
  });

describe('CORS', () => {
  it('is closed in production unless origins are configured', async () => {
    const response = await app({ production: true }).fetch(preflight('https://evil.example'));
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the configured origins, with credentials; others get no CORS header', async () => {
    for (const production of [true, false]) {
      const gateway = app({ production, corsOrigins: ['https://inbox.example'] });
      const allowed = await gateway.fetch(preflight('https://inbox.example'));
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://inbox.example');
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
      expect(allowed.headers.get('vary')).toMatch(/\bOrigin\b/);
      for (const origin of ['https://evil.example', 'http://localhost:5173']) {
        const refused = await gateway.fetch(preflight(origin));
        expect(refused.headers.get('access-control-allow-origin'), origin).toBeNull();
        expect(refused.headers.get('access-control-allow-credentials'), origin).toBeNull();
      }
    }
  });

  it('allows pages on this machine only in development (localhost, 127.0.0.0/8, [::1], any port or scheme)', async () => {
    const gateway = app({ production: false });
    for (const origin of ['http://localhost:5173', 'https://localhost', 'http://127.0.0.1:8080', 'http://127.1.2.3', 'http://[::1]:3000']) {
      const response = await gateway.fetch(preflight(origin));
      expect(response.headers.get('access-control-allow-origin'), origin).toBe(origin);
      expect(response.headers.get('access-control-allow-credentials'), origin).toBe('true');
    }
    const evil = [
      'https://evil.example',
      'http://localhost.evil.example',
      'http://127.0.0.1.evil.example',
      'http://128.0.0.1',
      'http://[::2]',
      'null',
      'file://',
    ];
    for (const origin of evil) {
      const response = await gateway.fetch(preflight(origin));
      expect(response.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(response.headers.get('access-control-allow-credentials'), origin).toBeNull();
    }
    // An actual request, not only the preflight.
    const post = await gateway.fetch(
      new Request('http://gateway.test/graphql', {
        method: 'POST',
        headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      }),
    );
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });
});
