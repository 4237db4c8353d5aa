import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldsSyntaxError, parseFields, serializeFields } from '../../src/emulator/fields.js';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getJson, query, type GraphErrorEnvelope, type GraphListBody, type Json } from './graph-client.js';

const ACME = DEMO.pages.acme;
const TOKEN = DEMO.tokens.acmePage;

let emulator: Emulator;
const read = <T = Json>(path: string, params: Record<string, string | number | undefined> = {}) =>
  getJson<T>(`${emulator.url}/v25.0/${path}?${query({ access_token: TOKEN, ...params })}`);
/** A visible Messenger inbox thread with at least `messages` messages. */
const messengerThread = (messages: number) =>
  emulator.store
    .listConversations(ACME.id, { platform: 'messenger', folder: 'inbox' })
    .find((thread) => thread.visible && thread.messageCount >= messages)!;
const instagramThread = (messages: number) =>
  emulator.store
    .listConversations(ACME.id, { platform: 'instagram', folder: 'inbox' })
    .find((thread) => thread.visible && thread.messageCount >= messages)!;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('parseFields', () => {
  it('parses names, modifiers in any order and nested selections', () => {
    expect(parseFields('id,messages.after(QVFI).limit(3){message,from{name}}')).toEqual([
      { name: 'id', modifiers: [], children: undefined },
      {
        name: 'messages',
        modifiers: [
          ['after', 'QVFI'],
          ['limit', '3'],
        ],
        children: [
          { name: 'message', modifiers: [], children: undefined },
          { name: 'from', modifiers: [], children: [{ name: 'name', modifiers: [], children: undefined }] },
        ],
      },
    ]);
  });

  it('round-trips through serializeFields', () => {
    const text = 'id,conversations.folder(other).tags(inbox,spam).limit(5){participants,messages.limit(2){message}}';
    expect(serializeFields(parseFields(text))).toBe(text);
  });

  it.each([
    ['id,,name', 'Syntax error "Expected name." at character 3: id,,name'],
    ['messages{message', 'Syntax error "Expected "}" instead of end of string." at character 16: messages{message'],
    ['id}', 'Syntax error "Expected end of string instead of "}"." at character 2: id}'],
    [
      'messages.limit(abc)',
      'Syntax error "Expected an integer for modifier "limit" instead of "abc"." at character 15: messages.limit(abc)',
    ],
    ['messages.limit(3', 'Syntax error "Expected ")" instead of end of string." at character 16: messages.limit(3'],
    ['messages.(3)', 'Syntax error "Expected modifier name." at character 9: messages.(3)'],
    ['id,', 'Syntax error "Expected name." at character 3: id,'],
  ])('rejects %j', (text, message) => {
    expect(() => parseFields(text)).toThrow(new FieldsSyntaxError(message));
  });
});

