/**
 * The process as an operator runs it: `npm start` on a fresh machine (embedded emulator), and the
 * same gateway pointed at another Graph API implementation with GRAPH_API_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/app.js';
import { DEMO, startEmulator } from '../src/emulator/index.js';
import { assertNoSecrets, graphListIds, SECRETS, until } from './support/harness.js';

const running: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(
    running.splice(0).map(async (child) => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }),
  );
});

interface Started {
  url: string;
  output: () => string;
}

/** Starts `src/main.ts` on a free port; resolves once it prints its URL. */
function startGateway(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /GraphQL gateway on (http:\/\/localhost:\d+\/graphql)/.exec(output);
      if (match) resolve({ url: match[1]!, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${output}`)));
  });
}

/** The parts of a message the GraphiQL default query shows. */
interface Shown {
  sticker: unknown;
  shares: { link: string | null; products: unknown[]; template: unknown }[];
  replyTo: unknown;
  attachments: unknown[];
  isUnsupported: boolean;
  story: { kind: string } | null;
  reactions: unknown[];
}

/** The part of a `page` answer these tests read. */
interface PageData {
  name: string;
  conversations: { edges: Array<{ node: { graphApiId: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

async function query(url: string, body: unknown): Promise<{ data?: { page: PageData }; errors?: unknown[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  assertNoSecrets(text);
  return JSON.parse(text);
}

describe('npm start', () => {
  it('serves GraphiQL and answers its default query from the embedded emulator, logging no token', async () => {
    const gateway = await startGateway({});
    const page = await fetch(gateway.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('graphiql');

    const result = await query(gateway.url, { query: GRAPHIQL_DEFAULT_QUERY });
    expect(result.errors).toBeUndefined();
    expect(result.data!.page.name).toBe(DEMO.pages.acme.name);
    // A reader of the first page sees every kind of message content, on both platforms.
    const inbox = result.data!.page as unknown as Record<
      'messenger' | 'instagram',
      { edges: { node: { messages: { edges: { node: Shown }[] } } }[] }
    >;
    const shown = (platform: 'messenger' | 'instagram') => {
      expect(inbox[platform].edges).toHaveLength(5);
      return inbox[platform].edges.flatMap((edge) => edge.node.messages.edges.map((message) => message.node));
    };
    const messenger = shown('messenger');
    expect({
      sticker: messenger.some((message) => message.sticker !== null),
      link: messenger.some((message) => message.shares.some((share) => share.link !== null && share.products.length === 0)),
      products: messenger.some((message) => message.shares.some((share) => share.products.length > 0)),
      template: messenger.some((message) => message.shares.some((share) => share.template !== null)),
      reply: messenger.some((message) => message.replyTo !== null),
      attachment: messenger.some((message) => message.attachments.length > 0),
      unsupported: messenger.some((message) => message.isUnsupported),
    }).toEqual({ sticker: true, link: true, products: true, template: true, reply: true, attachment: true, unsupported: true });
    const instagram = shown('instagram');
    expect({
      mention: instagram.some((message) => message.story?.kind === 'MENTION'),
      storyReply: instagram.some((message) => message.story?.kind === 'REPLY'),
      reaction: instagram.some((message) => message.reactions.length > 0),
      reply: instagram.some((message) => message.replyTo !== null),
    }).toEqual({ mention: true, storyReply: true, reaction: true, reply: true });
    expect(gateway.output()).toContain('embedded emulator');
    for (const secret of SECRETS) expect(gateway.output()).not.toContain(secret);
  });

  it('refuses a bad configuration with a clear message', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: 'eighty', GRAPH_API_URL: 'graph.facebook.com' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain('PORT must be an integer from 0 to 65535, got "eighty"');
    expect(stderr).toContain('GRAPH_API_URL must be an http(s) URL');
  });
});

describe('SIGTERM (a deploy behind a load balancer)', () => {
  it('finishes the requests in flight, takes no new connection, then exits 0', async () => {
    const emulator = await startEmulator();
    try {
      const gateway = await startGateway({
        GRAPH_API_URL: emulator.url,
        GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage,
        GRAPH_PAGE_CALLS_PER_SECOND: '0',
      });
      const read = (first: number): Promise<Response> =>
        fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: `{ page(id: "${DEMO.pages.acme.id}") { conversations(first: ${first}) { edges { node { graphApiId } } } } }`,
          }),
        });
      expect((await read(1)).status).toBe(200);
      emulator.log.clear();
      emulator.faults.inject({ kind: 'latency', ms: 1_000 }, { times: 1, match: { path: /\/conversations$/ } });
      const inFlight = read(2);
      await until(() => emulator.log.requestCount > 0, 'the read to reach the emulator');

      const child = running.at(-1)!;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const answer = await inFlight;
      // Answered in full, and told to reconnect elsewhere.
      expect(answer.headers.get('connection')).toBe('close');
      expect(
        ((await answer.json()) as { data: { page: { conversations: { edges: unknown[] } } } }).data.page.conversations.edges,
      ).toHaveLength(2);
      expect(await exited).toEqual([0, null]);
      await expect(read(1)).rejects.toThrow();
      expect(gateway.output()).toContain('SIGTERM: shutting down; finishing requests in flight');
    } finally {
      await emulator.close();
    }
  });
});

describe('SIGTERM with WebSocket subscribers', () => {
  it('closes the sockets with 1001 at once and exits 0, without waiting out the grace period', async () => {
    const gateway = await startGateway({});
    const closes: number[] = [];
    const client = createClient({
      url: gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      // One socket for the whole test: not closed when no operation is active.
      lazy: false,
      // The close at shutdown is what this test waits for: recorded below, not logged.
      onNonLazyError: () => undefined,
      on: { closed: (event) => closes.push((event as { code: number }).code) },
    });
    try {
      // The socket answers a query, then holds a subscription open.
      const answer = await client.iterate({ query: `{ page(id: "${DEMO.pages.acme.id}") { name } }` }).next();
      expect(answer.value).toMatchObject({ data: { page: { name: DEMO.pages.acme.name } } });
      const events = client.iterate({ query: `subscription { inboxEvents(pageId: "${DEMO.pages.acme.id}") { messageId } }` });
      // The subscription is open once an event comes through: the embedded emulator sends messages until one does.
      const emulatorUrl = /embedded emulator at (http:\/\/127\.0\.0\.1:\d+)/.exec(gateway.output())![1]!;
      const conversationId = (
        await query(gateway.url, {
          query: `{ page(id: "${DEMO.pages.acme.id}") { conversations(first: 1) { edges { node { graphApiId } } } } }`,
        })
      ).data!.page.conversations.edges[0]!.node.graphApiId;
      const heard = events.next();
      let listening = false;
      void heard.then(() => (listening = true));
      const deadline = Date.now() + 10_000;
      while (!listening) {
        if (Date.now() > deadline) throw new Error('the subscription never heard a message');
        await fetch(`${emulatorUrl}/_emulator/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ conversationId, text: 'are you there?' }),
        });
        await Promise.race([heard, new Promise((resolve) => setTimeout(resolve, 200))]);
      }
      const ended = events.next().then(
        () => 'next',
        (error: { code?: number }) => error.code,
      );
      const child = running.at(-1)!;
      const exited = once(child, 'exit');
      const started = performance.now();
      child.kill('SIGTERM');
      expect(await ended).toBe(1001);
      expect(await exited).toEqual([0, null]);
      // The grace period is OPERATION_TIMEOUT_MS + 1 s (16 s): the open socket did not hold the exit back.
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(closes).toEqual([1001]);
    } finally {
      await client.dispose();
    }
  });
});

