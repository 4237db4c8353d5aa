import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateJsonPath } from '../../src/emulator/batch.js';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getJson, postForm, query, type GraphErrorEnvelope, type GraphListBody, type Json } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const TOKEN = DEMO.tokens.acmePage;

interface BatchSlot {
  code: number;
  headers?: { name: string; value: string }[];
  body: string;
}

let emulator: Emulator;
const batch = (items: readonly Json[], extra: Record<string, string> = {}) =>
  postForm<(BatchSlot | null)[]>(`${emulator.url}/v25.0/`, { access_token: TOKEN, batch: JSON.stringify(items), ...extra });
const bodyOf = <T = Json>(slot: BatchSlot | null | undefined): T => JSON.parse(slot!.body) as T;
const visibleInbox = () =>
  emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' }).filter((thread) => thread.visible);

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.log.clear();
});

describe('batch requests', () => {
  it('answers one slot per item with a string body and an array of headers', async () => {
    const [thread] = visibleInbox();
    const { status, body } = await batch([
      { method: 'GET', relative_url: `${thread!.id}/messages?fields=message&limit=1` },
      { method: 'GET', relative_url: `/v19.0/${ACME}?fields=name` },
    ]);
    expect(status).toBe(200);
    expect(body).toHaveLength(2);
    const [first, second] = body;
    expect(first!.code).toBe(200);
    expect(typeof first!.body).toBe('string');
    expect(first!.headers).toEqual([
      { name: 'Content-Type', value: 'application/json; charset=UTF-8' },
      { name: 'Facebook-API-Version', value: 'v25.0' },
      { name: 'Cache-Control', value: 'private, no-cache, no-store, must-revalidate' },
    ]);
    const messages = bodyOf<GraphListBody>(first);
    expect(messages.data).toEqual([{ message: expect.any(String) as unknown, id: emulator.store.messageIds(thread!.id)![0] }]);
    expect(
      messages.paging!.next!.startsWith(`${emulator.url}/v25.0/${thread!.id}/messages?access_token=${TOKEN}&fields=message&limit=1&after=`),
    ).toBe(true);
    expect(bodyOf(second)).toEqual({ name: 'Acme Shop', id: ACME });
    expect(second!.headers).toContainEqual({ name: 'Facebook-API-Version', value: 'v19.0' });
  });

  it('carries per-item errors in their slots while the outer status stays 200', async () => {
    const { status, body } = await batch([
      { method: 'GET', relative_url: `${ACME}/conversations?limit=1` },
      { method: 'GET', relative_url: 'nope' },
      { method: 'GET', relative_url: `${ACME}?access_token=${DEMO.tokens.expired}` },
      { method: 'POST', relative_url: `${ACME}/conversations` },
    ]);
    expect(status).toBe(200);
    expect(body.map((slot) => slot!.code)).toEqual([200, 400, 400, 400]);
    expect(bodyOf<GraphErrorEnvelope>(body[1]).error).toMatchObject({ type: 'GraphMethodException', code: 100, error_subcode: 33 });
    expect(bodyOf<GraphErrorEnvelope>(body[2]).error).toMatchObject({ code: 190, error_subcode: 463 });
    expect(body[2]!.headers).toContainEqual(expect.objectContaining({ name: 'WWW-Authenticate' }));
    expect(bodyOf<GraphErrorEnvelope>(body[3]).error.message).toMatch(/^Unsupported post request\. /);
  });

  it('leaves headers out with include_headers=false', async () => {
    const { body } = await batch([{ method: 'GET', relative_url: 'me' }], { include_headers: 'false' });
    expect(body).toEqual([{ code: 200, body: JSON.stringify({ id: ACME, name: 'Acme Shop' }) }]);
  });

  it('accepts a JSON body with batch as an array', async () => {
    const response = await fetch(`${emulator.url}/v25.0/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: TOKEN, include_headers: false, batch: [{ method: 'GET', relative_url: 'me?fields=id' }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([{ code: 200, body: JSON.stringify({ id: ACME }) }]);
  });

  it('accepts a batch on the unversioned root', async () => {
    const { status, headers, body } = await postForm<BatchSlot[]>(`${emulator.url}/`, {
      access_token: TOKEN,
      batch: JSON.stringify([{ method: 'GET', relative_url: 'me' }]),
    });
    expect(status).toBe(200);
    expect(headers.get('facebook-api-version')).toBe('v25.0');
    expect(body[0]!.code).toBe(200);
  });

  it('requires a top-level token even when every item has its own', async () => {
    const { status, body } = await postForm<GraphErrorEnvelope>(`${emulator.url}/v25.0/`, {
      batch: JSON.stringify([{ method: 'GET', relative_url: `me?access_token=${TOKEN}` }]),
    });
    expect(status).toBe(400);
    expect(body.error.code).toBe(104);
  });

  it('refuses more than 50 items', async () => {
    const items = Array.from({ length: 51 }, () => ({ method: 'GET', relative_url: 'me' }));
    const { status, body } = await batch(items);
    expect(status).toBe(400);
    expect(body).toMatchObject({
      error: { message: '(#100) Too many requests in batch message. Maximum batch size is 50', type: 'OAuthException', code: 100 },
    });
    expect((await batch(items.slice(0, 50))).status).toBe(200);
  });

  it('refuses a batch that is not a JSON array', async () => {
    const { status, body } = await postForm<GraphErrorEnvelope>(`${emulator.url}/v25.0/`, {
      access_token: TOKEN,
      batch: '{"method":"GET"',
    });
    expect(status).toBe(400);
    expect(body.error.code).toBe(100);
  });
});

describe('batch dependencies', () => {
  it('feeds {result=NAME:$.paging.cursors.after} into a dependent item and omits the parent', async () => {
    const list = emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' });
    const { status, body } = await batch([
      { method: 'GET', name: 'first', relative_url: `${ACME}/conversations?limit=5` },
      { method: 'GET', relative_url: `${ACME}/conversations?limit=5&after={result=first:$.paging.cursors.after}` },
    ]);
    expect(status).toBe(200);
    expect(body[0]).toBeNull();
    const second = bodyOf<GraphListBody>(body[1]);
    expect(second.data.map((thread) => thread.id)).toEqual(
      list
        .slice(5, 10)
        .filter((thread) => thread.visible)
        .map((thread) => thread.id),
    );
    const logged = emulator.log.entries.at(-1)!;
    expect(logged.items![0]).toEqual({
      method: 'GET',
      relativeUrl: `${ACME}/conversations?limit=5`,
      status: 200,
      at: expect.any(Number),
      pageId: ACME,
    });
    expect(logged.items![1]!.relativeUrl).toMatch(new RegExp(`^${ACME}/conversations\\?limit=5&after=QVFI[A-Za-z0-9_-]+$`));
  });

  it('keeps the parent with omit_response_on_success:false and joins wildcard values with commas', async () => {
    const legacy = await startEmulator({ rootIdsReads: true });
    try {
      const { body } = await postForm<(BatchSlot | null)[]>(`${legacy.url}/v24.0/`, {
        access_token: TOKEN,
        batch: JSON.stringify([
          { method: 'GET', name: 'list', relative_url: `${ACME}/conversations?limit=3`, omit_response_on_success: false },
          { method: 'GET', relative_url: '?ids={result=list:$.data.*.id}&fields=id' },
        ]),
      });
      const list = bodyOf<GraphListBody>(body[0]);
      const ids = list.data.map((thread) => thread.id as string);
      expect(ids.length).toBeGreaterThan(0);
      expect(Object.keys(bodyOf(body[1]))).toEqual(ids);
      // The ids item bills one call per id.
      expect(legacy.log.callCount).toBe(1 + ids.length);
    } finally {
      await legacy.close();
    }
  });

  it('gives a dependent of a failed parent a null slot', async () => {
    const { body } = await batch([
      { method: 'GET', name: 'broken', relative_url: 'nope' },
      { method: 'GET', relative_url: 'me?fields={result=broken:$.id}' },
      { method: 'GET', relative_url: 'me', depends_on: 'broken' },
    ]);
    expect(body[0]!.code).toBe(400);
    expect(body[1]).toBeNull();
    expect(body[2]).toBeNull();
    expect(emulator.log.entries.at(-1)!.items!.map((item) => item.status)).toEqual([400, null, null]);
  });

  it('answers a JSONPath that finds nothing with an error slot', async () => {
    const { body } = await batch([
      { method: 'GET', name: 'quiet', relative_url: 'me' },
      { method: 'GET', relative_url: `${ACME}/conversations?after={result=quiet:$.paging.cursors.after}` },
    ]);
    expect(body[0]).toBeNull();
    expect(body[1]!.code).toBe(400);
    expect(bodyOf<GraphErrorEnvelope>(body[1]).error).toMatchObject({
      code: 100,
      message: '(#100) Batch request 1 depends on {result=quiet:$.paging.cursors.after}, which resolved to no value',
    });
  });

  it('fails the whole batch on a reference to an unknown or later name', async () => {
    const { status, body } = await batch([
      { method: 'GET', relative_url: 'me?fields={result=f:$.id}' },
      { method: 'GET', name: 'f', relative_url: 'me' },
    ]);
    expect(status).toBe(400);
    expect(body).toEqual({
      error: {
        message: 'Request 0 cannot depend on an unresolved request with name f. Requests can only depend on preceding requests',
        type: 'GraphBatchException',
        fbtrace_id: expect.any(String) as unknown,
      },
    });
    const unknown = await batch([
      { method: 'GET', name: 'a', relative_url: 'me' },
      { method: 'GET', relative_url: 'me', depends_on: 'b' },
    ]);
    expect((unknown.body as unknown as GraphErrorEnvelope).error.message).toBe(
      'Request 1 cannot depend on an unresolved request with name b. Requests can only depend on preceding requests',
    );
  });

  it('evaluates the JSONPath subset batches use', () => {
    const body = { data: [{ id: 'a' }, { id: 'b' }], paging: { cursors: { after: 'X' } }, n: 3 };
    expect(evaluateJsonPath(body, '$.data.*.id')).toEqual(['a', 'b']);
    expect(evaluateJsonPath(body, '$.data[*].id')).toEqual(['a', 'b']);
    expect(evaluateJsonPath(body, '$.data[1].id')).toEqual(['b']);
    expect(evaluateJsonPath(body, '$.paging.cursors.after')).toEqual(['X']);
    expect(evaluateJsonPath(body, '$.n')).toEqual(['3']);
    expect(evaluateJsonPath(body, '$.missing.x')).toEqual([]);
    expect(evaluateJsonPath(body, 'data')).toBeUndefined();
  });
});

describe('batch tokens and proofs', () => {
  let strict: Emulator;
  const proofOf = (token: string): string => createHmac('sha256', DEMO.appSecret).update(token).digest('hex');
  beforeAll(async () => {
    strict = await startEmulator({ appSecret: DEMO.appSecret, requireAppSecretProof: true });
  });
  afterAll(async () => {
    await strict.close();
  });

  it('checks each item with the token it uses', async () => {
    const { status, body } = await postForm<(BatchSlot | null)[]>(`${strict.url}/v25.0/`, {
      access_token: TOKEN,
      appsecret_proof: proofOf(TOKEN),
      batch: JSON.stringify([
        { method: 'GET', relative_url: 'me' },
        { method: 'GET', relative_url: `me?${query({ access_token: DEMO.tokens.alice, appsecret_proof: proofOf(DEMO.tokens.alice) })}` },
        { method: 'GET', relative_url: `me?${query({ access_token: DEMO.tokens.bob })}` },
        { method: 'GET', relative_url: `me?${query({ access_token: DEMO.tokens.bob, appsecret_proof: proofOf(TOKEN) })}` },
      ]),
    });
    expect(status).toBe(200);
    expect(bodyOf(body[0])).toEqual({ id: ACME, name: 'Acme Shop' });
    expect(bodyOf(body[1])).toEqual(DEMO.users.alice);
    expect(bodyOf<GraphErrorEnvelope>(body[2]).error.message).toBe('API calls from the server require an appsecret_proof argument');
    expect(bodyOf<GraphErrorEnvelope>(body[3]).error.message).toBe('Invalid appsecret_proof provided in the API argument');
  });

  it('rejects the whole batch when the top-level proof is missing', async () => {
    const { status, body } = await postForm<GraphErrorEnvelope>(`${strict.url}/v25.0/`, {
      access_token: TOKEN,
      batch: JSON.stringify([{ method: 'GET', relative_url: 'me' }]),
    });
    expect(status).toBe(400);
    expect(body.error.message).toBe('API calls from the server require an appsecret_proof argument');
  });
});

describe('request log', () => {
  it('counts HTTP requests and billed calls apart', async () => {
    await getJson(`${emulator.url}/v25.0/${ACME}/conversations?${query({ access_token: TOKEN, limit: 2 })}`);
    await batch([
      { method: 'GET', relative_url: 'me' },
      { method: 'GET', relative_url: 'nope' },
      { method: 'GET', relative_url: `${ACME}?fields=name` },
    ]);
    expect(emulator.log.requestCount).toBe(2);
    expect(emulator.log.callCount).toBe(4);
    const [plain, batched] = emulator.log.entries;
    expect(plain).toEqual({
      method: 'GET',
      path: `/v25.0/${ACME}/conversations`,
      params: { access_token: TOKEN, limit: '2' },
      status: 200,
      at: expect.any(Number),
      pageId: ACME,
    });
    expect(batched).toEqual({
      method: 'POST',
      path: '/v25.0/',
      params: { access_token: TOKEN },
      status: 200,
      at: expect.any(Number),
      items: [
        { method: 'GET', relativeUrl: 'me', status: 200, at: expect.any(Number), pageId: undefined },
        { method: 'GET', relativeUrl: 'nope', status: 400, at: expect.any(Number), pageId: undefined },
        { method: 'GET', relativeUrl: `${ACME}?fields=name`, status: 200, at: expect.any(Number), pageId: undefined },
      ],
    });
    emulator.log.clear();
    expect(emulator.log.entries).toEqual([]);
    expect(emulator.log.requestCount).toBe(0);
    expect(emulator.log.callCount).toBe(0);
  });
});
