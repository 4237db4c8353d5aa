import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { getJson, query, type GraphErrorEnvelope, type GraphListBody, type Json } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const proofOf = (token: string): string => createHmac('sha256', DEMO.appSecret).update(token).digest('hex');

let emulator: Emulator;
const url = (path: string, params: Record<string, string | number | undefined> = {}): string => `${emulator.url}${path}?${query(params)}`;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('response headers', () => {
  it('sends Graph headers, with the version that served the call', async () => {
    const versioned = await getJson(url(`/v19.0/${ACME}`, { access_token: DEMO.tokens.acmePage }));
    expect(versioned.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(versioned.headers.get('facebook-api-version')).toBe('v19.0');
    expect(versioned.headers.get('cache-control')).toBe('private, no-cache, no-store, must-revalidate');
    expect(versioned.headers.get('x-fb-trace-id')).toMatch(/^A[A-Za-z0-9_-]{20,}$/);
    const unversioned = await getJson(url(`/${ACME}`, { access_token: DEMO.tokens.acmePage }));
    expect(unversioned.headers.get('facebook-api-version')).toBe('v25.0');
    expect(unversioned.body).toEqual({ id: ACME, name: 'Acme Shop' });
  });

  it('puts the trace id of an error in both the header and the body', async () => {
    const { headers, body } = await getJson<GraphErrorEnvelope>(url('/v25.0/me'));
    expect(body.error.fbtrace_id).toBe(headers.get('x-fb-trace-id'));
  });
});

describe('access tokens', () => {
  it('answers a missing token with 104 and WWW-Authenticate invalid_request', async () => {
    const { status, headers, body } = await getJson<GraphErrorEnvelope>(url(`/v25.0/${ACME}/conversations`));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message: 'An access token is required to request this resource.',
      type: 'OAuthException',
      code: 104,
    });
    expect(headers.get('www-authenticate')).toBe(
      'OAuth "Facebook Platform" "invalid_request" "An access token is required to request this resource."',
    );
  });

  it('answers an unknown token with 190 and WWW-Authenticate invalid_token', async () => {
    const { status, headers, body } = await getJson<GraphErrorEnvelope>(url(`/v25.0/${ACME}`, { access_token: 'EAAGnotAToken' }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message: 'Invalid OAuth access token - Cannot parse access token',
      type: 'OAuthException',
      code: 190,
    });
    expect(body.error.error_subcode).toBeUndefined();
    expect(headers.get('www-authenticate')).toMatch(/^OAuth "Facebook Platform" "invalid_token" /);
  });

  it('answers an expired token with 190 / 463', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(url('/v25.0/me', { access_token: DEMO.tokens.expired }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message:
        'Error validating access token: Session has expired on Saturday, 31-Oct-26 10:00:00 PDT. The current time is Sunday, 01-Nov-26 ' +
        '04:00:00 PST.',
      type: 'OAuthException',
      code: 190,
      error_subcode: 463,
    });
  });

  it('reads the token from an Authorization header', async () => {
    const bearer = await getJson(url('/v25.0/me'), { headers: { authorization: `Bearer ${DEMO.tokens.acmePage}` } });
    expect(bearer.body).toEqual({ id: ACME, name: 'Acme Shop' });
    const oauth = await getJson(url('/v25.0/me'), { headers: { authorization: `OAuth ${DEMO.tokens.alice}` } });
    expect(oauth.body).toEqual(DEMO.users.alice);
  });

  it('puts the token into paging links even when it came in a header', async () => {
    const { body } = await getJson<GraphListBody>(url(`/v25.0/${ACME}/conversations`), {
      headers: { authorization: `Bearer ${DEMO.tokens.acmePage}` },
    });
    expect(new URL(body.paging!.next!).searchParams.get('access_token')).toBe(DEMO.tokens.acmePage);
  });

  it('answers a Page token without the MESSAGING or MODERATE task with (#200) on the inbox, but still serves the Page name', async () => {
    const conversations = await getJson<GraphErrorEnvelope>(
      url(`/v25.0/${ACME}/conversations`, { access_token: DEMO.tokens.acmePageNoMessaging }),
    );
    expect(conversations.status).toBe(403);
    expect(conversations.body.error).toMatchObject({
      message: '(#200) The user does not have sufficient administrative permission for this action on this page.',
      type: 'OAuthException',
      code: 200,
    });
    expect(conversations.body.error).not.toHaveProperty('error_data'); // Graph names no task
    const page = await getJson(url(`/v25.0/${ACME}`, { access_token: DEMO.tokens.acmePageNoMessaging, fields: 'name' }));
    expect(page.body).toEqual({ name: 'Acme Shop', id: ACME });
  });

  it("answers another Page's token with (#200) on conversations, threads and messages", async () => {
    const thread = emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' }).find((entry) => entry.visible)!;
    const message = emulator.store.messageIds(thread.id)![0]!;
    for (const path of [`/v25.0/${ACME}/conversations`, `/v25.0/${thread.id}`, `/v25.0/${thread.id}/messages`, `/v25.0/${message}`]) {
      const { status, body } = await getJson<GraphErrorEnvelope>(url(path, { access_token: DEMO.tokens.bistroPage }));
      expect(status).toBe(403);
      expect(body.error.code).toBe(200);
    }
  });

  it('answers a user token on the inbox with (#190) Page Access Token required', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(url(`/v25.0/${ACME}/conversations`, { access_token: DEMO.tokens.alice }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message: '(#190) This method must be called with a Page Access Token',
      type: 'OAuthException',
      code: 190,
    });
  });
});