describe('GRAPH_API_VERSION', () => {
  it('warns operators when Graph answers a pinned version that has expired with another one', async () => {
    const emulator = await startEmulator({ oldestLiveVersion: 'v21.0' });
    try {
      const gateway = await startGateway({
        GRAPH_API_URL: emulator.url,
        GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage,
        GRAPH_API_VERSION: 'v19.0',
      });
      const result = await query(gateway.url, {
        query: `{ page(id: "${DEMO.pages.acme.id}") { conversations(first: 2) { edges { node { graphApiId } } } } }`,
      });
      expect(result.errors).toBeUndefined();
      expect(gateway.output()).toContain('Graph API version drift: calls made as v19.0 are answered by v21.0');
    } finally {
      await emulator.close();
    }
  });
});

describe('GRAPH_API_URL', () => {
  it('pages through every conversation of a Page exactly once, in order, on every folder and platform', async () => {
    const emulator = await startEmulator();
    try {
      // A high call rate keeps this walk of ~1,200 conversations quick; the rate limit has its own tests.
      const gateway = await startGateway({
        GRAPH_API_URL: emulator.url,
        GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage,
        CURSOR_SECRET: 'a-shared-secret-for-all-instances',
        GRAPH_PAGE_CALLS_PER_SECOND: '100',
      });
      for (const [folder, platform] of [
        ['INBOX', 'MESSENGER'],
        ['INBOX', 'INSTAGRAM'],
        ['OTHER', 'MESSENGER'],
        ['PAGE_DONE', 'MESSENGER'],
        ['SPAM', 'MESSENGER'],
        ['SPAM', 'INSTAGRAM'],
      ] as const) {
        const truth = await graphListIds(emulator, `${DEMO.pages.acme.id}/conversations`, {
          folder: folder.toLowerCase(),
          platform: platform.toLowerCase(),
          limit: '100',
        });
        const seen: string[] = [];
        let after: string | null = null;
        for (;;) {
          const result = await query(gateway.url, {
            query: `query ($after: String) { page(id: "${DEMO.pages.acme.id}") { conversations(folder: ${folder}, platform: ${platform}, first: 37, after: $after) { edges { node { graphApiId } } pageInfo { hasNextPage endCursor } } } }`,
            variables: { after },
          });
          expect(result.errors).toBeUndefined();
          const connection = result.data!.page.conversations;
          seen.push(...connection.edges.map((edge) => edge.node.graphApiId));
          if (!connection.pageInfo.hasNextPage) break;
          after = connection.pageInfo.endCursor;
        }
        expect(seen).toEqual(truth);
        expect(new Set(seen).size).toBe(seen.length);
      }
      expect(gateway.output()).toContain(`Graph API: ${emulator.url}`);
      for (const secret of SECRETS) expect(gateway.output()).not.toContain(secret);
    } finally {
      await emulator.close();
    }
  });
});
