/**
 * Standard Access (EMULATOR_ACCESS_LEVEL=standard): Graph lists only conversations with people who have a role on
 * the app, so a Page's inbox in development reads short or empty; the gateway logs a hint, once per Page and
 * platform, the first time a first page of an inbox comes back empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../src/emulator/index.js';
import { APP_ROLE_THREADS } from '../src/emulator/store.js';
import { createLogger } from '../src/logger.js';
import { getJson, query, type GraphListBody } from './emulator/graph-client.js';
import { ACME, BISTRO, type Harness, startHarness } from './support/harness.js';

const lines: string[] = [];
let h: Harness;
let advanced: Emulator;

beforeAll(async () => {
  h = await startHarness({
    emulator: { accessLevel: 'standard', privacyFiltering: false },
    logger: createLogger({ format: 'json', destination: { write: (line) => lines.push(line) } }),
  });
  advanced = await startEmulator({ privacyFiltering: false });
});
afterAll(async () => {
  await h.close();
  await advanced.close();
});

const list = async (emulator: Emulator, page: string, token: string, platform: string) =>
  (
    await getJson<GraphListBody>(
      `${emulator.url}/v25.0/${page}/conversations?${query({ access_token: token, platform, fields: 'id', limit: '100' })}`,
    )
  ).body;

describe('the emulator with Standard Access', () => {
  it('lists only the app testers’ conversations: three on Acme’s Messenger, one on its Instagram, none on Bistro', async () => {
    const messenger = await list(h.emulator, ACME, DEMO.tokens.acmePage, 'messenger');
    expect(messenger.data.map((thread) => thread.id).sort()).toEqual(
      [DEMO.replyWindows.open, DEMO.replyWindows.humanAgent, DEMO.replyWindows.closed].sort(),
    );
    expect(messenger.paging?.next).toBeUndefined();
    expect((await list(h.emulator, ACME, DEMO.tokens.acmePage, 'instagram')).data.map((thread) => thread.id)).toEqual([
      DEMO.replyWindows.instagram,
    ]);
    expect((await list(h.emulator, BISTRO, DEMO.tokens.bistroPage, 'messenger')).data).toEqual([]);
    // Advanced Access (the default) lists everyone.
    expect((await list(advanced, ACME, DEMO.tokens.acmePage, 'messenger')).data.length).toBe(100);
    expect(APP_ROLE_THREADS.size).toBe(4);
  });

  it('answers a thread of someone with no role as Graph answers an id it does not serve (#100)', async () => {
    const other = advanced.store.listConversations(ACME, { platform: 'messenger' }).find((thread) => !APP_ROLE_THREADS.has(thread.id))!;
    const answer = await getJson(`${h.emulator.url}/v25.0/${other.id}?${query({ access_token: DEMO.tokens.acmePage, fields: 'id' })}`);
    expect(answer.status).toBe(400);
    expect((answer.body as { error: { code: number } }).error.code).toBe(100);
  });
});

describe('the gateway', () => {
  it('logs the hint once when a Page’s inbox reads empty, naming the README entry', async () => {
    const read = `{ page(id: "${BISTRO}") { conversations(first: 5) { edges { node { id } } } } }`;
    lines.length = 0;
    for (let i = 0; i < 2; i += 1) {
      const answer = await h.post({ query: read }, { authorization: `Bearer ${DEMO.tokens.bistroPage}` });
      expect(answer.body).toEqual({ data: { page: { conversations: { edges: [] } } } });
    }
    const hints = lines
      .map((line) => JSON.parse(line) as { msg: string; pageId?: string })
      .filter((line) => line.msg.includes('role on the app'));
    expect(hints).toHaveLength(1);
    expect(hints[0]).toMatchObject({ pageId: BISTRO, platform: 'messenger' });
    expect(hints[0]!.msg).toContain('README, Troubleshooting: "My inbox is empty in development"');
    // A Page whose inbox lists someone gets none.
    lines.length = 0;
    await h.post({ query: `{ page(id: "${ACME}") { conversations(first: 5) { edges { node { id } } } } }` });
    expect(lines.filter((line) => line.includes('role on the app'))).toEqual([]);
  });
});
