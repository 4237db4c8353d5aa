import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScaleWorld, DEMO, SCALE, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { mulberry32 } from '../../src/emulator/random.js';
import { createSeedWorld, SEED_NOW } from '../../src/emulator/seed.js';
import { getJson, query, type GraphListBody } from './graph-client.js';

const ACME = DEMO.pages.acme.id;
const world = createSeedWorld();
const acmeThreads = world.threads.filter((thread) => thread.pageId === ACME);
const share = (count: number, total: number): number => count / total;
const sha256 = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

describe('DEMO', () => {
  it('has distinct, deterministic, realistic-looking tokens', () => {
    const tokens = Object.values(DEMO.tokens);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect(token).toMatch(/^EAA[A-Za-z0-9]{37,}$/);
  });

  it('names the demo Pages and users', () => {
    expect(DEMO.pages).toEqual({
      acme: { id: '1000000001', name: 'Acme Shop', instagramId: '17841400000000001', instagramUsername: 'acme.shop' },
      bistro: { id: '1000000002', name: 'Bistro Demo' },
      quiet: { id: '1000000003', name: 'Quiet Page' },
      outlet: { id: '1000000004', name: 'Acme Outlet', instagramId: '17841400000000004', instagramUsername: 'acme.outlet' },
    });
    expect(DEMO.users).toEqual({ alice: { id: '2000000001', name: 'Alice Admin' }, bob: { id: '2000000002', name: 'Bob Moderator' } });
    expect(DEMO.customers).toEqual({
      blockedAcme: { psid: '6100000000000230', name: 'Nico Varga' },
      unavailableAcme: { psid: '9099668428957631', name: 'Amir Ivanova', threadId: 't_975141695012666' },
    });
    expect(DEMO.replyWindows).toEqual({
      open: 't_473707567380661',
      humanAgent: 't_774427106300123',
      closed: 't_928161276831077',
      instagram: 'aWdfZAGKLAhIJ1qnCFgoi02kB8G8QFPZ3MOGWBMumosEMIhr0O3K9A_8sMNY0Xsq7sw',
    });
  });
});

