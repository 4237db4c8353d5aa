/** Browsers may call the gateway only from the origins an operator allows (closed in production). */
import { DEFAULT_CONFIG } from '../src/config.js';
import { MemoryCallBudget } from '../src/graph-api/call-budget.js';
import { ReadCache } from '../src/graph-api/read-cache.js';
import { MemoryReadCacheStore } from '../src/graph-api/read-cache-store.js';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { Credentials } from '../src/credentials.js';
import { GraphApiClient } from '../src/graph-api/client.js';
import { GraphScheduler } from '../src/graph-api/scheduler.js';
import { createCursorCodec } from '../src/schema/cursors.js';

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

  it('allows exactly the configured origins', async () => {
    const gateway = app({ production: true, corsOrigins: ['https://inbox.example'] });
    const allowed = await gateway.fetch(preflight('https://inbox.example'));
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://inbox.example');
    const refused = await gateway.fetch(preflight('https://evil.example'));
    expect(refused.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
  });

  it('is open to any origin in development', async () => {
    const response = await app({ production: false }).fetch(preflight('http://localhost:5173'));
    expect(response.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:5173)$/);
  });
});
