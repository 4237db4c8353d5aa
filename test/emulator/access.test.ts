/**
 * Who may read which inbox, as Meta states it (tasks, permissions per platform), every error code the
 * conversations edge lists in its documented situation, scoped thread keys, and fields that exist on
 * some Graph versions only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getJson, postForm, query, type GraphErrorEnvelope, type GraphListBody, type Json } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const TOKEN = DEMO.tokens.acmePage;

let emulator: Emulator;
const url = (path: string, params: Record<string, string | number | undefined> = {}, version = 'v25.0'): string =>
  `${emulator.url}/${version}/${path}?${query({ access_token: TOKEN, ...params })}`;
const visibleThread = (platform: 'messenger' | 'instagram') =>
  emulator.store.listConversations(ACME, { platform, folder: 'inbox' }).find((thread) => thread.visible && thread.messageCount >= 3)!;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('inbox permissions', () => {
  // Graph names no task, and one permission in the message only: no `error_data`.
  const taskError = {
    status: 403,
    error: {
      code: 200,
      message: '(#200) The user does not have sufficient administrative permission for this action on this page.',
    },
  };
  const permissionError = (permission: string) => ({
    status: 403,
    error: { code: 200, message: `(#200) Requires ${permission} permission to manage the object` },
  });
  const policyError = {
    status: 400,
    error: { code: 368, message: '(#368) The action attempted has been deemed abusive or is otherwise disallowed' },
  };

  it.each([
    ['an admin with every permission', DEMO.tokens.acmePage, 'ok', 'ok'],
    ['a moderator (MODERATE, no MESSAGING)', DEMO.tokens.acmeModerator, 'ok', taskError],
    ['a user with neither task', DEMO.tokens.acmePageNoMessaging, taskError, taskError],
    ['an app without pages_messaging', DEMO.tokens.acmePageNoPagesMessaging, permissionError('pages_messaging'), 'ok'],
    ['an app without the Instagram permissions', DEMO.tokens.acmePageNoInstagram, 'ok', permissionError('instagram_basic')],
    ['a user blocked for policy violations', DEMO.tokens.acmePagePolicyBlocked, policyError, policyError],
  ] as const)('%s: Messenger and Instagram conversations', async (_name, token, messenger, instagram) => {
    for (const [platform, expected] of [
      ['messenger', messenger],
      ['instagram', instagram],
    ] as const) {
      const { status, body } = await getJson<GraphListBody & GraphErrorEnvelope>(
        url(`${ACME}/conversations`, { access_token: token, platform, limit: 2 }),
      );
      if (expected === 'ok') {
        expect([platform, status, body.data.length]).toEqual([platform, 200, 2]);
      } else {
        expect({ platform, status, error: body.error }).toMatchObject({ platform, ...expected });
        expect(body.error).not.toHaveProperty('error_data');
      }
    }
  });

  it("applies the thread's platform to its node, its messages and each message", async () => {
    const instagram = visibleThread('instagram');
    const messenger = visibleThread('messenger');
    const [igMessage] = emulator.store.messageIds(instagram.id)!;
    for (const path of [instagram.id, `${instagram.id}/messages`, `${instagram.id}/participants`, igMessage!]) {
      const { status, body } = await getJson<GraphErrorEnvelope>(url(path, { access_token: DEMO.tokens.acmePageNoInstagram }));
      expect([path, status, body.error.code, body.error.message, body.error.error_data]).toEqual([
        path,
        403,
        200,
        '(#200) Requires instagram_basic permission to manage the object',
        undefined,
      ]);
    }
    const moderated = await getJson(url(`${messenger.id}/messages`, { access_token: DEMO.tokens.acmeModerator, limit: 1 }));
    expect(moderated.status).toBe(200);
  });
});

describe('a person who blocked the Page', () => {
  const psid = DEMO.customers.blockedAcme.psid;

  it('answers a user_id lookup with (#230), while the thread stays in the inbox and cannot be replied to', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(url(`${ACME}/conversations`, { user_id: psid }));
    expect(status).toBe(403);
    expect(body.error).toMatchObject({ message: '(#230) Permissions disallow message to user', type: 'OAuthException', code: 230 });
    const thread = emulator.store
      .listConversations(ACME, { platform: 'messenger', folder: 'inbox' })
      .find((entry) => entry.customerId === psid)!;
    const node = await getJson(url(thread.id, { fields: 'can_reply,participants{id}' }));
    expect(node.body).toEqual({ can_reply: false, participants: { data: [{ id: psid }, { id: ACME }] }, id: thread.id });
  });
});

describe('every error code the conversations edge lists, in its situation', () => {
  let strict613: Emulator;
  let strict80006: Emulator;
  beforeAll(async () => {
    [strict613, strict80006] = await Promise.all([
      startEmulator({ conversationRateLimit: { callsPerSecond: 1, code: 613, blockMs: 60_000 } }),
      startEmulator({ dailyCalls: 1 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([strict613.close(), strict80006.close()]);
  });

  /** The second call in a second on one Page (and with `dailyCalls: 1`, the second of the day). */
  const overTheRate = async (server: Emulator): Promise<string> => {
    await getJson(`${server.url}/v25.0/${ACME}/conversations?${query({ access_token: TOKEN })}`);
    return `${server.url}/v25.0/${ACME}/conversations?${query({ access_token: TOKEN })}`;
  };

  it.each([
    [100, 'an invalid parameter', async () => url(`${ACME}/conversations`, { folder: 'archive' }), 400],
    [190, 'an invalid token', async () => url(`${ACME}/conversations`, { access_token: 'EAAGnotAToken' }), 400],
    [200, 'a token without the task', async () => url(`${ACME}/conversations`, { access_token: DEMO.tokens.acmePageNoMessaging }), 403],
    [230, 'a person the Page may not message', async () => url(`${ACME}/conversations`, { user_id: DEMO.customers.blockedAcme.psid }), 403],
    [368, 'a user blocked for policy', async () => url(`${ACME}/conversations`, { access_token: DEMO.tokens.acmePagePolicyBlocked }), 400],
    [104, 'no access token', async () => `${emulator.url}/v25.0/${ACME}/conversations`, 400],
    [613, 'calls over the rate limit (613)', async () => overTheRate(strict613), 400],
    [80006, "calls over the Page's Messenger allowance for the day (80006)", async () => overTheRate(strict80006), 400],
    [2500, 'a fields value that does not parse', async () => url(`${ACME}/conversations`, { fields: 'messages{message' }), 400],
  ] as const)('%i: %s', async (code, _situation, target, status) => {
    const answer = await getJson<GraphErrorEnvelope>(await target());
    expect([answer.status, answer.body.error.code]).toEqual([status, code]);
  });

  it('104 also for a batch-derived paging link that was altered, while the link as given works', async () => {
    const { body } = await postForm<{ body: string }[]>(`${emulator.url}/v25.0/`, {
      access_token: TOKEN,
      batch: JSON.stringify([{ method: 'GET', relative_url: `${ACME}/conversations?limit=2` }]),
    });
    const next = (JSON.parse(body[0]!.body) as GraphListBody).paging!.next!;
    const params = new URL(next).searchParams;
    // As a real batch item's link (arsduo/koala#388): the child-request mark, the expiry, the signature, the item's path.
    expect(params.get('_fb_batch_child_request')).toBe('1');
    expect(params.get('_fb_url')).toBe(`${ACME}/conversations`);
    expect(Number(params.get('_fb_batch_expires'))).toBeGreaterThan(Date.now() / 1000);
    expect(params.get('_fb_batch_sig')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await getJson(next)).status).toBe(200);
    const altered = await getJson<GraphErrorEnvelope>(next.replace('limit=2', 'limit=3'));
    expect(altered.status).toBe(400);
    expect(altered.body.error).toMatchObject({ message: '(#104) Incorrect signature', type: 'OAuthException', code: 104 });
    // Links of plain reads carry no signature.
    const plain = await getJson<GraphListBody>(url(`${ACME}/conversations`, { limit: 2 }));
    expect(plain.body.paging!.next).not.toContain('_fb_');
  });
});