describe('/me and Pages', () => {
  it('lists the Pages a user manages with their Page tokens and tasks', async () => {
    const { body } = await getJson<GraphListBody>(url('/v25.0/me/accounts', { access_token: DEMO.tokens.alice }));
    expect(body.data).toEqual([
      {
        id: ACME,
        name: 'Acme Shop',
        access_token: DEMO.tokens.acmePage,
        category: 'Shopping & retail',
        tasks: ['MODERATE', 'MESSAGING', 'ANALYZE', 'ADVERTISE', 'CREATE_CONTENT', 'MANAGE'],
      },
      {
        id: DEMO.pages.bistro.id,
        name: 'Bistro Demo',
        access_token: DEMO.tokens.bistroPage,
        category: 'Restaurant',
        tasks: ['MODERATE', 'MESSAGING', 'ANALYZE', 'ADVERTISE', 'CREATE_CONTENT', 'MANAGE'],
      },
      {
        id: DEMO.pages.outlet.id,
        name: 'Acme Outlet',
        access_token: DEMO.tokens.outletPage,
        category: 'Shopping & retail',
        tasks: ['MODERATE', 'MESSAGING', 'ANALYZE', 'ADVERTISE', 'CREATE_CONTENT', 'MANAGE'],
      },
    ]);
    expect(body.paging?.cursors).toBeDefined();
    expect(body.paging?.next).toBeUndefined();
    const bob = await getJson<GraphListBody>(url('/v25.0/me/accounts', { access_token: DEMO.tokens.bob, fields: 'id,name' }));
    expect(bob.body.data).toEqual([{ id: DEMO.pages.bistro.id, name: 'Bistro Demo' }]);
  });

  it('pages /me/accounts', async () => {
    const first = await getJson<GraphListBody>(url('/v25.0/me/accounts', { access_token: DEMO.tokens.alice, limit: 1, fields: 'id' }));
    expect(first.body.data).toEqual([{ id: ACME }]);
    const second = await getJson<GraphListBody>(first.body.paging!.next!);
    expect(second.body.data).toEqual([{ id: DEMO.pages.bistro.id }]);
    const third = await getJson<GraphListBody>(second.body.paging!.next!);
    expect(third.body.data).toEqual([{ id: DEMO.pages.outlet.id }]);
    expect(third.body.paging?.next).toBeUndefined();
  });

  it('refuses /me/accounts to a Page token with code 100 / subcode 33', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(url('/v25.0/me/accounts', { access_token: DEMO.tokens.acmePage }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: 'GraphMethodException', code: 100, error_subcode: 33 });
  });

  it('gives the Page token only to a user who manages the Page', async () => {
    const alice = await getJson(url(`/v25.0/${ACME}`, { access_token: DEMO.tokens.alice, fields: 'id,name,access_token' }));
    expect(alice.body).toEqual({ id: ACME, name: 'Acme Shop', access_token: DEMO.tokens.acmePage });
    const bob = await getJson(url(`/v25.0/${ACME}`, { access_token: DEMO.tokens.bob, fields: 'id,name,access_token' }));
    expect(bob.body).toEqual({ id: ACME, name: 'Acme Shop' });
  });

  it('serves the quiet Page with an empty inbox', async () => {
    const { status, body } = await getJson(url(`/v25.0/${DEMO.pages.quiet.id}/conversations`, { access_token: DEMO.tokens.quietPage }));
    expect(status).toBe(200);
    expect(body).toEqual({ data: [] });
  });
});

