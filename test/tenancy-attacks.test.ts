/**
 * The shared cache attacked as a tenant of a shared deployment would attack it: every answer, cached or
 * stale, fresh from Graph or filled by another instance, is one Graph gives the caller's own token. Each
 * attack runs on one instance, and on two instances sharing Redis (the victim's reads on one, the
 * attacker's on the other).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import type { GatewayServer } from '../src/http-server.js';
import { RedisConnection } from '../src/redis/connection.js';
import { RedisReadCacheStore } from '../src/redis/read-cache-store.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { openEventStream } from './support/event-stream.js';
import { ACME, BISTRO, type Harness, type HarnessOptions, serveWithWebhooks, startHarness, TEST_VERSION } from './support/harness.js';
import { deleteKeys, recordingLogger, TEST_REDIS_URL, testPrefix } from './support/redis.js';
import { until } from './support/wait.js';

const MINUTE = 60_000;
const PREFIX = testPrefix('tenancy-attacks');
const { tokens } = DEMO;

interface Instance {
  h: Harness;
  bus: InboxEventBus;
  server: GatewayServer;
  origin: string;
}

type Answer = Awaited<ReturnType<Harness['post']>>['body'];

const globalId = (type: string, key: string): string => Buffer.from(`${type}:${key}`).toString('base64');
const codes = (answer: Answer): string[] => (answer.errors ?? []).map((error) => String(error.extensions?.code));
const listIds = (answer: Answer, alias = 'page'): string[] =>
  (answer.data as Record<string, { conversations: { edges: { node: { graphApiId: string } }[] } } | null>)[alias]!.conversations.edges.map(
    (edge) => edge.node.graphApiId,
  );

const INBOX = (page: string, first = 2) =>
  `{ page(id: "${page}") { conversations(first: ${first}) { edges { node { id graphApiId snippet } } } } }`;
const THREAD = (id: string) =>
  `{ node(id: "${id}") { ... on Conversation { graphApiId snippet messages(first: 2) { edges { node { graphApiId text } } } } } }`;

/** What Graph itself lists for `token` (the ground truth of each attack). */
async function graphFirstIds(instance: Instance, page: string, token: string, limit: number): Promise<string[]> {
  const query = new URLSearchParams({ fields: 'id', limit: String(limit), access_token: token });
  const url = `${instance.h.emulator.url}/${TEST_VERSION}/${page}/conversations?${query}`;
  const body = (await (await fetch(url)).json()) as { data: { id: string }[] };
  return body.data.map((thread) => thread.id);
}

/** The Graph calls the emulator logged (batch items each), by path. */
function callsOf(instance: Instance): string[] {
  return instance.h.emulator.log.entries.flatMap((entry) =>
    entry.items === undefined ? [entry.path] : entry.items.map((item) => item.relativeUrl),
  );
}

/** Graph calls made on `page`'s conversation list, whoever made them. */
const inboxCalls = (instance: Instance, page: string): number =>
  callsOf(instance).filter((path) => path.includes(`${page}/conversations`)).length;