describe('scoped thread keys', () => {
  it('name the thread on the node and on every edge, as its id does', async () => {
    const thread = visibleThread('messenger');
    const key = thread.scopedThreadKey!;
    expect(key).toBe(`t_${thread.customerId}`);
    const byKey = await getJson(url(key, { fields: 'id,scoped_thread_key,updated_time' }));
    expect(byKey.body).toEqual({ id: thread.id, scoped_thread_key: key, updated_time: thread.updatedTime });
    const [messagesById, messagesByKey] = await Promise.all([
      getJson<GraphListBody>(url(`${thread.id}/messages`, { fields: 'message', limit: 2 })),
      getJson<GraphListBody>(url(`${key}/messages`, { fields: 'message', limit: 2 })),
    ]);
    expect(messagesByKey.body.data).toEqual(messagesById.body.data);
    // A cursor minted under one name pages the list under the other.
    const after = messagesById.body.paging!.cursors!.after;
    const next = await getJson<GraphListBody>(url(`${key}/messages`, { fields: 'message', limit: 2, after }));
    expect(next.body.data.map((message) => message.id)).toEqual(emulator.store.messageIds(thread.id)!.slice(2, 4));
    expect((await getJson<GraphListBody>(url(`${key}/participants`))).body.data).toHaveLength(2);
  });

  it('work in a batch item too', async () => {
    const thread = visibleThread('messenger');
    const { body } = await postForm<{ code: number; body: string }[]>(`${emulator.url}/v25.0/`, {
      access_token: TOKEN,
      batch: JSON.stringify([{ method: 'GET', relative_url: `${thread.scopedThreadKey}?fields=id` }]),
    });
    expect(body[0]!.code).toBe(200);
    expect(JSON.parse(body[0]!.body)).toEqual({ id: thread.id });
  });
});

describe('fields of some Graph versions only', () => {
  const thread = () => visibleThread('messenger');
  const fieldOn = (version: string, fields: string) => getJson<Json & GraphErrorEnvelope>(url(thread().id, { fields }, version));

  it.each([
    ['is_owner', 'v23.0', 'v24.0', { is_owner: true }],
    ['linked_group', 'v16.0', 'v17.0', {}],
    ['folder', 'v14.0', 'v15.0', { folder: 'inbox' }],
  ] as const)('%s: unknown on %s, served from %s on', async (field, before, from, served) => {
    const refused = await fieldOn(before, field);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(`(#100) Tried accessing nonexisting field (${field}) on node type (UnifiedThread)`);
    expect((await fieldOn(from, field)).body).toEqual({ ...served, id: thread().id });
    expect((await fieldOn('v25.0', field)).status).toBe(200);
  });

  it('subject: served up to v22.0, unknown from v23.0 on, in field expansion too', async () => {
    expect((await fieldOn('v22.0', 'subject')).body).toEqual({ id: thread().id });
    const refused = await fieldOn('v23.0', 'subject');
    expect(refused.body.error.message).toBe('(#100) Tried accessing nonexisting field (subject) on node type (UnifiedThread)');
    const nested = await getJson<GraphErrorEnvelope>(url(ACME, { fields: 'conversations{is_owner}' }, 'v23.0'));
    expect(nested.body.error.code).toBe(100);
  });
});
