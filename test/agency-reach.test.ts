/**
 * A user token reaches every Page `/me/accounts` lists, however many pages of it Graph answers: an agency's token
 * managing 250 Pages (three pages of 100 at most) sees all of them, and reads the last one with its own Page token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AGENCY, createAgencyWorld, type Emulator, startEmulator } from '../src/emulator/index.js';
import { startHarness, type Harness } from './support/harness.js';

const PAGE_COUNT = 250;
const VIEWER = `{ viewer { kind graphApiId pages { graphApiId name } } }`;
const PAGE = (id: string) => `{ page(id: "${id}") { graphApiId name conversations(first: 1) { edges { node { graphApiId } } } } }`;
const agency = { authorization: `Bearer ${AGENCY.token}` };

describe('a user token managing 250 Pages', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ emulator: { extraWorld: createAgencyWorld(PAGE_COUNT) }, defaultAccessToken: undefined });
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.log.clear());

  it('lists all 250 in viewer { pages }, in /me/accounts order, reading /me/accounts to its end', async () => {
    const { body } = await h.post({ query: VIEWER }, agency);
    const viewer = (body.data as { viewer: { kind: string; graphApiId: string; pages: { graphApiId: string; name: string }[] } }).viewer;
    expect([viewer.kind, viewer.graphApiId, viewer.pages.length]).toEqual(['USER', AGENCY.user.id, 250]);
    expect(viewer.pages[0]).toEqual({ graphApiId: '3000000001', name: 'Agency Page 1' });
    expect(viewer.pages[99]).toEqual({ graphApiId: '3000000100', name: 'Agency Page 100' });
    expect(viewer.pages[249]).toEqual({ graphApiId: '3000000250', name: 'Agency Page 250' });
    expect(new Set(viewer.pages.map((page) => page.graphApiId)).size).toBe(250);
    // One batch for who the token is and its first 100 Pages; one more for the next two pages of 100, the second chained after
    // the first's cursor: /me/accounts is not a conversations call, no Page's budget is spent on it.
    const calls = h.emulator.log.entries.map((entry) =>
      (entry.items ?? []).map((item) => item.relativeUrl.replace(/after=[A-Za-z0-9_-]+/, 'after=CURSOR')),
    );
    expect(calls).toEqual([
      ['v25.0/me?fields=id%2Cname', 'v25.0/me/accounts?fields=access_token%2Cid%2Cname%2Ctasks&limit=100'],
      [
        'v25.0/me/accounts?after=CURSOR&fields=access_token%2Cid%2Cname%2Ctasks&limit=100',
        // Chained: Graph resolves `after={result=r0p0:$.paging.cursors.after}` before the call (as its log shows).
        'v25.0/me/accounts?fields=access_token%2Cid%2Cname%2Ctasks&limit=100&after=CURSOR',
      ],
    ]);
  });

  it('reads page(id:) of the 250th with its own Page token', async () => {
    const { body } = await h.post({ query: PAGE(AGENCY.pageIdOf(250)) }, agency);
    expect(body).toEqual({ data: { page: { graphApiId: '3000000250', name: 'Agency Page 250', conversations: { edges: [] } } } });
  });
});

describe("the emulator's /me/accounts of 250 Pages, paged as Graph pages it", () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ extraWorld: createAgencyWorld(PAGE_COUNT) });
  });
  afterAll(() => emulator.close());

  type Accounts = { data: { id: string }[]; paging?: { cursors?: { after?: string }; next?: string } };
  const read = async (url: string): Promise<Accounts> => (await (await fetch(url)).json()) as Accounts;
  const accountsUrl = (limit?: number): string => {
    const params = new URLSearchParams({
      access_token: AGENCY.token,
      fields: 'id',
      ...(limit === undefined ? {} : { limit: String(limit) }),
    });
    return `${emulator.url}/v25.0/me/accounts?${params}`;
  };

  it('answers 25 Pages by default, with a cursor and a next link', async () => {
    const first = await read(accountsUrl());
    expect([first.data.length, first.data[0]!.id, first.data[24]!.id]).toEqual([25, '3000000001', '3000000025']);
    expect(first.paging?.next).toContain('limit=25');
  });

  it('caps a larger limit at 100 and, following next verbatim, ends after the 250th with no next', async () => {
    const sizes: number[] = [];
    const ids: string[] = [];
    let next: string | undefined = accountsUrl(500);
    while (next !== undefined) {
      const page: Accounts = await read(next);
      sizes.push(page.data.length);
      ids.push(...page.data.map((account) => account.id));
      next = page.paging?.next;
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect([ids.length, new Set(ids).size, ids.at(-1)]).toEqual([250, 250, '3000000250']);
  });
});
