import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getJson, query, type GraphErrorEnvelope, type GraphListBody } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const TOKEN = DEMO.tokens.acmePage;

let emulator: Emulator;
const conversationsUrl = (params: Record<string, string | number | undefined> = {}, version = 'v25.0'): string =>
  `${emulator.url}/${version}/${ACME}/conversations?${query({ access_token: TOKEN, ...params })}`;
const ids = (body: GraphListBody): string[] => body.data.map((thread) => thread.id as string);
/** The full ordered inbox list (hidden threads included), as the emulator cuts windows from it. */
const inboxList = () => emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' });
const visibleIds = (list: ReturnType<typeof inboxList>): string[] => list.filter((thread) => thread.visible).map((thread) => thread.id);

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('GET /{page-id}/conversations paging', () => {
  it('serves 25-item windows by default, newest first, ids and updated_time only', async () => {
    const { status, body } = await getJson<GraphListBody>(conversationsUrl());
    expect(status).toBe(200);
    const list = inboxList();
    expect(ids(body)).toEqual(visibleIds(list.slice(0, 25)));
    expect(Object.keys(body.data[0]!)).toEqual(['id', 'updated_time']);
    expect(body.data[0]!.updated_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    expect(body.paging?.previous).toBeUndefined();
    expect(body.paging?.cursors?.before).toMatch(/^QVFI[A-Za-z0-9_-]+$/);
  });

  it('walks the whole inbox by following next verbatim: every visible thread once, in order, with short and empty pages', async () => {
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let next: string | undefined = conversationsUrl();
    while (next !== undefined) {
      const { status, body }: { status: number; body: GraphListBody } = await getJson<GraphListBody>(next);
      expect(status).toBe(200);
      seen.push(...ids(body));
      pageSizes.push(body.data.length);
      next = body.paging?.next;
      if (next !== undefined) {
        expect(next.startsWith(`${emulator.url}/v25.0/${ACME}/conversations?access_token=${TOKEN}&`)).toBe(true);
        expect(next).not.toContain('appsecret_proof');
      }
    }
    const list = inboxList();
    expect(seen).toEqual(visibleIds(list));
    expect(new Set(seen).size).toBe(seen.length);
    expect(pageSizes).toHaveLength(Math.ceil(list.length / 25));
    // The contiguous hidden run (list positions 300–339) empties the 13th window entirely and shortens the 14th.
    expect(pageSizes[12]).toBe(0);
    expect(pageSizes.slice(0, -1).some((size) => size > 0 && size < 25)).toBe(true);
  });

  it('keeps cursors and next on a window whose threads are all hidden', async () => {
    let url = conversationsUrl({ limit: 100 });
    for (let i = 0; i < 3; i++) url = (await getJson<GraphListBody>(url)).body.paging!.next!;
    const window = await getJson<GraphListBody>(url.replace('limit=100', 'limit=25'));
    expect(window.body.data).toEqual([]);
    expect(window.body.paging?.cursors?.before).toBeDefined();
    expect(window.body.paging?.next).toBeDefined();
    expect(window.body.paging?.previous).toBeDefined();
  });

  it('ends with a page that has cursors but no next, and answers past the end with {"data":[]} and no paging', async () => {
    let url: string | undefined = conversationsUrl({ limit: 100 });
    let lastPage: GraphListBody | undefined;
    while (url !== undefined) {
      lastPage = (await getJson<GraphListBody>(url)).body;
      url = lastPage.paging?.next;
    }
    expect(lastPage!.paging?.cursors).toBeDefined();
    expect(lastPage!.paging?.previous).toBeDefined();
    const pastEnd = await getJson<GraphListBody>(conversationsUrl({ after: lastPage!.paging!.cursors!.after }));
    expect(pastEnd.status).toBe(200);
    expect(pastEnd.body).toEqual({ data: [] });
  });

  it('follows previous back to the preceding window, in list order', async () => {
    const page1 = (await getJson<GraphListBody>(conversationsUrl())).body;
    const page2 = (await getJson<GraphListBody>(page1.paging!.next!)).body;
    expect(page2.paging!.previous!.startsWith(`${emulator.url}/v25.0/${ACME}/conversations?access_token=${TOKEN}&limit=25&before=`)).toBe(
      true,
    );
    const back = (await getJson<GraphListBody>(page2.paging!.previous!)).body;
    expect(ids(back)).toEqual(ids(page1));
    expect(back.paging?.cursors).toEqual(page1.paging?.cursors);
    expect(back.paging?.previous).toBeUndefined();
  });

  it('returns the `limit` items immediately before a `before` cursor', async () => {
    const page1 = (await getJson<GraphListBody>(conversationsUrl({ limit: 50 }))).body;
    const page2 = (await getJson<GraphListBody>(page1.paging!.next!)).body;
    const { body } = await getJson<GraphListBody>(conversationsUrl({ limit: 10, before: page2.paging!.cursors!.before }));
    expect(ids(body)).toEqual(visibleIds(inboxList().slice(40, 50)));
    expect(body.paging?.next).toBeDefined();
    expect(body.paging?.previous).toBeDefined();
  });

  it('has before === after on a one-item window', async () => {
    const { body } = await getJson<GraphListBody>(conversationsUrl({ limit: 1 }));
    expect(body.paging!.cursors!.before).toBe(body.paging!.cursors!.after);
  });

  it('caps limit silently at maxLimit and carries the capped limit in next', async () => {
    const { status, body } = await getJson<GraphListBody>(conversationsUrl({ limit: 500 }));
    expect(status).toBe(200);
    expect(ids(body)).toEqual(visibleIds(inboxList().slice(0, 100)));
    expect(new URL(body.paging!.next!).searchParams.get('limit')).toBe('100');
  });

  it.each(['-5', 'abc', '2.5', ''])('rejects limit=%j with code 100', async (limit) => {
    const { status, body } = await getJson<GraphErrorEnvelope>(conversationsUrl({ limit }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: 'OAuthException', code: 100 });
    expect(body.error.message).toBe(`(#100) Param limit must be a non-negative integer, got "${limit}"`);
  });

  it('answers limit=0 with no items and no paging', async () => {
    const { status, body } = await getJson<GraphListBody>(conversationsUrl({ limit: 0 }));
    expect([status, body]).toEqual([200, { data: [] }]);
  });

  it('accepts a cursor minted with one limit under another', async () => {
    const page1 = (await getJson<GraphListBody>(conversationsUrl({ limit: 5 }))).body;
    const { body } = await getJson<GraphListBody>(conversationsUrl({ limit: 7, after: page1.paging!.cursors!.after }));
    expect(ids(body)).toEqual(visibleIds(inboxList().slice(5, 12)));
  });
});

describe('cursor validation', () => {
  const expectInvalidCursor = (answer: { status: number; body: GraphErrorEnvelope }): void => {
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ message: '(#100) Invalid cursor', type: 'OAuthException', code: 100 });
    expect(answer.body.error.fbtrace_id).toMatch(/^A[A-Za-z0-9_-]{20,}$/);
  };

  it('rejects a cursor from another filter set', async () => {
    const inbox = (await getJson<GraphListBody>(conversationsUrl())).body;
    const after = inbox.paging!.cursors!.after;
    expectInvalidCursor(await getJson<GraphErrorEnvelope>(conversationsUrl({ folder: 'other', after })));
    expectInvalidCursor(await getJson<GraphErrorEnvelope>(conversationsUrl({ platform: 'instagram', after })));
    expectInvalidCursor(await getJson<GraphErrorEnvelope>(conversationsUrl({ tags: 'inbox', after })));
    // The explicit default is the same filter set as the implicit one.
    expect((await getJson<GraphListBody>(conversationsUrl({ folder: 'inbox', platform: 'MESSENGER', after }))).status).toBe(200);
  });

  it('rejects a conversations cursor on a messages list', async () => {
    const inbox = (await getJson<GraphListBody>(conversationsUrl())).body;
    const threadId = ids(inbox)[0]!;
    const answer = await getJson<GraphErrorEnvelope>(
      `${emulator.url}/v25.0/${threadId}/messages?${query({ access_token: TOKEN, after: inbox.paging!.cursors!.after })}`,
    );
    expectInvalidCursor(answer);
  });

  it('rejects a tampered cursor', async () => {
    const after = (await getJson<GraphListBody>(conversationsUrl())).body.paging!.cursors!.after;
    const middle = Math.floor(after.length / 2);
    const tampered = after.slice(0, middle) + (after[middle] === 'A' ? 'B' : 'A') + after.slice(middle + 1);
    expectInvalidCursor(await getJson<GraphErrorEnvelope>(conversationsUrl({ after: tampered })));
    expectInvalidCursor(await getJson<GraphErrorEnvelope>(conversationsUrl({ before: 'not-a-cursor' })));
  });

  it('rejects after together with before', async () => {
    const cursors = (await getJson<GraphListBody>(conversationsUrl())).body.paging!.cursors!;
    const { status, body } = await getJson<GraphErrorEnvelope>(conversationsUrl({ after: cursors.after, before: cursors.before }));
    expect(status).toBe(400);
    expect(body.error.code).toBe(100);
  });
});

