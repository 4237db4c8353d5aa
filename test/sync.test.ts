/**
 * Delta sync: `conversations(updatedSince:)` lists only what changed since a watermark and ends
 * there, with the same literal-cursor paging and the same one-request cost as any list.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, ConversationsSinceDocument } from './generated/graphql.js';
import { ACME, startHarness, TEST_VERSION, type Harness } from './support/harness.js';

let h: Harness;
/** The Acme inbox as Graph lists it, newest first: ids and update times. */
let inbox: { id: string; updated: string }[];

beforeAll(async () => {
  h = await startHarness({ emulator: { privacyFiltering: false } });
  const search = new URLSearchParams({ fields: 'updated_time', limit: '100', access_token: DEMO.tokens.acmePage });
  const url = `${h.emulator.url}/${TEST_VERSION}/${ACME}/conversations?${search}`;
  const page = (await (await fetch(url)).json()) as { data: { id: string; updated_time: string }[] };
  inbox = page.data.map((thread) => ({ id: thread.id, updated: thread.updated_time }));
});
afterAll(() => h.close());
beforeEach(() => h.emulator.log.clear());

const iso = (graphTime: string): string => new Date(Date.parse(graphTime)).toISOString();
const ids = (result: Awaited<ReturnType<typeof since>>): string[] =>
  result.data!.page!.conversations.edges.map((edge) => edge.node.graphApiId);
const since = (watermark: string, first: number, after?: string) =>
  h.run(ConversationsSinceDocument, { pageId: ACME, since: watermark, first, after });

describe('conversations(updatedSince:)', () => {
  it('lists the conversations updated at or after the watermark and ends there, in one request reading updated_time', async () => {
    // A watermark strictly between two update times, and one equal to an update time (inclusive).
    const at = inbox.findIndex((thread, i) => i >= 6 && thread.updated !== inbox[i + 1]!.updated);
    const expected = inbox.slice(0, at + 1).map((thread) => thread.id);
    const result = await since(iso(inbox[at]!.updated), 50);
    expect(result.errors).toBeUndefined();
    expect(ids(result)).toEqual(expected);
    expect(result.data!.page!.conversations.pageInfo.hasNextPage).toBe(false);
    expect(result.data!.page!.conversations.pageInfo.endCursor).toBe(result.data!.page!.conversations.edges.at(-1)!.cursor);
    expect(h.emulator.log.requestCount).toBe(1);
    expect(h.emulator.log.entries[0]!.params).toMatchObject({ fields: 'id,updated_time', limit: '50' });
  });

  it('pages through what changed with literal cursors, then ends with an empty page', async () => {
    const at = inbox.findIndex((thread, i) => i >= 11 && thread.updated !== inbox[i + 1]!.updated);
    const watermark = iso(inbox[at]!.updated);
    const expected = inbox.slice(0, at + 1).map((thread) => thread.id);
    const first = await since(watermark, 5);
    expect(ids(first)).toEqual(expected.slice(0, 5));
    expect(first.data!.page!.conversations.pageInfo.hasNextPage).toBe(true);
    const seen = [...ids(first)];
    let cursor = first.data!.page!.conversations.pageInfo.endCursor!;
    for (let more = true; more; ) {
      const next = await since(watermark, 5, cursor);
      expect(next.errors).toBeUndefined();
      seen.push(...ids(next));
      more = next.data!.page!.conversations.pageInfo.hasNextPage;
      cursor = next.data!.page!.conversations.pageInfo.endCursor!;
    }
    expect(seen).toEqual(expected);
    // Resuming from the last edge finds nothing newer than the watermark: an empty, final page.
    const last = await since(watermark, 5, cursor);
    expect(last.data!.page!.conversations).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('a watermark in the future gives an empty list; one before everything gives the whole first page', async () => {
    const future = await since('2099-01-01T00:00:00.000Z', 10);
    expect(future.data!.page!.conversations).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    const past = await since('2000-01-01T00:00:00.000Z', 10);
    expect(ids(past)).toEqual(inbox.slice(0, 10).map((thread) => thread.id));
    expect(past.data!.page!.conversations.pageInfo.hasNextPage).toBe(true);
  });

  it('binds cursors to the watermark: a cursor of the plain list, or of another watermark, is refused', async () => {
    const plain = await h.run(ConversationIdsDocument, { pageId: ACME, first: 3 });
    const plainCursor = plain.data!.page!.conversations.pageInfo.endCursor!;
    const sinceCursor = (await since('2000-01-01T00:00:00.000Z', 3)).data!.page!.conversations.pageInfo.endCursor!;
    h.emulator.log.clear();
    expect((await since('2000-01-01T00:00:00.000Z', 3, plainCursor)).errors![0]!.extensions!.code).toBe('BAD_CURSOR');
    expect((await since('2001-01-01T00:00:00.000Z', 3, sinceCursor)).errors![0]!.extensions!.code).toBe('BAD_CURSOR');
    expect(h.emulator.log.requestCount).toBe(0);
  });

  it('refuses a watermark that is not a date', async () => {
    const result = await since('yesterday', 3);
    expect(result.errors![0]!.message).toMatch(/DateTime/);
    expect(h.emulator.log.requestCount).toBe(0);
  });
});
