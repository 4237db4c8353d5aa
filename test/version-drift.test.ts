/**
 * Version drift: Graph serves a call naming an expired version with the oldest live one and says so
 * in `facebook-api-version`; the emulator does the same, and the gateway notices and tells operators.
 */
import { DEFAULT_CONFIG } from '../src/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../src/emulator/index.js';
import { GraphApiClient } from '../src/graph-api/client.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ oldestLiveVersion: 'v21.0' });
});
afterAll(() => emulator.close());

const served = async (version: string): Promise<string | null> => {
  const response = await fetch(`${emulator.url}/${version}/${DEMO.pages.acme.id}?access_token=${DEMO.tokens.acmePage}`);
  await response.arrayBuffer();
  return response.headers.get('facebook-api-version');
};

describe('expired Graph API versions', () => {
  it('the emulator serves a version older than the oldest live one as that one', async () => {
    expect(await served('v19.0')).toBe('v21.0');
    expect(await served('v5.0')).toBe('v21.0');
    expect(await served('v21.0')).toBe('v21.0');
    expect(await served('v25.0')).toBe('v25.0');
  });

  it('the gateway client reports the drift once per served version, and the reads still answer', async () => {
    const drifts: Array<[string, string]> = [];
    const client = new GraphApiClient({
      baseUrl: emulator.url,
      transport: { pool: DEFAULT_CONFIG.upstream },
      version: 'v19.0',
      onVersionDrift: (requested, version) => drifts.push([requested, version]),
    });
    try {
      const read = { request: { path: DEMO.pages.acme.id, params: { fields: 'id,name' } }, token: DEMO.tokens.acmePage };
      const [page] = await client.readMany([read]);
      expect(page).toEqual({ id: DEMO.pages.acme.id, name: DEMO.pages.acme.name });
      // A batch is answered under the same served version.
      await client.readMany([read, { ...read, request: { path: DEMO.pages.acme.id, params: { fields: 'id' } } }]);
      expect(drifts).toEqual([['v19.0', 'v21.0']]);
    } finally {
      await client.close();
    }
  });

  it('no report when the version asked for is live', async () => {
    const drifts: string[] = [];
    const client = new GraphApiClient({
      baseUrl: emulator.url,
      transport: { pool: DEFAULT_CONFIG.upstream },
      version: 'v25.0',
      onVersionDrift: (_requested, version) => drifts.push(version),
    });
    try {
      await client.readMany([{ request: { path: DEMO.pages.acme.id, params: { fields: 'id' } }, token: DEMO.tokens.acmePage }]);
      expect(drifts).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