describe('filters', () => {
  it('treats platform case-insensitively', async () => {
    const lower = ids((await getJson<GraphListBody>(conversationsUrl({ platform: 'instagram' }))).body);
    const upper = ids((await getJson<GraphListBody>(conversationsUrl({ platform: 'INSTAGRAM' }))).body);
    expect(upper).toEqual(lower);
    expect(lower[0]).toMatch(/^aWdfZAG/);
    const expected = emulator.store.listConversations(ACME, { platform: 'instagram', folder: 'inbox' }).slice(0, 25);
    expect(lower).toEqual(expected.filter((thread) => thread.visible).map((thread) => thread.id));
  });

  it('rejects an unknown platform, and platform itself before v11.0', async () => {
    const whatsapp = await getJson<GraphErrorEnvelope>(conversationsUrl({ platform: 'whatsapp' }));
    expect(whatsapp.status).toBe(400);
    expect(whatsapp.body.error).toMatchObject({
      code: 100,
      message: '(#100) param platform must be one of {INSTAGRAM, MESSENGER} - got "whatsapp"',
    });
    const v5 = await getJson<GraphErrorEnvelope>(conversationsUrl({ platform: 'messenger' }, 'v5.0'));
    expect(v5.status).toBe(400);
    expect(v5.body.error.code).toBe(100);
    const v5Plain = await getJson<GraphListBody>(conversationsUrl({}, 'v5.0'));
    expect(v5Plain.status).toBe(200);
    expect(v5Plain.headers.get('facebook-api-version')).toBe('v5.0');
    expect(ids(v5Plain.body)[0]).toMatch(/^t_\d{15}$/);
  });

  it('rejects an unknown folder', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(conversationsUrl({ folder: 'archive' }));
    expect(status).toBe(400);
    expect(body.error.message).toBe('(#100) param folder must be one of {inbox, other, page_done, spam} - got "archive"');
  });

  it(
    'lists threads archived after mid-2018 in page_done and those archived before under tags=action:archived, and an unknown tag ' +
      'as nothing',
    async () => {
      const mid2018 = '2018-07-01T00:00:00+0000';
      const archived = (
        await getJson<GraphListBody>(conversationsUrl({ tags: 'action:archived', limit: 100, fields: 'updated_time,folder' }))
      ).body;
      const pageDone = (await getJson<GraphListBody>(conversationsUrl({ folder: 'page_done', limit: 100, fields: 'updated_time,folder' })))
        .body;
      const legacy = emulator.store.listConversations(ACME).filter((thread) => thread.folder === undefined && thread.visible);
      expect(ids(archived)).toEqual(legacy.map((thread) => thread.id));
      expect(archived.data.length).toBeGreaterThan(15);
      // Old archived threads sit in no folder; every page_done thread was archived recently.
      expect(archived.data.every((thread) => thread.folder === undefined && (thread.updated_time as string) < mid2018)).toBe(true);
      expect(pageDone.data.length).toBeGreaterThan(50);
      expect(pageDone.data.every((thread) => thread.folder === 'page_done' && (thread.updated_time as string) > mid2018)).toBe(true);
      expect(ids(pageDone).filter((id) => ids(archived).includes(id))).toEqual([]);
      expect((await getJson<GraphListBody>(conversationsUrl({ tags: 'no_such_tag' }))).body).toEqual({ data: [] });
      // Both tags and folder apply: no inbox thread carries the spam tag.
      expect((await getJson<GraphListBody>(conversationsUrl({ tags: 'spam', folder: 'inbox' }))).body).toEqual({ data: [] });
    },
  );

  it('keeps tags in next links and filters with them', async () => {
    const { body } = await getJson<GraphListBody>(conversationsUrl({ tags: 'sent,pending', folder: 'other', limit: 10 }));
    const next = new URL(body.paging!.next!);
    expect(next.searchParams.get('tags')).toBe('sent,pending');
    expect(next.searchParams.get('folder')).toBe('other');
    const other = emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'other' });
    expect(ids(body)).toEqual(
      other
        .slice(0, 10)
        .filter((thread) => thread.visible)
        .map((thread) => thread.id),
    );
  });

  it('finds the thread of one customer with user_id, in any folder', async () => {
    const target = emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'spam' }).find((thread) => thread.visible)!;
    const { body } = await getJson<GraphListBody>(conversationsUrl({ user_id: target.customerId }));
    expect(ids(body)).toEqual([target.id]);
    expect(body.paging?.cursors?.before).toBe(body.paging?.cursors?.after);
    expect(body.paging?.next).toBeUndefined();
    expect((await getJson<GraphListBody>(conversationsUrl({ user_id: '1234567890123456' }))).body).toEqual({ data: [] });
    // A PSID is not an IGSID.
    expect((await getJson<GraphListBody>(conversationsUrl({ user_id: target.customerId, platform: 'instagram' }))).body).toEqual({
      data: [],
    });
  });

  it('ignores since/until and unknown params', async () => {
    const plain = ids((await getJson<GraphListBody>(conversationsUrl())).body);
    expect(
      ids((await getJson<GraphListBody>(conversationsUrl({ since: '1700000000', until: 'yesterday', summary: 'true' }))).body),
    ).toEqual(plain);
  });
});