describe('thread nodes', () => {
  it('returns id and updated_time by default', async () => {
    const thread = messengerThread(1);
    const { status, body } = await read(thread.id);
    expect(status).toBe(200);
    expect(body).toEqual({ id: thread.id, updated_time: thread.updatedTime });
  });

  it('adds id when it was not asked for, after the asked fields', async () => {
    const thread = messengerThread(1);
    const { body } = await read(thread.id, { fields: 'updated_time,folder' });
    expect(Object.keys(body)).toEqual(['updated_time', 'folder', 'id']);
  });

  it('expands messages.limit(3){message,from} with a paging link straight at the edge', async () => {
    const thread = messengerThread(8);
    const { body } = await read<{ id: string; messages: GraphListBody }>(thread.id, { fields: 'messages.limit(3){message,from}' });
    const messageIds = emulator.store.messageIds(thread.id)!;
    expect(Object.keys(body)).toEqual(['messages', 'id']);
    expect(body.messages.data.map((message) => message.id)).toEqual(messageIds.slice(0, 3));
    expect(Object.keys(body.messages.data[0]!)).toEqual(['message', 'from', 'id']);
    expect(body.messages.data[0]!.from).toMatchObject({ email: expect.stringMatching(/^\d+@facebook\.com$/) as unknown });
    const { after } = body.messages.paging!.cursors!;
    expect(body.messages.paging!.next).toBe(
      `${emulator.url}/v25.0/${thread.id}/messages?access_token=${TOKEN}&fields=message%2Cfrom&limit=3&after=${after}`,
    );
    expect(body.messages.paging!.previous).toBeUndefined();

    const next = (await getJson<GraphListBody>(body.messages.paging!.next!)).body;
    expect(next.data.map((message) => message.id)).toEqual(messageIds.slice(3, 6));
    expect(Object.keys(next.data[0]!)).toEqual(['message', 'from', 'id']);
  });

  it('defaults nested messages to 25 items of id and created_time, newest first', async () => {
    const thread = messengerThread(30);
    const { body } = await read<{ messages: GraphListBody }>(thread.id, { fields: 'messages' });
    expect(body.messages.data).toHaveLength(25);
    expect(Object.keys(body.messages.data[0]!)).toEqual(['id', 'created_time']);
    const times = body.messages.data.map((message) => message.created_time as string);
    expect([...times].sort().reverse()).toEqual(times);
    expect(body.messages.data[0]!.created_time).toBe(thread.updatedTime);
    expect(new URL(body.messages.paging!.next!).searchParams.get('limit')).toBe('25');
  });

  it('serves Messenger participants with name and email, the Page last', async () => {
    const thread = messengerThread(1);
    const { body } = await read<{ participants: GraphListBody }>(thread.id, { fields: 'participants' });
    expect(body.participants.data).toHaveLength(2);
    expect(body.participants.data[0]).toEqual({
      name: expect.any(String) as unknown,
      email: `${thread.customerId}@facebook.com`,
      id: thread.customerId,
    });
    expect(body.participants.data[1]).toEqual({ name: 'Acme Shop', email: '1000000001@facebook.com', id: '1000000001' });
    expect(body.participants.paging).toBeUndefined();
  });

  it('serves Messenger-only fields on Messenger threads', async () => {
    const thread = messengerThread(2);
    const { body } = await read(thread.id, {
      fields: 'link,snippet,message_count,unread_count,can_reply,is_subscribed,scoped_thread_key,folder,wallpaper,linked_group',
    });
    expect(body.link).toMatch(/^\/acmeshop\/inbox\/\d{15}\/\?section=messages$/);
    expect(typeof body.snippet).toBe('string');
    expect((body.snippet as string).length).toBeLessThanOrEqual(100);
    expect(body.message_count).toBe(thread.messageCount);
    expect(typeof body.unread_count).toBe('number');
    expect(typeof body.can_reply).toBe('boolean');
    expect(body.folder).toBe('inbox');
    expect(body.scoped_thread_key).toBe(thread.scopedThreadKey);
    expect(body.scoped_thread_key).toBe(`t_${thread.customerId}`);
    // Known fields without data are left out, never null.
    expect('wallpaper' in body).toBe(false);
    expect('linked_group' in body).toBe(false);
  });

  it('truncates snippets to 100 characters', async () => {
    const { body } = await read<GraphListBody>(`${ACME.id}/conversations`, { fields: 'snippet', limit: 100 });
    const snippets = body.data.map((thread) => thread.snippet as string);
    expect(Math.max(...snippets.map((snippet) => snippet.length))).toBe(100);
  });

  it('serves Instagram threads with {username,id} participants and without Messenger-only fields', async () => {
    const thread = instagramThread(1);
    const { body } = await read(thread.id, {
      fields: 'id,updated_time,participants,senders,link,snippet,message_count,unread_count,can_reply,is_subscribed,name,folder',
    });
    expect(Object.keys(body)).toEqual(['id', 'updated_time', 'participants', 'folder']);
    expect(body.participants).toEqual({
      data: [
        { username: expect.stringMatching(/^[a-z]+\.[a-z]+\d*$/) as unknown, id: thread.customerId },
        { username: 'acme.shop', id: '17841400000000001' },
      ],
    });
    expect(thread.customerId).toMatch(/^\d{17}$/);
  });

  it('returns is_owner only when asked', async () => {
    const thread = messengerThread(1);
    expect((await read(thread.id, { fields: 'is_owner' })).body).toEqual({ is_owner: true, id: thread.id });
  });

  it('pages participants when asked with modifiers', async () => {
    const thread = messengerThread(1);
    const { body } = await read<{ participants: GraphListBody }>(thread.id, { fields: 'participants.limit(1){name}' });
    expect(body.participants.data).toEqual([{ name: expect.any(String) as unknown, id: thread.customerId }]);
    const next = await getJson<GraphListBody>(body.participants.paging!.next!);
    expect(next.body.data).toEqual([{ name: 'Acme Shop', id: ACME.id }]);
  });
});

