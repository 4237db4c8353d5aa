/**
 * Redis trouble, with `redis-server` processes of the test's own: while Redis is unreachable every
 * instance keeps answering from its own memory (one log line), and rejoins without a restart when Redis
 * is back: pub/sub resubscribed, budget shared again, and no cache entry that missed an invalidation
 * served as fresh.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BudgetClaim, MemoryCallBudget } from '../src/graph-api/call-budget.js';
import { type CachedRead, MemoryReadCacheStore } from '../src/graph-api/read-cache-store.js';
import { createFleetState } from '../src/fleet.js';
import { MemorySendLedger, SendLedgerUnavailableError } from '../src/replies/send-ledger.js';
import { type InboxEvent, InboxEventBus } from '../src/webhooks/inbox-events.js';
import { MemoryRedeliveryFilter } from '../src/webhooks/redelivery.js';
import { freePort, PrivateRedis, recordingLogger, startCuttableProxy, testPrefix } from './support/redis.js';
import { until } from './support/wait.js';

const PAGE = '1000000001';
const claim = (ticket: string, calls = 1): BudgetClaim => ({ ticket, calls, queuedAt: Date.now(), deadline: Date.now() + 60_000 });
const read = (body: unknown, generation: string): CachedRead => ({ body, fetchedAt: 1_790_000_000_000, generation });
const event = (messageId: string): InboxEvent => ({
  accountId: PAGE,
  platform: 'messenger',
  kind: 'message',
  customerId: '7001',
  messageId,
  text: messageId,
  hasAttachments: false,
  readUpTo: undefined,
  reaction: undefined,
  timestamp: 1_790_000_000_000,
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fleet(url: string, keyPrefix: string, startupWaitMs = 5_000) {
  const logger = recordingLogger();
  const state = await createFleetState({ url, keyPrefix, callsPerSecond: 2, logger, startupWaitMs });
  cleanups.push(() => state.close());
  return { state, logger };
}
async function privateRedis(extraArgs: readonly string[] = []): Promise<PrivateRedis> {
  const redis = await PrivateRedis.start(extraArgs);
  cleanups.push(() => redis.stop());
  return redis;
}
const linesOf = (logger: { lines: string[] }, level: 'info' | 'warn') => logger.lines.filter((line) => line.startsWith(level));

describe('degraded mode', () => {
  it('keeps answering while Redis is down (one log line), then shares state again when it is back', async () => {
    const redis = await privateRedis();
    const prefix = testPrefix('redis-degraded');
    const [a, b] = [await fleet(redis.url, prefix), await fleet(redis.url, prefix)];
    expect(a.state.health()).toMatchObject({ redis: 'shared', callsPerSecond: 2 });
    await until(() => a.state.health().liveInstances === 2 && b.state.health().liveInstances === 2, 'both instances to see each other');
    expect(linesOf(a.logger, 'info')).toEqual([
      expect.stringMatching(/^info Redis: sharing state .* at redis:\/\/127\.0\.0\.1:\d+, \d live instance/),
    ]);
    const onA = a.state.events.subscribe([PAGE]);
    const onB = b.state.events.subscribe([PAGE]);
    // The ledger of sends is shared: a key claimed through one instance is held for the other.
    expect(await a.state.sendLedger.claim('send-key', 'fp', Date.now())).toEqual({ claimed: true });
    expect(await b.state.sendLedger.claim('send-key', 'fp', Date.now())).toMatchObject({ claimed: false });

    await redis.stop();
    const noticedIn = await until(() => a.state.health().redis === 'degraded' && b.state.health().redis === 'degraded', 'degraded', 1_000);
    // ...and has no local fallback: while Redis is down a send is refused rather than risked twice.
    await expect(a.state.sendLedger.claim('send-key-2', 'fp', Date.now())).rejects.toBeInstanceOf(SendLedgerUnavailableError);
    expect(noticedIn).toBeLessThanOrEqual(1_000);
    expect(a.state.health()).toMatchObject({ redis: 'degraded', liveInstances: 2, callsPerSecond: 1 });

    // Every piece answers from this instance's memory. The budget first waits out a window: the calls the
    // fleet made just before are in Graph's window but not in this instance's.
    const quiet = await a.state.budget.acquire(PAGE, [claim('a.1'), claim('a.2')], Date.now());
    expect(quiet.granted.size).toBe(0);
    expect(quiet.retryAt).toBeGreaterThan(Date.now());
    const after = quiet.retryAt!;
    const local = await a.state.budget.acquire(PAGE, [claim('a.1'), claim('a.2')], after);
    // Its share: 2 per second over 2 live instances is 1 call per second.
    expect([...local.granted.keys()]).toEqual(['a.1']);
    expect(local.retryAt).toBeDefined();
    await a.state.budget.release(PAGE, local.granted.get('a.1')!, after);
    const looked = await a.state.cacheStore.lookup('outage-key', ['tag']);
    expect(await a.state.cacheStore.save('outage-key', ['tag'], read({ data: 1 }, looked.generation), 10_000)).toBe(true);
    expect((await a.state.cacheStore.lookup('outage-key', ['tag'])).entry).toEqual(read({ data: 1 }, looked.generation));
    expect(await a.state.redeliveries.firstSeen('event-1')).toBe(true);
    expect(await a.state.redeliveries.firstSeen('event-1')).toBe(false);
    await a.state.events.publish(event('m_while_down'));
    expect((await onA.next()).value).toEqual(event('m_while_down'));
    // However many calls failed: one line per instance for the change.
    expect(linesOf(a.logger, 'warn')).toEqual([
      expect.stringMatching(/^warn Redis unreachable at redis:\/\/127\.0\.0\.1:\d+ \(.*\): degraded mode/),
    ]);
    expect(linesOf(b.logger, 'warn')).toHaveLength(1);

    await redis.start();
    const rejoinedIn = await until(() => a.state.health().redis === 'shared' && b.state.health().redis === 'shared', 'shared again', 5_000);
    expect(rejoinedIn).toBeLessThan(5_000);
    expect(linesOf(a.logger, 'info')).toHaveLength(2);
    expect(linesOf(a.logger, 'info')[1]).toMatch(/^info Redis: reachable again, sharing state again/);
    expect(a.state.health()).toMatchObject({ redis: 'shared', callsPerSecond: 2 });

    // Resubscribed: an event published on A reaches B again (and B never heard the one A kept to itself).
    await a.state.events.publish(event('m_after'));
    expect((await onB.next()).value).toEqual(event('m_after'));
    expect((await onA.next()).value).toEqual(event('m_after'));
    // The budget is the fleet's again, after a window in which the calls made alone leave Graph's: A's two
    // calls then fill the Page's window for B too.
    const settling = await a.state.budget.acquire(PAGE, [claim('a.3'), claim('a.4')], Date.now());
    expect(settling.granted.size).toBe(0);
    await until(() => Date.now() >= settling.retryAt!, 'the window after rejoining');
    const granted = await a.state.budget.acquire(PAGE, [claim('a.3'), claim('a.4')], Date.now());
    expect(granted.granted.size).toBe(2);
    expect((await b.state.budget.acquire(PAGE, [claim('b.1')], Date.now())).granted.size).toBe(0);
    // The cache kept in memory meanwhile is dropped.
    expect((await a.state.cacheStore.lookup('outage-key', ['tag'])).entry).toBeUndefined();
    await onA.return!();
    await onB.return!();
    expect(linesOf(a.logger, 'warn')).toHaveLength(1);
  });

  it('an instance cut off alone rejoins with the fleet epoch moved, so entries that missed its invalidations are not fresh', async () => {
    const redis = await privateRedis();
    const proxy = await startCuttableProxy(redis.port);
    cleanups.push(() => proxy.close());
    const prefix = testPrefix('redis-degraded');
    const [a, b] = [await fleet(proxy.url, prefix), await fleet(redis.url, prefix)];
    const tags = ['thread:t_1'];
    const before = await b.state.cacheStore.lookup('thread-read', tags);
    await b.state.cacheStore.save('thread-read', tags, read({ data: 'old' }, before.generation), 60_000);
    const startedShared = await a.state.cacheStore.lookup('other-read', tags);

    proxy.cut();
    await until(() => a.state.health().redis === 'degraded', 'A degraded', 1_000);
    expect(b.state.health().redis).toBe('shared');
    // A webhook reaches A while it cannot tell the fleet.
    await a.state.cacheStore.invalidate(tags);
    // A read started under the shared generation is not saved into the local cache, nor the other way round.
    expect(await a.state.cacheStore.save('other-read', tags, read({ data: 1 }, startedShared.generation), 60_000)).toBe(false);
    const startedLocal = await a.state.cacheStore.lookup('other-read', tags);

    proxy.restore();
    await until(() => a.state.health().redis === 'shared', 'A shared again', 5_000);
    expect(await a.state.cacheStore.save('other-read', tags, read({ data: 1 }, startedLocal.generation), 60_000)).toBe(false);
    const after = await b.state.cacheStore.lookup('thread-read', tags);
    expect(after.entry).toEqual(read({ data: 'old' }, before.generation));
    expect(after.generation).not.toBe(before.generation);
    expect(linesOf(a.logger, 'warn')).toHaveLength(1);
    expect(linesOf(b.logger, 'warn')).toHaveLength(0);
  });

  it('starts in degraded mode when Redis is not there yet, and joins when it comes', async () => {
    const redis = await PrivateRedis.start();
    await redis.stop();
    cleanups.push(() => redis.stop());
    const started = Date.now();
    const a = await fleet(redis.url, testPrefix('redis-degraded'), 300);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(a.state.health().redis).toBe('degraded');
    await until(() => linesOf(a.logger, 'warn').length === 1, 'the degraded line');
    expect((await a.state.budget.acquire(PAGE, [claim('a.1')], Date.now())).granted.size).toBe(1);
    await redis.start();
    await until(() => a.state.health().redis === 'shared', 'shared', 5_000);
    expect(a.logger.lines).toEqual([expect.stringMatching(/^warn Redis unreachable/), expect.stringMatching(/^info Redis: sharing state/)]);
  });

  it('tells each instance how many are live, so its degraded share follows the fleet', async () => {
    const redis = await privateRedis();
    const prefix = testPrefix('redis-degraded');
    const [a, b, c] = [await fleet(redis.url, prefix), await fleet(redis.url, prefix), await fleet(redis.url, prefix)];
    await until(() => a.state.health().liveInstances === 3, 'three live instances');
    await b.state.close();
    await c.state.close();
    await until(() => a.state.health().liveInstances === 1, 'one live instance');
    await redis.stop();
    await until(() => a.state.health().redis === 'degraded', 'degraded', 1_000);
    // Alone when Redis went away: the whole rate.
    expect(a.state.health().callsPerSecond).toBe(2);
  });
});

describe('FLEET_SIZE_HINT', () => {
  it('gives an instance that starts with Redis unreachable 1/hint of each budget until it hears from the fleet', async () => {
    const redis = await PrivateRedis.start();
    await redis.stop();
    cleanups.push(() => redis.stop());
    const logger = recordingLogger();
    const state = await createFleetState({
      url: redis.url,
      keyPrefix: testPrefix('redis-degraded'),
      callsPerSecond: 2,
      sendCallsPerSecond: 300,
      fleetSizeHint: 4,
      logger,
      startupWaitMs: 100,
    });
    cleanups.push(() => state.close());
    expect(state.health()).toMatchObject({ redis: 'degraded', liveInstances: undefined, callsPerSecond: 0.5 });
    await until(() => linesOf(logger, 'warn').length === 1, 'the degraded line');
    expect(logger.lines[0]).toContain("spends 1/4 of each Page's call budget (FLEET_SIZE_HINT: it has not heard from the fleet yet)");
    // 0.5 calls per second: one call in any 2-second window, where the whole rate would grant two.
    const grant = await state.budget.acquire(PAGE, [claim('a.1'), claim('a.2')], Date.now());
    expect([...grant.granted.keys()]).toEqual(['a.1']);
    // The Send API's budget too: 300 / 4.
    const sends = await state.sendBudget.acquire(
      PAGE,
      Array.from({ length: 80 }, (_, i) => claim(`s.${i}`)),
      Date.now(),
    );
    expect(sends.granted.size).toBe(75);

    // Once it has heard the fleet (alone here), the live count replaces the hint.
    await redis.start();
    await until(() => state.health().redis === 'shared', 'shared', 5_000);
    expect(state.health()).toMatchObject({ liveInstances: 1, callsPerSecond: 2 });
    await redis.stop();
    await until(() => state.health().redis === 'degraded', 'degraded', 1_000);
    expect(state.health().callsPerSecond).toBe(2);
  });

  it('gives an instance without REDIS_URL 1/hint of the rates, always', async () => {
    const state = await createFleetState({
      url: undefined,
      keyPrefix: 'unused:',
      callsPerSecond: 2,
      fleetSizeHint: 4,
      logger: recordingLogger(),
    });
    expect(state.health()).toEqual({ redis: 'off', since: undefined, liveInstances: undefined, callsPerSecond: 0.5 });
    expect(state.sendBudget.callsPerSecond).toBe(75);
  });
});

describe('without REDIS_URL', () => {
  it('keeps everything in this process, with no connection to make', async () => {
    const logger = recordingLogger();
    const state = await createFleetState({ url: undefined, keyPrefix: 'unused:', callsPerSecond: 2, logger });
    expect(state.health()).toEqual({ redis: 'off', since: undefined, liveInstances: undefined, callsPerSecond: 2 });
    expect(state.budget).toBeInstanceOf(MemoryCallBudget);
    expect(state.cacheStore).toBeInstanceOf(MemoryReadCacheStore);
    expect(state.events).toBeInstanceOf(InboxEventBus);
    expect(state.redeliveries).toBeInstanceOf(MemoryRedeliveryFilter);
    expect(state.sendBudget).toBeInstanceOf(MemoryCallBudget);
    expect(state.sendBudget).not.toBe(state.budget);
    expect(state.sendBudget.callsPerSecond).toBe(300);
    expect(state.sendLedger).toBeInstanceOf(MemorySendLedger);
    expect(state.sendLedger.ttlMs).toBe(86_400_000);
    await state.close();
    expect(logger.lines).toEqual([]);
  });
});

describe('rediss:// (TLS)', () => {
  it('shares state over TLS with a server whose certificate a private CA signed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ].concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
      { stdio: 'ignore' },
    );
    const tlsPort = await freePort();
    const cert = join(dir, 'cert.pem');
    await privateRedis([
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      join(dir, 'key.pem'),
      '--tls-ca-cert-file',
      cert,
      '--tls-auth-clients',
      'no',
    ]);
    const url = `rediss://localhost:${tlsPort}`;
    const prefix = testPrefix('redis-degraded');
    const states = await Promise.all(
      [1, 2].map(async () => {
        const logger = recordingLogger();
        const state = await createFleetState({ url, keyPrefix: prefix, callsPerSecond: 2, logger, tls: { ca: readFileSync(cert) } });
        cleanups.push(() => state.close());
        return state;
      }),
    );
    expect(states.map((state) => state.health().redis)).toEqual(['shared', 'shared']);
    const listening = states[1]!.events.subscribe([PAGE]);
    await states[0]!.events.publish(event('m_tls'));
    expect((await listening.next()).value).toEqual(event('m_tls'));
    await listening.return!();
  });
});