describe('changes while paging', () => {
  let live: Emulator;
  const liveUrl = (params: Record<string, string | number | undefined> = {}): string =>
    `${live.url}/v25.0/${ACME}/conversations?${query({ access_token: TOKEN, ...params })}`;

  beforeAll(async () => {
    // A message sent "today" is stamped with the clock's time, after the seed's history (2026-11-01).
    live = await startEmulator({ privacyFiltering: false, now: () => Date.parse('2026-11-29T09:30:00.750Z') });
  });
  afterAll(async () => {
    await live.close();
  });

  it('moves a thread with a new message to the top and keeps older cursors working', async () => {
    const before = live.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' });
    const page1 = (await getJson<GraphListBody>(liveUrl({ limit: 10 }))).body;
    const moved = before[40]!;
    const added = live.store.addMessage(moved.id, { text: 'Is anyone there?' });
    expect(added.createdTime).toBe('2026-11-29T09:30:00+0000');

    const top = (await getJson<GraphListBody>(liveUrl({ limit: 1, fields: 'id,updated_time,snippet' }))).body;
    expect(top.data).toEqual([{ id: moved.id, updated_time: '2026-11-29T09:30:00+0000', snippet: 'Is anyone there?' }]);
    // The old cursor still anchors on the 10th thread: the scroll continues where it was.
    const page2 = (await getJson<GraphListBody>(page1.paging!.next!)).body;
    expect(ids(page2)).toEqual(before.slice(10, 20).map((thread) => thread.id));

    const messages = (
      await getJson<GraphListBody>(
        `${live.url}/v25.0/${moved.id}/messages?${query({ access_token: TOKEN, limit: 1, fields: 'message,from' })}`,
      )
    ).body;
    expect(messages.data[0]).toMatchObject({ id: added.id, message: 'Is anyone there?', from: { id: moved.customerId } });
  });

  it('kills a cursor whose anchor thread was deleted', async () => {
    const list = live.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' });
    const page1 = (await getJson<GraphListBody>(liveUrl({ limit: 5 }))).body;
    expect(live.store.deleteConversation(list[4]!.id)).toBe(true);
    const { status, body } = await getJson<GraphErrorEnvelope>(page1.paging!.next!);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ message: '(#100) Invalid cursor', code: 100 });
    const gone = await getJson<GraphErrorEnvelope>(`${live.url}/v25.0/${list[4]!.id}?access_token=${TOKEN}`);
    expect(gone.body.error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('serves every thread with privacy filtering off', async () => {
    const { body } = await getJson<GraphListBody>(liveUrl({ limit: 100 }));
    expect(body.data).toHaveLength(100);
  });
});
