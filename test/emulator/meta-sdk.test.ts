/**
 * Meta's own Node SDK (facebook-nodejs-business-sdk) pages the emulator exactly: its Cursor, following the `next`
 * URLs the emulator writes, sees every thread (and every message of a thread) of the emulator's own lists, once and
 * in order. The SDK has no setting for its Graph host (`FacebookAdsApi.GRAPH` is a static getter that `call` reads
 * directly) and never sends `appsecret_proof`, so {@link EmulatorApi} — a small subclass, no patch — passes the
 * emulator's loopback origin as `call`'s own `urlOverride` and adds the proof; the SDK's crash reporter (which
 * would call graph.facebook.com) stays off.
 */
import { createHmac } from 'node:crypto';
import { FacebookAdsApi, type GraphBody, Page, UnifiedThread } from 'facebook-nodejs-business-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../src/emulator/index.js';

const ACME = DEMO.pages.acme.id;
const LIMITS = [1, 7, 25] as const;

/** The SDK's api, pointed at the emulator: every request goes to `origin` (and fails the test otherwise), with a proof. */
class EmulatorApi extends FacebookAdsApi {
  origin = '';
  appSecret = '';
  readonly urls: string[] = [];

  override call(
    method: string,
    path: string | string[],
    params: Record<string, unknown> = {},
    files: Record<string, unknown> = {},
    useMultipartFormData = false,
  ): Promise<GraphBody> {
    const proof = createHmac('sha256', this.appSecret).update(this.accessToken).digest('hex');
    if (typeof path === 'string') {
      // A `paging.next` URL, requested verbatim: Graph's (and the emulator's) links carry the token but not the proof.
      const url = new URL(path);
      if (url.origin !== this.origin) throw new Error(`The SDK was about to leave the emulator: ${url.origin}`);
      if (!url.searchParams.has('appsecret_proof')) url.searchParams.set('appsecret_proof', proof);
      this.urls.push(url.href);
      return super.call(method, url.href, params, files, useMultipartFormData);
    }
    this.urls.push([this.origin, FacebookAdsApi.VERSION, ...path].join('/'));
    return super.call(method, path, { ...params, appsecret_proof: proof }, files, useMultipartFormData, this.origin);
  }
}

let emulator: Emulator;
let api: EmulatorApi;

beforeAll(async () => {
  emulator = await startEmulator({ appSecret: DEMO.appSecret, requireAppSecretProof: true });
  // `init` builds the api with `new this(...)`; its third argument keeps the SDK's crash reporter off.
  api = EmulatorApi.init(DEMO.tokens.acmePage, 'en_US', false);
  api.origin = emulator.url;
  api.appSecret = DEMO.appSecret;
});
afterAll(async () => {
  await emulator.close();
});

/** Every item's id from the cursor's first page on, following `next` while `hasNext()`, and how many pages that took. */
async function drain<T extends { _data: Record<string, unknown> }>(
  first: Promise<{ hasNext(): boolean; next(): Promise<ArrayLike<T>> } & ArrayLike<T>>,
): Promise<{ ids: string[]; items: T[]; pages: number }> {
  const cursor = await first;
  const items: T[] = Array.from(cursor);
  let pages = 1;
  while (cursor.hasNext()) {
    items.push(...Array.from(await cursor.next()));
    pages += 1;
  }
  return { ids: items.map((item) => item._data.id as string), items, pages };
}

/** The emulator's own list of the Acme inbox on `platform`, as Graph serves it (privacy-hidden threads left out). */
const inbox = (platform: 'messenger' | 'instagram') =>
  emulator.store.listConversations(ACME, { platform, folder: 'inbox' }).filter((thread) => thread.visible);

describe('facebook-nodejs-business-sdk against the emulator', () => {
  it('is pointed at the emulator, not graph.facebook.com, and proves its token', async () => {
    expect(FacebookAdsApi.GRAPH).toBe('https://graph.facebook.com');
    const before = api.urls.length;
    const cursor = await new Page(ACME, {}, undefined, api).getConversations(['id'], { limit: 1, platform: 'messenger' });
    expect(cursor).toHaveLength(1);
    expect(api.urls.slice(before)).toEqual([`${emulator.url}/${FacebookAdsApi.VERSION}/${ACME}/conversations`]);
    // Without the proof the strict emulator refuses the SDK, as Graph does an app that requires it.
    const bare = new FacebookAdsApi(DEMO.tokens.acmePage, 'en_US', false);
    await expect(bare.call('GET', [ACME, 'conversations'], {}, {}, false, emulator.url)).rejects.toMatchObject({
      message: 'API calls from the server require an appsecret_proof argument',
    });
  });

  for (const platform of ['messenger', 'instagram'] as const) {
    for (const limit of LIMITS) {
      it(`pages /{page-id}/conversations?platform=${platform}&limit=${limit} through the Cursor: the emulator's full list`, async () => {
        const page = new Page(ACME, {}, undefined, api);
        const { ids, items, pages } = await drain(page.getConversations(['id', 'updated_time'], { limit, platform }));
        const expected = inbox(platform);
        expect(expected.length).toBeGreaterThan(limit);
        expect(ids).toEqual(expected.map((thread) => thread.id));
        expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / limit));
        expect(items.every((item) => typeof item._data.updated_time === 'string')).toBe(true);
      });
    }
  }

  for (const platform of ['messenger', 'instagram'] as const) {
    it(`pages a ${platform} thread's /messages at limits ${LIMITS.join(', ')}: the emulator's own message ids`, async () => {
      const thread = inbox(platform).reduce((most, candidate) => (candidate.messageCount > most.messageCount ? candidate : most));
      const expected = emulator.store.messageIds(thread.id);
      expect(expected?.length).toBeGreaterThan(LIMITS[1]);
      for (const limit of LIMITS) {
        const { ids, items } = await drain(new UnifiedThread(thread.id, {}, undefined, api).getMessages(['id', 'created_time'], { limit }));
        expect(ids).toEqual(expected);
        expect(items.every((item) => typeof item._data.created_time === 'string')).toBe(true);
      }
    });
  }
});