describe('field errors', () => {
  it('answers an unknown field with code 100 naming the node type', async () => {
    const thread = messengerThread(1);
    const { status, body } = await read<GraphErrorEnvelope>(thread.id, { fields: 'id,xyz' });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message: '(#100) Tried accessing nonexisting field (xyz) on node type (UnifiedThread)',
      type: 'OAuthException',
      code: 100,
    });
    const nested = await read<GraphErrorEnvelope>(thread.id, { fields: 'messages{bogus}' });
    expect(nested.body.error.message).toBe('(#100) Tried accessing nonexisting field (bogus) on node type (Message)');
    const page = await read<GraphErrorEnvelope>(ACME.id, { fields: 'fan_count' });
    expect(page.body.error.message).toBe('(#100) Tried accessing nonexisting field (fan_count) on node type (Page)');
  });

  it('answers an unknown field even on an empty list', async () => {
    const { status, body } = await read<GraphErrorEnvelope>(`${ACME.id}/conversations`, { fields: 'nope', tags: 'no_such_tag' });
    expect(status).toBe(400);
    expect(body.error.code).toBe(100);
  });

  it('answers malformed fields with code 2500', async () => {
    const thread = messengerThread(1);
    for (const fields of ['messages{message', 'messages.limit(abc)', 'id,,updated_time', 'participants)']) {
      const { status, body } = await read<GraphErrorEnvelope>(thread.id, { fields });
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ type: 'OAuthException', code: 2500 });
      expect(body.error.message).toMatch(/^Syntax error /);
    }
  });

  it('answers an unknown modifier or a bad limit value with code 100', async () => {
    const thread = messengerThread(1);
    const unknown = await read<GraphErrorEnvelope>(thread.id, { fields: 'messages.order(chronological)' });
    expect(unknown.body.error).toMatchObject({ code: 100, message: '(#100) Unknown modifier order on field messages' });
    const negative = await read<GraphErrorEnvelope>(thread.id, { fields: 'messages.limit(-1)' });
    expect(negative.body.error.code).toBe(100);
    const zero = await read(thread.id, { fields: 'messages.limit(0)' });
    expect(zero.body).toEqual({ messages: { data: [] }, id: thread.id });
    const scalar = await read<GraphErrorEnvelope>(thread.id, { fields: 'snippet.limit(2)' });
    expect(scalar.body.error.code).toBe(100);
  });

  it('does not know folder before v15.0', async () => {
    const thread = messengerThread(1);
    const { body } = await getJson<GraphErrorEnvelope>(
      `${emulator.url}/v14.0/${thread.id}?${query({ access_token: TOKEN, fields: 'folder' })}`,
    );
    expect(body.error.message).toBe('(#100) Tried accessing nonexisting field (folder) on node type (UnifiedThread)');
  });
});