for (const mode of ['one instance', 'two instances sharing Redis'] as const) {
  describe(`tenancy under attack: ${mode}`, () => {
    const connections: RedisConnection[] = [];
    let victim: Instance;
    let attacker: Instance;

    async function instance(options: HarnessOptions = {}): Promise<Instance> {
      let store: RedisReadCacheStore | undefined;
      if (mode !== 'one instance') {
        const logger = recordingLogger();
        const connection = new RedisConnection({
          url: TEST_REDIS_URL,
          keyPrefix: `${PREFIX}${connections.length === 0 ? '' : ''}`,
          logger,
        });
        connections.push(connection);
        store = new RedisReadCacheStore(connection, { tagTtlMs: 20 * MINUTE, local: { maxEntries: 1000, maxBytes: 10_000_000 }, logger });
        expect(await connection.settled(5_000)).toBe('shared');
      }
      const bus = new InboxEventBus();
      const h = await startHarness({
        emulator: { privacyFiltering: false },
        defaultAccessToken: undefined,
        inboxEvents: bus,
        cache: { maxAgeMs: 10 * MINUTE, staleMs: 10 * MINUTE, ...(store === undefined ? {} : { store }) },
        // Two instances share their fleet state too: the proofs of reach and the identities of tokens.
        ...(store === undefined ? {} : { redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX } }),
        ...options,
      });
      const { server, origin } = await serveWithWebhooks(h, bus);
      return { h, bus, server, origin };
    }

    beforeAll(async () => {
      victim = await instance();
      attacker = mode === 'one instance' ? victim : await instance();
    });
    afterEach(() => {
      victim.h.emulator.faults.clear();
      attacker.h.emulator.faults.clear();
    });
    afterAll(async () => {
      for (const { server, h } of new Set([victim, attacker])) {
        await server.drain(0);
        await h.close();
      }
      await Promise.all(connections.map((connection) => connection.close()));
      await deleteKeys(TEST_REDIS_URL, PREFIX);
    });

    const post = (at: Instance, query: string, token: string) =>
      at.h.post({ query }, { authorization: `Bearer ${token}`, 'x-upstream-usage': '1' }).then((response) => response.body);

    it('1. `me` is each token’s own Page, never a shared key', async () => {
      const acme = await post(victim, INBOX('me'), tokens.acmePage);
      expect(acme.errors).toBeUndefined();
      expect(listIds(acme)).toEqual(await graphFirstIds(victim, ACME, tokens.acmePage, 2));
      // Bistro's token reads its own inbox once, then asks for exactly what Acme's token asked for.
      expect((await post(attacker, INBOX('me', 3), tokens.bistroPage)).errors).toBeUndefined();
      const bistro = await post(attacker, INBOX('me'), tokens.bistroPage);
      expect(bistro.errors).toBeUndefined();
      const named = await post(attacker, `{ page(id: "me") { graphApiId name } }`, tokens.bistroPage);
      expect(named.data).toEqual({ page: { graphApiId: BISTRO, name: DEMO.pages.bistro.name } });
      expect(listIds(bistro)).toEqual(await graphFirstIds(attacker, BISTRO, tokens.bistroPage, 2));
      expect(listIds(bistro).some((id) => listIds(acme).includes(id))).toBe(false);
      // The global ids name the numeric Page, so `node(id:)` never meets `me` either.
      const [edge] = (bistro.data as { page: { conversations: { edges: { node: { id: string } }[] } } }).page.conversations.edges;
      expect(Buffer.from(edge!.node.id, 'base64').toString()).toMatch(new RegExp(`^Conversation:${BISTRO}:`));
    });

    it('2. a thread id re-encoded under another Page is a claim: Graph judges the reader’s own token', async () => {
      // Alice reads a thread of Acme; Bob (Bistro only) reads Bistro's inbox, then forges the thread's id under Bistro.
      const acmeInbox = await post(victim, INBOX(ACME, 3), tokens.alice);
      const thread = listIds(acmeInbox)[0]!;
      const read = await post(victim, THREAD(globalId('Conversation', `${ACME}:${thread}`)), tokens.alice);
      expect(read.errors).toBeUndefined();
      expect(JSON.stringify(read.data)).toContain(thread);
      expect((await post(attacker, INBOX(BISTRO), tokens.bob)).errors).toBeUndefined();
      attacker.h.emulator.log.clear();
      const forged = await post(attacker, THREAD(globalId('Conversation', `${BISTRO}:${thread}`)), tokens.bob);
      expect(forged.data).toEqual({ node: null });
      expect(codes(forged)).toEqual(['GRAPH_PERMISSION_DENIED']);
      expect(JSON.stringify(forged)).not.toContain(thread);
      // Asked of Graph, with the token Bob's user token grants for Bistro (not served from any cache).
      expect(callsOf(attacker)).toEqual([expect.stringContaining(thread)]);
      expect(forged.extensions?.upstream).toMatchObject({ cached: 0 });
      // Under Acme, Bob's user token is refused before any call.
      const underAcme = await post(attacker, THREAD(globalId('Conversation', `${ACME}:${thread}`)), tokens.bob);
      expect(codes(underAcme)).toEqual(['PAGE_NOT_ACCESSIBLE']);
    });

    it('3. a stale answer is never a forged one, while the forger’s own Page is throttled', async () => {
      const acmeInbox = await post(victim, INBOX(ACME, 3), tokens.alice);
      const thread = listIds(acmeInbox)[1]!;
      expect((await post(victim, THREAD(globalId('Conversation', `${ACME}:${thread}`)), tokens.alice)).errors).toBeUndefined();
      expect((await post(attacker, INBOX(BISTRO), tokens.bistroPage)).errors).toBeUndefined();
      // Graph throttles the forger's Page: the forged read cannot be sent, and nothing stale may answer it.
      attacker.h.emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 3 }, { times: Number.POSITIVE_INFINITY });
      const forged = await post(attacker, THREAD(globalId('Conversation', `${BISTRO}:${thread}`)), tokens.bistroPage);
      expect(forged.data).toEqual({ node: null });
      expect(codes(forged)).toEqual(['GRAPH_RATE_LIMITED']);
      expect(forged.extensions?.stale).toBeUndefined();
      expect(JSON.stringify(forged)).not.toContain(thread);
      // While the block lasts, the same forgery is still refused, from no cache.
      const again = await post(attacker, THREAD(globalId('Conversation', `${BISTRO}:${thread}`)), tokens.bistroPage);
      expect(codes(again)).toEqual(['GRAPH_RATE_LIMITED']);
      expect(again.extensions?.stale).toBeUndefined();
      // The Page's own inbox is still served to its own token, from the cache.
      const own = await post(attacker, INBOX(BISTRO), tokens.bistroPage);
      expect(own.errors).toBeUndefined();
      expect(own.extensions?.upstream).toMatchObject({ requests: 0, cached: 1 });
    });

    it('4. a subscription needs what a read needs, and ends once Graph refuses the token', async () => {
      const subscribe = (token: string, platform = '') =>
        openEventStream<{ data: unknown; errors?: Array<{ extensions?: { code?: string } }> }>(
          `${attacker.origin}/graphql`,
          `subscription { inboxEvents(pageId: "${ACME}"${platform}) { kind platform messageId text } }`,
          token,
        );
      for (const [token, code] of [
        [tokens.acmePageNoMessaging, 'GRAPH_PERMISSION_DENIED'],
        [tokens.acmePagePolicyBlocked, 'GRAPH_POLICY_BLOCKED'],
        [tokens.bistroPage, 'PAGE_NOT_ACCESSIBLE'],
      ] as const) {
        const refused = await subscribe(token);
        expect(codes((await refused.next()) as Answer)).toEqual([code]);
        refused.close();
      }
      const noInstagram = await subscribe(tokens.acmePageNoInstagram, ', platform: INSTAGRAM');
      expect(codes((await noInstagram.next()) as Answer)).toEqual(['GRAPH_PERMISSION_DENIED']);
      noInstagram.close();
      expect(attacker.bus.listenerCount(ACME) + attacker.bus.listenerCount(DEMO.pages.acme.instagramId)).toBe(0);

      // Without a platform, a token that reads Messenger only hears Messenger.
      const messengerOnly = await subscribe(tokens.acmePageNoInstagram);
      await until(() => attacker.bus.listenerCount(ACME) === 1, 'the Messenger subscriber');
      expect(attacker.bus.listenerCount(DEMO.pages.acme.instagramId)).toBe(0);
      const store = attacker.h.emulator.store;
      const first = (platform: 'messenger' | 'instagram') => store.listConversations(ACME, { platform, folder: 'inbox' })[0]!.id;
      await attacker.h.emulator.webhooks.sendMessage(first('instagram'), { text: 'instagram: not for this token' });
      await attacker.h.emulator.webhooks.sendMessage(first('messenger'), { text: 'messenger: for this token' });
      expect(await messengerOnly.next()).toMatchObject({
        data: { inboxEvents: { platform: 'MESSENGER', text: 'messenger: for this token' } },
      });

      // Graph starts refusing the token (its task was removed): the next read shows it, and the subscription ends with the refusal.
      attacker.h.emulator.faults.inject(
        { kind: 'graph-error', code: 200, status: 403 },
        { times: Number.POSITIVE_INFINITY, match: { token: tokens.acmePageNoInstagram } },
      );
      expect(codes(await post(attacker, INBOX(ACME), tokens.acmePageNoInstagram))).toEqual(['GRAPH_PERMISSION_DENIED']);
      await attacker.h.emulator.webhooks.sendMessage(first('messenger'), { text: 'after the token lost the inbox' });
      const ended = (await messengerOnly.next()) as Answer;
      expect(codes(ended)).toEqual(['GRAPH_PERMISSION_DENIED']);
      expect(JSON.stringify(ended)).not.toContain('after the token lost the inbox');
      await expect(messengerOnly.next()).rejects.toThrow('the event stream ended');
      await until(() => attacker.bus.listenerCount(ACME) === 0, 'the ended subscription to stop listening');
    });

    it('5. a stranger spends one call of a Page it cannot read, whatever it sends', async () => {
      const aliases = Array.from(
        { length: 40 },
        (_, i) => `a${i}: page(id: "${ACME}") { conversations(first: ${i + 1}) { edges { node { graphApiId } } } }`,
      );
      for (const stranger of [tokens.bistroPage, tokens.acmePageNoPagesMessaging]) {
        attacker.h.emulator.log.clear();
        const answer = await post(attacker, `{ ${aliases.join(' ')} }`, stranger);
        expect(new Set(codes(answer))).toEqual(
          new Set([stranger === tokens.bistroPage ? 'GRAPH_PERMISSION_DENIED' : 'GRAPH_PERMISSION_DENIED']),
        );
        expect(answer.errors).toHaveLength(40);
        expect(inboxCalls(attacker, ACME)).toBe(1);
        // Graph's refusal is remembered for a while: the same burst again costs nothing.
        const again = await post(attacker, `{ ${aliases.join(' ')} }`, stranger);
        expect(again.errors).toHaveLength(40);
        expect(inboxCalls(attacker, ACME)).toBe(1);
      }
      // The Page's own token is served meanwhile.
      expect((await post(victim, INBOX(ACME), tokens.acmePage)).errors).toBeUndefined();
    });

    it('6. a Page’s name is kept, but served only to a token Graph showed that Page: another Page’s token asks Graph', async () => {
      const NAME = (page: string) => `{ page(id: "${page}") { name } }`;
      const nodeCalls = (at: Instance): number => callsOf(at).filter((path) => new RegExp(`(^|/)${ACME}(\\?|$)`).test(path)).length;
      expect(await post(victim, NAME(ACME), tokens.acmePage)).toMatchObject({ data: { page: { name: 'Acme Shop' } } });
      victim.h.emulator.log.clear();
      attacker.h.emulator.log.clear();
      // Kept for the token that read it: its next read makes no call.
      const again = await post(victim, NAME(ACME), tokens.acmePage);
      expect(again).toMatchObject({ data: { page: { name: 'Acme Shop' } }, extensions: { upstream: { requests: 0, cached: 1 } } });
      expect(nodeCalls(victim)).toBe(0);
      // Bistro's token asks for Acme's name: Graph answers it, never the cache; Graph's refusal is what it gets.
      attacker.h.emulator.faults.inject({ kind: 'graph-error', code: 10 }, { match: { token: tokens.bistroPage, path: /^\d+$/ } });
      const refused = await post(attacker, NAME(ACME), tokens.bistroPage);
      expect(codes(refused)).toEqual(['GRAPH_PERMISSION_DENIED']);
      expect(refused.data).toEqual({ page: { name: null } });
      expect(nodeCalls(attacker)).toBe(1);
      // Where Graph shows it the Page, it is Graph's answer too (a call of its own), not the victim's entry.
      attacker.h.emulator.faults.clear();
      const shown = await post(attacker, NAME(ACME), tokens.bistroPage);
      expect(shown).toMatchObject({ data: { page: { name: 'Acme Shop' } }, extensions: { upstream: { requests: 1, cached: 0 } } });
      expect(nodeCalls(attacker)).toBe(2);
    });
  });
}
