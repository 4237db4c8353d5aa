/** The environment as operators write it: defaults, accepted forms, and every problem reported at once. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError, configTable, DEFAULT_CONFIG, formerNamesIn, readConfig, SETTINGS } from '../src/config.js';
import { CONFIG_TABLE, README_FILE, readmeTableOf } from '../scripts/readme-tables.js';

describe('readConfig', () => {
  it("starts on the embedded emulator with Meta's per-Page rate when nothing is set", () => {
    const config = readConfig({});
    expect(config).toMatchObject({ port: 4000, graphApiUrl: undefined, graphApiVersion: 'v25.0', pageCallsPerSecond: 2, maxAttempts: 3 });
  });

  it.each([
    ['0', 0],
    ['2', 2],
    ['0.5', 0.5],
    ['0.67', 0.67],
  ])('takes GRAPH_PAGE_CALLS_PER_SECOND=%s (a fraction for instances sharing a Page)', (raw, expected) => {
    expect(readConfig({ GRAPH_PAGE_CALLS_PER_SECOND: raw }).pageCallsPerSecond).toBe(expected);
  });

  it('reads GRAPH_LIST_CAP, and its former name GRAPH_PAGE_CAP only while it is unset, saying so once', () => {
    expect(readConfig({}).graphListCap).toBe(100);
    expect(readConfig({ GRAPH_LIST_CAP: '20' }).graphListCap).toBe(20);
    expect(readConfig({ GRAPH_PAGE_CAP: '25' }).graphListCap).toBe(25);
    expect(readConfig({ GRAPH_PAGE_CAP: '25', GRAPH_LIST_CAP: '20' }).graphListCap).toBe(20);
    expect(formerNamesIn({ GRAPH_PAGE_CAP: '25' })).toEqual([
      'GRAPH_PAGE_CAP is now GRAPH_LIST_CAP: GRAPH_PAGE_CAP is still read while GRAPH_LIST_CAP is unset, but set GRAPH_LIST_CAP instead.',
    ]);
    expect(formerNamesIn({ GRAPH_LIST_CAP: '25' })).toEqual([]);
    expect(() => readConfig({ GRAPH_PAGE_CAP: '500' })).toThrow('GRAPH_PAGE_CAP must be an integer from 1 to 100, got "500"');
  });

  it('reports every bad value at once, naming the variable and what it got', () => {
    const read = (): unknown =>
      readConfig({ GRAPH_PAGE_CALLS_PER_SECOND: '-1', PORT: 'eighty', GRAPH_API_URL: 'https://graph.facebook.com/v25.0' });
    expect(read).toThrow(ConfigError);
    try {
      read();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'PORT must be an integer from 0 to 65535, got "eighty"',
        'GRAPH_API_URL must be an origin such as https://graph.facebook.com (no path, query or credentials), got ' +
          '"https://graph.facebook.com/v25.0"',
        'GRAPH_PAGE_CALLS_PER_SECOND must be 0 (no limit) or a number from 0.01 to 10000, got "-1"',
      ]);
    }
  });

  it('takes REDIS_URL as a redis:// or rediss:// URL, and never echoes a refused one (it may hold a password)', () => {
    expect(readConfig({}).redis).toEqual({ url: undefined, keyPrefix: 'inbox-gateway:' });
    expect(readConfig({ REDIS_URL: 'rediss://gateway:s3cret@redis.internal:6380/2', REDIS_KEY_PREFIX: 'inbox-prod:' }).redis).toEqual({
      url: 'rediss://gateway:s3cret@redis.internal:6380/2',
      keyPrefix: 'inbox-prod:',
    });
    try {
      readConfig({ REDIS_URL: 'https://:s3cret@redis.internal', REDIS_KEY_PREFIX: 'with space' });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'REDIS_URL must be a redis:// or rediss:// URL such as redis://redis:6379, got a https: URL',
        'REDIS_KEY_PREFIX must be 1 to 64 letters, digits or `:._-`, got "with space"',
      ]);
    }
    expect(() => readConfig({ REDIS_URL: 'redis://:s3cret@redis.internal/cache' })).toThrow(/REDIS_URL must name a database by its number/);
    expect(() => readConfig({ REDIS_URL: 'redis.internal:6379' })).toThrow(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('turns webhooks on only when deliveries can be verified', () => {
    expect(
      readConfig({ GRAPH_API_URL: 'https://graph.facebook.com', WEBHOOK_VERIFY_TOKEN: 'v', GRAPH_APP_SECRET: 's' }).webhookVerifyToken,
    ).toBe('v');
    expect(() => readConfig({ GRAPH_API_URL: 'https://graph.facebook.com', WEBHOOK_VERIFY_TOKEN: 'v' })).toThrow(
      /WEBHOOK_VERIFY_TOKEN needs GRAPH_APP_SECRET/,
    );
    // On the embedded emulator the demo app's secret signs deliveries.
    expect(readConfig({ WEBHOOK_VERIFY_TOKEN: 'v' }).webhookVerifyToken).toBe('v');
  });

  it('refuses PERSISTED_OPERATIONS_ONLY other than true or false', () => {
    expect(() => readConfig({ PERSISTED_OPERATIONS_ONLY: 'yes' })).toThrow(/PERSISTED_OPERATIONS_ONLY must be true or false, got "yes"/);
  });

  it('takes NODE_ENV development, production or test, and refuses anything else naming those', () => {
    expect(readConfig({}).nodeEnv).toBe('development');
    for (const mode of ['development', 'production', 'test'] as const) expect(readConfig({ NODE_ENV: mode }).nodeEnv).toBe(mode);
    for (const wrong of ['prod', 'Production', 'dev']) {
      expect(() => readConfig({ NODE_ENV: wrong })).toThrow(`NODE_ENV must be one of development, production, test, got "${wrong}"`);
    }
  });

  it('takes LOG_LEVEL as pino names its levels', () => {
    expect(readConfig({}).logLevel).toBe('info');
    expect(readConfig({ LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => readConfig({ LOG_LEVEL: 'verbose' })).toThrow(
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    );
  });

  it('takes CORS_ORIGINS as a list of origins, written as browsers send them, and refuses anything else (no wildcard)', () => {
    expect(readConfig({}).corsOrigins).toBeUndefined();
    expect(readConfig({ CORS_ORIGINS: 'https://inbox.example, http://localhost:5173/,HTTPS://Admin.Example:443' }).corsOrigins).toEqual([
      'https://inbox.example',
      'http://localhost:5173',
      'https://admin.example',
    ]);
    expect(() => readConfig({ CORS_ORIGINS: '*' })).toThrow('CORS_ORIGINS must be an http(s) URL such as https://inbox.example, got "*"');
    expect(() => readConfig({ CORS_ORIGINS: 'https://inbox.example/app' })).toThrow(
      /CORS_ORIGINS must be an origin such as https:\/\/inbox\.example \(no path, query or credentials\)/,
    );
  });

  it('drains 5 s on SIGTERM in production and not at all in development, unless SHUTDOWN_DRAIN_SECONDS says', () => {
    expect(readConfig({}).shutdownDrainMs).toBe(0);
    expect(readConfig({ NODE_ENV: 'test' }).shutdownDrainMs).toBe(0);
    expect(readConfig({ NODE_ENV: 'production' }).shutdownDrainMs).toBe(5_000);
    expect(readConfig({ NODE_ENV: 'production', SHUTDOWN_DRAIN_SECONDS: '0' }).shutdownDrainMs).toBe(0);
    expect(readConfig({ SHUTDOWN_DRAIN_SECONDS: '20' }).shutdownDrainMs).toBe(20_000);
    expect(() => readConfig({ SHUTDOWN_DRAIN_SECONDS: '-1' })).toThrow(
      'SHUTDOWN_DRAIN_SECONDS must be an integer from 0 to 3600, got "-1"',
    );
  });

  it('takes HOST as an address or a host name (every interface when unset) and KEEP_ALIVE_TIMEOUT_SECONDS, 72 by default', () => {
    expect(readConfig({})).toMatchObject({ host: undefined, keepAliveTimeoutMs: 72_000 });
    expect(readConfig({ HOST: '127.0.0.1', KEEP_ALIVE_TIMEOUT_SECONDS: '65' })).toMatchObject({
      host: '127.0.0.1',
      keepAliveTimeoutMs: 65_000,
    });
    expect(readConfig({ HOST: '::' }).host).toBe('::');
    expect(readConfig({ HOST: 'gateway.internal' }).host).toBe('gateway.internal');
    expect(() => readConfig({ HOST: 'http://0.0.0.0' })).toThrow(
      'HOST must be an IP address or a host name, such as 127.0.0.1 or ::, got "http://0.0.0.0"',
    );
    expect(() => readConfig({ KEEP_ALIVE_TIMEOUT_SECONDS: '0' })).toThrow('KEEP_ALIVE_TIMEOUT_SECONDS must be an integer from 1 to 3600');
  });

  it('assumes a fleet of 1 without REDIS_URL and 2 with it until FLEET_SIZE_HINT says; REDIS_REQUIRED needs REDIS_URL', () => {
    expect(readConfig({}).fleetSizeHint).toBe(1);
    expect(readConfig({ REDIS_URL: 'redis://redis:6379' }).fleetSizeHint).toBe(2);
    expect(readConfig({ REDIS_URL: 'redis://redis:6379', FLEET_SIZE_HINT: '6' }).fleetSizeHint).toBe(6);
    expect(readConfig({ FLEET_SIZE_HINT: '4' }).fleetSizeHint).toBe(4);
    expect(() => readConfig({ FLEET_SIZE_HINT: '0' })).toThrow('FLEET_SIZE_HINT must be an integer from 1 to 1000, got "0"');
    expect(readConfig({ REDIS_URL: 'redis://redis:6379', REDIS_REQUIRED: 'true' }).redisRequired).toBe(true);
    expect(readConfig({}).redisRequired).toBe(false);
    expect(() => readConfig({ REDIS_REQUIRED: 'true' })).toThrow('REDIS_REQUIRED=true needs REDIS_URL: the Redis that readiness waits for');
  });

  it('sizes what an instance remembers from CAPACITY_PAGES and CAPACITY_TOKENS: 1,000 Pages and 10,000 tokens by default', () => {
    const megabyte = 1024 * 1024;
    expect(readConfig({}).capacity).toEqual({
      cacheEntries: 10_000,
      cacheBytes: 64 * megabyte,
      cacheTags: 50_000,
      customers: 50_000,
      threadInboxes: 50_000,
      webhookEvents: 100_000,
      identities: 10_000,
      proofs: 40_000,
      refusals: 10_000,
      pagesPerToken: 20_000,
      cursorLists: 500,
      cursorBytes: 16_000_000,
    });
    expect(readConfig({}).cache).toMatchObject({ maxEntries: 10_000, maxBytes: 64 * megabyte });
    const large = readConfig({ CAPACITY_PAGES: '10000', CAPACITY_TOKENS: '100000' });
    expect(large.capacity).toEqual({
      cacheEntries: 100_000,
      cacheBytes: 640 * megabyte,
      cacheTags: 500_000,
      customers: 500_000,
      threadInboxes: 500_000,
      webhookEvents: 1_000_000,
      identities: 100_000,
      proofs: 400_000,
      refusals: 100_000,
      pagesPerToken: 20_000,
      cursorLists: 5_000,
      cursorBytes: 32 * megabyte,
    });
    expect(large.cache).toMatchObject({ maxEntries: 100_000, maxBytes: 640 * megabyte });
    // With Redis the fleet keeps identities, proofs and cached reads there: this instance's fronts of them, and the read
    // cache it keeps while Redis is unreachable, stay at the defaults' bounds (64 MB fits start:prod's 1 GB heap).
    const shared = readConfig({ CAPACITY_PAGES: '10000', CAPACITY_TOKENS: '100000', REDIS_URL: 'redis://redis:6379' });
    expect(shared.capacity).toEqual({
      ...large.capacity,
      cacheEntries: 10_000,
      cacheBytes: 64 * megabyte,
      cacheTags: 50_000,
      customers: 50_000,
      identities: 10_000,
      proofs: 40_000,
    });
    expect(shared.cache).toMatchObject({ maxEntries: 10_000, maxBytes: 64 * megabyte });
    expect(readConfig({ CAPACITY_PAGES: '100', REDIS_URL: 'redis://redis:6379' }).capacity).toEqual(
      readConfig({ CAPACITY_PAGES: '100' }).capacity,
    );
    expect(readConfig({ CAPACITY_PAGES: '10000', REDIS_URL: 'redis://redis:6379', CACHE_MAX_MEGABYTES: '256' }).cache.maxBytes).toBe(
      256 * megabyte,
    );
    // CACHE_MAX_ENTRIES and CACHE_MAX_MEGABYTES, when set, say what the read cache keeps whatever CAPACITY_PAGES says.
    const set = readConfig({ CAPACITY_PAGES: '10000', CACHE_MAX_ENTRIES: '2000', CACHE_MAX_MEGABYTES: '256' });
    expect(set.cache).toMatchObject({ maxEntries: 2_000, maxBytes: 256 * megabyte });
    expect(set.capacity.cacheTags).toBe(500_000);
    expect(() => readConfig({ CAPACITY_PAGES: '0', CAPACITY_TOKENS: 'many' })).toThrow(
      new ConfigError([
        'CAPACITY_PAGES must be an integer from 1 to 1000000, got "0"',
        'CAPACITY_TOKENS must be an integer from 1 to 10000000, got "many"',
      ]),
    );
  });

  it('takes EMULATOR_PORT, 4010 by default', () => {
    expect(readConfig({}).emulatorPort).toBe(4010);
    expect(readConfig({ EMULATOR_PORT: '0' }).emulatorPort).toBe(0);
    expect(() => readConfig({ EMULATOR_PORT: '70000' })).toThrow('EMULATOR_PORT must be an integer from 0 to 65535, got "70000"');
  });

  it.each(['1e3', '0.001', 'two', '20000'])('refuses GRAPH_PAGE_CALLS_PER_SECOND=%s', (raw) => {
    expect(() => readConfig({ GRAPH_PAGE_CALLS_PER_SECOND: raw })).toThrow(/GRAPH_PAGE_CALLS_PER_SECOND must be/);
  });
});

describe('the settings table', () => {
  it('is what the README shows (run `npm run config:table` after changing a setting)', async () => {
    const readme = await readFile(README_FILE, 'utf8');
    expect(readmeTableOf(readme, CONFIG_TABLE)).toBe(configTable());
  });

  it('lists every variable the gateway reads, each with a description', () => {
    expect(Object.keys(SETTINGS).length).toBeGreaterThan(0);
    for (const [name, spec] of Object.entries(SETTINGS)) {
      expect(name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(spec.description.length, name).toBeGreaterThan(10);
    }
    // What modules fall back to is what an empty environment gives.
    expect(DEFAULT_CONFIG).toEqual(readConfig({}));
  });
});