describe('messages', () => {
  it('serves the messages edge with message fields and Messenger tags (folder, read, source)', async () => {
    const thread = emulator.store
      .listConversations(ACME.id, { platform: 'messenger', folder: 'inbox' })
      .find((entry) => entry.visible && entry.messageCount >= 3)!;
    emulator.store.addMessage(thread.id, { text: 'Unread, as the newest message from the customer' });
    const { body } = await read<GraphListBody>(`${thread.id}/messages`, { fields: 'id,created_time,message,from,to,tags', limit: 2 });
    expect(body.data).toHaveLength(2);
    const [newest] = body.data;
    expect(newest!.to).toEqual({ data: [expect.objectContaining({ id: expect.any(String) as unknown })] });
    expect(newest!.tags).toEqual({ data: [{ name: 'inbox' }, { name: 'source:chat' }] });
    expect(newest!.id).toMatch(/^m_[A-Za-z0-9_-]+$/);
    // The business replies: the Page has read everything before it.
    emulator.store.addMessage(thread.id, { fromId: ACME.id, text: 'Read you' });
    const after = await read<GraphListBody>(`${thread.id}/messages`, { fields: 'tags{name}', limit: 2 });
    expect(after.body.data.map((message) => message.tags)).toEqual([
      { data: [{ name: 'inbox' }, { name: 'read' }, { name: 'source:chat' }] },
      { data: [{ name: 'inbox' }, { name: 'read' }, { name: 'source:chat' }] },
    ]);
  });

  it('leaves out fields without data and shows attachments where there are some', async () => {
    const { body } = await read<GraphListBody<{ messages: GraphListBody }>>(`${ACME.id}/conversations`, {
      fields: 'messages.limit(40){message,attachments,sticker,is_unsupported,story,shares}',
      limit: 50,
    });
    const messages = body.data.flatMap((thread) => thread.messages.data);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((message) => !Object.values(message).includes(null))).toBe(true);
    const withAttachment = messages.find((message) => message.attachments !== undefined)!;
    const attachment = (withAttachment.attachments as GraphListBody).data[0]!;
    expect(attachment).toMatchObject({
      id: expect.stringMatching(/^\d+$/) as unknown,
      mime_type: expect.any(String) as unknown,
      size: expect.any(Number) as unknown,
    });
    expect(messages.some((message) => message.message === '' && message.attachments !== undefined)).toBe(true);
    expect(messages.some((message) => 'is_unsupported' in message && message.is_unsupported !== true)).toBe(false);

    const edge = await read<GraphListBody>(`${withAttachment.id as string}/attachments`);
    expect(edge.body.data).toEqual((withAttachment.attachments as GraphListBody).data);
    expect(edge.body.paging?.cursors?.before).toBe(edge.body.paging?.cursors?.after);
    expect((await read(`${withAttachment.id as string}/shares`)).body).toEqual({ data: [] });
  });

  it('reads a message node by id', async () => {
    const thread = messengerThread(2);
    const [, second] = emulator.store.messageIds(thread.id)!;
    const { status, body } = await read(second!, { fields: 'message,from' });
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(['message', 'from', 'id']);
  });

  it('answers Instagram message details beyond the 20 newest as a deleted message, but still serves their ids', async () => {
    const thread = instagramThread(25);
    const messageIds = emulator.store.messageIds(thread.id)!;
    expect((await read(messageIds[19]!, { fields: 'message,from' })).status).toBe(200);
    const old = await read<GraphErrorEnvelope>(messageIds[20]!, { fields: 'message,from' });
    expect(old.status).toBe(400);
    // Meta: "you will get an error that the message has been deleted"; the error is the one of a deleted object.
    expect(old.body.error).toMatchObject({
      type: 'GraphMethodException',
      code: 100,
      error_subcode: 33,
      message:
        `Unsupported get request. Object with ID '${messageIds[20]}' does not exist, cannot be loaded due to missing permissions, ` +
        'or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api',
    });
    expect((await read(messageIds[20]!)).status).toBe(200);
    const from = await read(messageIds[0]!, { fields: 'from,to' });
    expect(from.body.from).toEqual({ username: expect.any(String) as unknown, id: expect.stringMatching(/^\d{17}$/) as unknown });
  });

  it('does not serve Instagram objects on versions without the platform param', async () => {
    const thread = instagramThread(1);
    const { body } = await getJson<GraphErrorEnvelope>(`${emulator.url}/v5.0/${thread.id}?access_token=${TOKEN}`);
    expect(body.error).toMatchObject({ code: 100, error_subcode: 33 });
  });
});

describe('Page node', () => {
  it('expands conversations with filter modifiers and keeps them in the links', async () => {
    const { body } = await read<{ conversations: GraphListBody }>(ACME.id, { fields: 'name,conversations.folder(other).limit(2){id}' });
    const other = emulator.store.listConversations(ACME.id, { platform: 'messenger', folder: 'other' });
    expect(body.conversations.data.map((thread) => thread.id)).toEqual(
      other
        .slice(0, 2)
        .filter((thread) => thread.visible)
        .map((thread) => thread.id),
    );
    const next = new URL(body.conversations.paging!.next!);
    expect(next.pathname).toBe(`/v25.0/${ACME.id}/conversations`);
    expect([...next.searchParams.keys()]).toEqual(['access_token', 'fields', 'folder', 'limit', 'after']);
    expect((await getJson<GraphListBody>(next.toString())).status).toBe(200);
  });

  it('serves category and instagram_business_account', async () => {
    const { body } = await read(ACME.id, { fields: 'id,name,category,instagram_business_account' });
    expect(body).toEqual({
      id: ACME.id,
      name: 'Acme Shop',
      category: 'Shopping & retail',
      instagram_business_account: { id: ACME.instagramId },
    });
  });
});
