/** The environment as operators write it: defaults, accepted forms, and every problem reported at once. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError, configTable, DEFAULT_CONFIG, readConfig, SETTINGS } from '../src/config.js';
import { configTableOf, README_FILE } from '../scripts/readme-config.js';

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

  it('reports every bad value at once, naming the variable and what it got', () => {
    const read = (): unknown =>
      readConfig({ GRAPH_PAGE_CALLS_PER_SECOND: '-1', PORT: 'eighty', GRAPH_API_URL: 'https://graph.facebook.com/v25.0' });
    expect(read).toThrow(ConfigError);
    try {
      read();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'PORT must be an integer from 0 to 65535, got "eighty"',
        'GRAPH_API_URL must be an origin such as https://graph.facebook.com (no path, query or credentials), got "https://graph.facebook.com/v25.0"',
        'GRAPH_PAGE_CALLS_PER_SECOND must be 0 (no limit) or a number from 0.01 to 10000, got "-1"',
      ]);
    }
  });

  it('takes WEBHOOK_PEERS as origins, and refuses anything else', () => {
    expect(readConfig({ WEBHOOK_PEERS: 'http://gateway-2:4000, https://gateway-3.internal' }).webhookPeers).toEqual([
      'http://gateway-2:4000',
      'https://gateway-3.internal',
    ]);
    expect(() => readConfig({ WEBHOOK_PEERS: 'http://gateway-2:4000/webhooks/meta' })).toThrow(
      /WEBHOOK_PEERS must be comma-separated origins/,
    );
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

  it.each(['1e3', '0.001', 'two', '20000'])('refuses GRAPH_PAGE_CALLS_PER_SECOND=%s', (raw) => {
    expect(() => readConfig({ GRAPH_PAGE_CALLS_PER_SECOND: raw })).toThrow(/GRAPH_PAGE_CALLS_PER_SECOND must be/);
  });
});

describe('the settings table', () => {
  it('is what the README shows (run `npm run config:table` after changing a setting)', async () => {
    const readme = await readFile(README_FILE, 'utf8');
    expect(configTableOf(readme)).toBe(configTable());
  });

  it('lists every variable the gateway reads, each with a description', () => {
    for (const [name, spec] of Object.entries(SETTINGS)) {
      expect(name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(spec.description.length, name).toBeGreaterThan(10);
    }
    // What modules fall back to is what an empty environment gives.
    expect(DEFAULT_CONFIG).toEqual(readConfig({}));
  });
});