describe('routing errors', () => {
  it('answers an unknown id with GraphMethodException 100 / 33 and the exact message', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(url('/v25.0/t_999999999999999', { access_token: DEMO.tokens.acmePage }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message:
        "Unsupported get request. Object with ID 't_999999999999999' does not exist, cannot be loaded due to missing permissions, or " +
        'does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api',
      type: 'GraphMethodException',
      code: 100,
      error_subcode: 33,
    });
  });

  it('answers a hidden thread like an unknown one', async () => {
    const hidden = emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' }).find((thread) => !thread.visible)!;
    const { body } = await getJson<GraphErrorEnvelope>(url(`/v25.0/${hidden.id}`, { access_token: DEMO.tokens.acmePage }));
    expect(body.error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('answers unknown path components with 2500', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(url(`/v25.0/${ACME}/foo`, { access_token: DEMO.tokens.acmePage }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ message: 'Unknown path components: /foo', type: 'OAuthException', code: 2500 });
    const deeper = await getJson<GraphErrorEnvelope>(url(`/v25.0/${ACME}/conversations/extra`, { access_token: DEMO.tokens.acmePage }));
    expect(deeper.body.error.message).toBe('Unknown path components: /extra');
  });

  it('answers a POST that is not a batch with Unsupported post request', async () => {
    const response = await fetch(url(`/v25.0/${ACME}/conversations`, { access_token: DEMO.tokens.acmePage }), { method: 'POST' });
    const body = (await response.json()) as GraphErrorEnvelope;
    expect(response.status).toBe(400);
    expect(body.error.message).toMatch(/^Unsupported post request\. /);
    expect(body.error.code).toBe(100);
  });
});

describe('GET /?ids=', () => {
  it('is an error by default (removed on 2026-10-27)', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(url('/v25.0/', { ids: ACME, access_token: DEMO.tokens.acmePage }));
    expect(status).toBe(400);
    expect(body.error.code).toBe(100);
  });

  describe('with rootIdsReads', () => {
    let legacy: Emulator;
    const threads = () =>
      emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' }).filter((thread) => thread.visible);
    beforeAll(async () => {
      legacy = await startEmulator({ rootIdsReads: true });
    });
    afterAll(async () => {
      await legacy.close();
    });

    it('answers an object keyed by id and bills one call per id', async () => {
      const [a, b] = threads();
      legacy.log.clear();
      const { status, body } = await getJson<Record<string, Json>>(
        `${legacy.url}/v24.0/?${query({ ids: `${a!.id},${b!.id}`, fields: 'id,updated_time', access_token: DEMO.tokens.acmePage })}`,
      );
      expect(status).toBe(200);
      expect(body).toEqual({ [a!.id]: { id: a!.id, updated_time: a!.updatedTime }, [b!.id]: { id: b!.id, updated_time: b!.updatedTime } });
      expect(legacy.log.requestCount).toBe(1);
      expect(legacy.log.callCount).toBe(2);
    });

    it('fails the whole read with (#803) when an id does not resolve', async () => {
      const [a] = threads();
      const { status, body } = await getJson<GraphErrorEnvelope>(
        `${legacy.url}/v24.0/?${query({ ids: `${a!.id},nope`, access_token: DEMO.tokens.acmePage })}`,
      );
      expect(status).toBe(404);
      expect(body.error).toMatchObject({ message: '(#803) Some of the aliases you requested do not exist: nope', code: 803 });
    });

    it('refuses more than 50 ids, and every version from v26.0', async () => {
      const many = threads()
        .slice(0, 51)
        .map((thread) => thread.id)
        .join(',');
      const tooMany = await getJson<GraphErrorEnvelope>(`${legacy.url}/v24.0/?${query({ ids: many, access_token: DEMO.tokens.acmePage })}`);
      expect(tooMany.body.error.code).toBe(100);
      const v26 = await getJson<GraphErrorEnvelope>(`${legacy.url}/v26.0/?${query({ ids: ACME, access_token: DEMO.tokens.acmePage })}`);
      expect(v26.status).toBe(400);
      expect(v26.body.error.code).toBe(100);
    });
  });
});

describe('appsecret_proof', () => {
  let strict: Emulator;
  let lenient: Emulator;
  beforeAll(async () => {
    strict = await startEmulator({ appSecret: DEMO.appSecret, requireAppSecretProof: true });
    lenient = await startEmulator({ appSecret: DEMO.appSecret });
  });
  afterAll(async () => {
    await Promise.all([strict.close(), lenient.close()]);
  });

  const conversations = (base: string, params: Record<string, string>): string =>
    `${base}/v25.0/${ACME}/conversations?${query({ access_token: DEMO.tokens.acmePage, ...params })}`;

  it('accepts the right proof', async () => {
    const { status } = await getJson(conversations(strict.url, { appsecret_proof: proofOf(DEMO.tokens.acmePage) }));
    expect(status).toBe(200);
  });

  it('rejects a missing proof when required', async () => {
    const { status, body } = await getJson<GraphErrorEnvelope>(conversations(strict.url, {}));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message: 'API calls from the server require an appsecret_proof argument',
      type: 'GraphMethodException',
      code: 100,
    });
  });

  it('rejects a wrong proof even when proofs are not required', async () => {
    expect((await getJson(conversations(lenient.url, {}))).status).toBe(200);
    const { status, body } = await getJson<GraphErrorEnvelope>(conversations(lenient.url, { appsecret_proof: proofOf(DEMO.tokens.alice) }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      message: 'Invalid appsecret_proof provided in the API argument',
      type: 'GraphMethodException',
      code: 100,
    });
  });

  it('leaves the proof out of next links, so following them verbatim fails where proofs are required', async () => {
    const { body } = await getJson<GraphListBody>(conversations(strict.url, { appsecret_proof: proofOf(DEMO.tokens.acmePage) }));
    const next = body.paging!.next!;
    expect(next).toContain(`access_token=${DEMO.tokens.acmePage}`);
    expect(next).not.toContain('appsecret_proof');
    const followed = await getJson<GraphErrorEnvelope>(next);
    expect(followed.body.error.message).toBe('API calls from the server require an appsecret_proof argument');
    const withProof = await getJson<GraphListBody>(`${next}&appsecret_proof=${proofOf(DEMO.tokens.acmePage)}`);
    expect(withProof.status).toBe(200);
  });
});