describe('seed world', () => {
  it('is byte-identical to the pinned world: a change to the seed data or to the order of its draws changes these hashes', () => {
    // JSON.stringify writes a Map as {}: the tokens are hashed as their entries.
    expect(sha256(world)).toBe('c3636599bf607978609aac393d415e7fba9916196e3a6da1449ba1795be38e9a');
    expect(sha256({ ...world, tokens: [...world.tokens] })).toBe('6a4a3d8a591f4d89797fdd6e397b654db0f3a50de0b6bbca979664f9f514993c');
    expect(sha256(DEMO)).toBe('d6d76618603cff107f38fbb821997f8d8cf3ffa701e46ac52d9b552241bcd2ad');
    // Acme Outlet (a fourth Page, Alice's third, drawn after the rest) added itself and moved nothing: without it, the
    // world and DEMO hash as they were pinned before it (DEMO had gained customers.unavailableAcme and replyWindows).
    const outlet = DEMO.pages.outlet.id;
    const { outlet: _outletPage, ...pagesBefore } = DEMO.pages;
    const { outletPage: _outletToken, ...tokensBefore } = DEMO.tokens;
    const worldBefore = {
      pages: world.pages.filter((page) => page.id !== outlet),
      threads: world.threads.filter((thread) => thread.pageId !== outlet),
      users: world.users.map((user) => ({ ...user, accounts: user.accounts.filter((account) => account.pageId !== outlet) })),
      tokens: [...world.tokens].filter(([token]) => token !== DEMO.tokens.outletPage),
    };
    expect(sha256(worldBefore)).toBe('b0de3e85f64d0c55b8ee9728fcff60c7e84ac578f6230541626f03b7780e6853');
    expect(sha256({ ...DEMO, pages: pagesBefore, tokens: tokensBefore })).toBe(
      '9f974cc109fd174fdc3e0e6a3a3174285cf4e1af3be217562c4f9df6b02b930e',
    );
    expect(SEED_NOW).toBe(1_793_534_400);
  });

  it('is the same on every call', () => {
    expect(createSeedWorld()).toEqual(world);
    const a = mulberry32(42);
    const b = mulberry32(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('gives Acme about 1,200 recent threads, 65% Messenger, Instagram only in inbox and spam', () => {
    const recent = acmeThreads.filter((thread) => thread.updatedTime > SEED_NOW - 91 * 86_400);
    expect(recent).toHaveLength(1200);
    const messenger = recent.filter((thread) => thread.platform === 'messenger');
    expect(share(messenger.length, recent.length)).toBeCloseTo(0.65, 2);
    const folders = (folder: string) => messenger.filter((thread) => thread.folder === folder).length / messenger.length;
    expect([folders('inbox'), folders('other'), folders('page_done'), folders('spam')]).toEqual([0.6, 0.15, 0.2, 0.05]);
    const instagramFolders = new Set(acmeThreads.filter((thread) => thread.platform === 'instagram').map((thread) => thread.folder));
    expect([...instagramFolders].sort()).toEqual(['inbox', 'spam']);
    expect(world.threads.filter((thread) => thread.pageId === DEMO.pages.bistro.id)).toHaveLength(45);
    expect(world.threads.filter((thread) => thread.pageId === DEMO.pages.quiet.id)).toHaveLength(0);
  });

  it('gives Acme 24 Messenger threads archived before mid-2018, in no folder and tagged action:archived', () => {
    const legacy = acmeThreads.filter((thread) => thread.folder === undefined);
    expect(legacy).toHaveLength(24);
    const mid2018 = Date.UTC(2018, 6, 1) / 1000;
    expect(legacy.every((thread) => thread.platform === 'messenger' && thread.updatedTime < mid2018)).toBe(true);
    expect(legacy.every((thread) => thread.tags.includes('action:archived'))).toBe(true);
    expect(acmeThreads.filter((thread) => thread.folder !== undefined && thread.tags.includes('action:archived'))).toEqual([]);
  });

  it("has one customer who blocked Acme: the oldest thread of Acme's Messenger inbox, which cannot be replied to", () => {
    const inbox = acmeThreads
      .filter((thread) => thread.platform === 'messenger' && thread.folder === 'inbox')
      .sort((a, b) => b.updatedTime - a.updatedTime);
    const blocked = inbox.at(-1)!;
    expect(blocked.customer).toEqual({
      name: DEMO.customers.blockedAcme.name,
      email: `${DEMO.customers.blockedAcme.psid}@facebook.com`,
      id: DEMO.customers.blockedAcme.psid,
    });
    expect([blocked.customerBlockedPage, blocked.canReply, blocked.hidden]).toEqual([true, false, false]);
    expect(world.threads.filter((thread) => thread.customerBlockedPage === true)).toEqual([blocked]);
  });

  it('uses Graph-like ids and a distinct customer per thread', () => {
    expect(world.threads.length).toBeGreaterThan(0);
    for (const thread of world.threads) {
      if (thread.platform === 'messenger') {
        expect(thread.id).toMatch(/^t_\d{15}$/);
        expect(thread.customer.id).toMatch(/^\d{16}$/);
        expect(thread.messages[0]!.id).toMatch(/^m_[A-Za-z0-9_-]+$/);
      } else {
        expect(thread.id).toMatch(/^aWdfZAG[A-Za-z0-9_-]+$/);
        expect(thread.customer.id).toMatch(/^\d{17}$/);
      }
    }
    expect(new Set(world.threads.map((thread) => thread.customer.id)).size).toBe(world.threads.length);
    expect(new Set(world.threads.map((thread) => thread.id)).size).toBe(world.threads.length);
  });

  it('keeps messages newest first with updated_time = newest message, 1 to 40 per thread, all times distinct', () => {
    const counts = world.threads.map((thread) => thread.messages.length);
    expect(Math.min(...counts)).toBe(1);
    expect(Math.max(...counts)).toBe(40);
    expect(counts.filter((count) => count === 1).length).toBeGreaterThan(5);
    expect(counts.filter((count) => count === 40).length).toBeGreaterThan(5);
    const times = new Set<number>();
    for (const thread of world.threads) {
      expect(thread.updatedTime).toBe(thread.messages[0]!.createdTime);
      expect(thread.updatedTimeText).toBe(thread.messages[0]!.createdTimeText);
      for (let i = 1; i < thread.messages.length; i++)
        expect(thread.messages[i - 1]!.createdTime).toBeGreaterThan(thread.messages[i]!.createdTime);
      for (const message of thread.messages) times.add(message.createdTime);
    }
    expect(times.size).toBe(world.threads.reduce((sum, thread) => sum + thread.messages.length, 0));
    const newest = Math.max(...world.threads.map((thread) => thread.updatedTime));
    expect(newest).toBeLessThan(Date.UTC(2026, 10, 1, 12) / 1000);
  });

  it('hides about 4% of threads plus a run of 40 in the Acme Messenger inbox', () => {
    const inbox = acmeThreads
      .filter((thread) => thread.platform === 'messenger' && thread.folder === 'inbox')
      .sort((a, b) => b.updatedTime - a.updatedTime);
    expect(inbox.slice(300, 340).every((thread) => thread.hidden)).toBe(true);
    const hidden = acmeThreads.filter((thread) => thread.hidden).length;
    expect(share(hidden - 40, acmeThreads.length)).toBeGreaterThan(0.02);
    expect(share(hidden - 40, acmeThreads.length)).toBeLessThan(0.06);
  });

  it('puts attachments on about 10% of messages and leaves fields without data out', () => {
    const messages = world.threads.flatMap((thread) => thread.messages);
    expect(share(messages.filter((message) => message.attachments !== undefined).length, messages.length)).toBeGreaterThan(0.07);
    expect(share(messages.filter((message) => message.attachments !== undefined).length, messages.length)).toBeLessThan(0.12);
    expect(messages.some((message) => message.text === '' && message.attachments !== undefined)).toBe(true);
    expect(messages.every((message) => message.isUnsupported === undefined || message.isUnsupported)).toBe(true);
    expect(world.threads.every((thread) => thread.messages[0]!.text !== '')).toBe(true);
  });
});

describe('two emulators', () => {
  let first: Emulator;
  let second: Emulator;
  beforeAll(async () => {
    [first, second] = await Promise.all([startEmulator(), startEmulator()]);
  });
  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
  });

  it('serve identical data, with cursors of their own', async () => {
    const fields = 'id,updated_time,snippet,participants,messages.limit(5){message,from,to,attachments,created_time}';
    const read = (emulator: Emulator) =>
      getJson<GraphListBody>(
        `${emulator.url}/v25.0/${ACME}/conversations?${query({ access_token: DEMO.tokens.acmePage, fields, limit: 50 })}`,
      );
    const [a, b] = await Promise.all([read(first), read(second)]);
    const withoutPaging = (body: GraphListBody) =>
      body.data.map((thread) => ({ ...thread, messages: (thread.messages as GraphListBody).data }));
    expect(withoutPaging(a.body)).toEqual(withoutPaging(b.body));
    expect(a.body.paging!.cursors!.after).not.toBe(b.body.paging!.cursors!.after);
    expect(first.store.listConversations(ACME)).toEqual(second.store.listConversations(ACME));
  });

  it('do not share changes', async () => {
    const [thread] = first.store.listConversations(ACME, { platform: 'messenger', folder: 'other' });
    first.store.addMessage(thread!.id, { fromId: ACME, text: 'Only on the first emulator' });
    expect(first.store.messageIds(thread!.id)!.length).toBe(second.store.messageIds(thread!.id)!.length + 1);
  });
});

describe('the scale world (extraWorld: createScaleWorld(n))', () => {
  let emulator: Emulator;
  let plain: Emulator;
  beforeAll(async () => {
    [emulator, plain] = await Promise.all([startEmulator({ extraWorld: createScaleWorld(3) }), startEmulator()]);
  });
  afterAll(async () => {
    await Promise.all([emulator.close(), plain.close()]);
  });

  it("serves each Page's 25 threads to each of its agents' tokens only, and leaves the demo world as it was", async () => {
    const fields = 'id,messages.limit(5){message}';
    const inbox = (page: number, token: string) =>
      getJson<GraphListBody>(
        `${emulator.url}/v25.0/${SCALE.pageIdOf(page)}/conversations?${query({ access_token: token, fields, limit: 25 })}`,
      );
    const first = await inbox(2, SCALE.agentTokenOf(2, 1));
    expect(first.body.data).toHaveLength(25);
    expect(first.body.paging?.next).toBeUndefined();
    expect(new Set(first.body.data.map((thread) => thread.id)).size).toBe(25);
    // Messages drawn as the demo world's: not one text repeated throughout.
    const texts = first.body.data.flatMap((thread) => (thread.messages as GraphListBody<{ message: string }>).data.map((m) => m.message));
    expect(new Set(texts).size).toBeGreaterThan(20);
    expect((await inbox(2, SCALE.agentTokenOf(2, 10))).body).toEqual(expect.objectContaining({ data: expect.any(Array) }));
    expect((await inbox(2, SCALE.agentTokenOf(3, 1))).status).toBe(403);
    expect(emulator.store.listConversations(ACME)).toEqual(plain.store.listConversations(ACME));
  });
});
