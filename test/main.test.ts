/**
 * The process as an operator runs it: `npm start` on a fresh machine (embedded emulator), and the
 * same gateway pointed at another Graph API implementation with GRAPH_API_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/app.js';
import { DEMO, startEmulator } from '../src/emulator/index.js';
import { assertNoSecrets, graphListIds, SECRETS } from './support/harness.js';
import { openEventStream, type EventStream } from './support/event-stream.js';
import { GATEWAY_READY_LINE } from './support/ready-line.js';
import { until, within } from './support/wait.js';

// Each test starts a gateway process, which compiles the sources with tsx first: seconds on a busy machine.
vi.setConfig({ testTimeout: 45_000, hookTimeout: 45_000 });

const running: ChildProcess[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    running.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }),
  );
  await Promise.all(blockers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

interface Started {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output holds `text`. */
  said(text: string): Promise<void>;
}

/** Runs `src/main.ts` with `env` (and PATH) only; collects stdout and stderr. */
function runMain(env: Record<string, string>): { child: ChildProcess; output: () => string; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  return { child, output: () => output, stderr: () => stderr };
}

/** Starts `src/main.ts` on a free port (the embedded emulator too, unless `env` says otherwise); resolves once it prints its URL. */
function startGateway(env: Record<string, string>): Promise<Started> {
  const { child, output } = runMain({ PORT: '0', EMULATOR_PORT: '0', ...env });
  const said = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!output().includes(text)) return;
        child.stdout!.off('data', check);
        resolve();
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before saying "${text}": ${output()}`)));
      check();
    });
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      const match = GATEWAY_READY_LINE.exec(output());
      if (match) resolve({ url: match[1]!, child, output, said });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${output()}`)));
  });
}

/** Holds a free port (on every interface, or on 127.0.0.1 where the emulator listens); resolves with its number. */
async function holdPort(host?: string): Promise<number> {
  const server = createServer();
  blockers.push(server);
  await new Promise<void>((resolve) => (host === undefined ? server.listen(0, resolve) : server.listen(0, host, resolve)));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
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
  conversations: {
    edges: Array<{ node: { id: string; graphApiId: string } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

interface Answer {
  data?: { page: PageData; viewer: { pages: Array<{ graphApiId: string; name: string }> } };
  errors?: unknown[];
}

async function query(url: string, body: unknown): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  assertNoSecrets(text);
  return JSON.parse(text);
}

const subscribe = (url: string, document: string): Promise<EventStream<unknown>> => openEventStream(url, document);

const INBOX_EVENTS = `subscription { inboxEvents(pageId: "${DEMO.pages.acme.id}") { kind text } }`;

describe('npm start', () => {
  // One gateway as `npm start` runs it, emulator on EMULATOR_PORT's default (4010) as the README says,
  // unless something else holds it here: then the gateway says where it went.
  let gateway: Started;
  beforeAll(async () => {
    gateway = await startGateway({ EMULATOR_PORT: '' });
    running.splice(running.indexOf(gateway.child), 1);
  }, 60_000);
  afterAll(async () => {
    gateway.child.kill('SIGTERM');
    await once(gateway.child, 'exit');
  });

  it('serves GraphiQL and answers its default query from the embedded emulator, logging no token', async () => {
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
    expect(gateway.output()).toContain('(development mode; GraphiQL in the browser;');
    // Readable lines, each with its time.
    const lines = gateway.output().trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN): /);
    for (const secret of SECRETS) expect(gateway.output()).not.toContain(secret);
  });

  it('lets browser pages on this machine in (CORS with credentials, WebSocket), no other origin (no CORS_ORIGINS)', async () => {
    const preflight = (origin: string) =>
      fetch(gateway.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    const upgrade = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: { origin } });
        socket.once('open', () => {
          socket.close();
          resolve(101);
        });
        socket.once('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0);
          response.resume();
        });
        socket.once('error', (error) => {
          if (!/Unexpected server response/.test(error.message)) reject(error);
        });
      });
    const local = await preflight('http://localhost:5173');
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(local.headers.get('access-control-allow-credentials')).toBe('true');
    expect(await upgrade('http://localhost:5173')).toBe(101);
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(await upgrade('https://evil.example')).toBe(403);
  });

  it("reaches every demo Page with an inbox with no token of the caller's own (the demo user's)", async () => {
    const viewer = await query(gateway.url, { query: '{ viewer { pages { graphApiId name } } }' });
    expect(viewer).toEqual({
      data: {
        viewer: {
          pages: [
            { graphApiId: DEMO.pages.acme.id, name: DEMO.pages.acme.name },
            { graphApiId: DEMO.pages.bistro.id, name: DEMO.pages.bistro.name },
            { graphApiId: DEMO.pages.outlet.id, name: DEMO.pages.outlet.name },
          ],
        },
      },
      extensions: expect.anything(),
    });
    for (const page of [DEMO.pages.acme, DEMO.pages.bistro, DEMO.pages.outlet]) {
      const inbox = await query(gateway.url, {
        query: `{ page(id: "${page.id}") { name conversations(first: 2) { edges { node { id } } } } }`,
      });
      expect(inbox.errors).toBeUndefined();
      expect(inbox.data!.page.conversations.edges).toHaveLength(2);
    }
    expect(gateway.output()).toContain("default access token: the demo user's");
    // The embedded emulator requires appsecret_proof, as an app with "Require App Secret" does; the line names the secret used.
    expect(gateway.output()).toContain("appsecret_proof: on, with the embedded emulator's demo app secret (set GRAPH_APP_SECRET");
    expect(gateway.output()).not.toContain(DEMO.appSecret);
  });

  it("runs the README's live demo as written: a subscription, then the README's curl to the emulator on EMULATOR_PORT", async () => {
    const readme = await readFile('README.md', 'utf8');
    const curl = /curl -X POST http:\/\/127\.0\.0\.1:4010(\/_emulator\/messages) -H 'content-type: application\/json' -d '([^']+)'/.exec(
      readme,
    );
    expect(curl, "the README's curl").not.toBeNull();
    const [, path, body] = curl!;
    const emulatorUrl = /embedded emulator at (http:\/\/127\.0\.0\.1:\d+)/.exec(gateway.output())![1]!;
    if (emulatorUrl !== 'http://127.0.0.1:4010')
      expect(gateway.output()).toContain(`EMULATOR_PORT 4010 is in use: the embedded emulator listens on ${emulatorUrl} instead`);

    // The conversation the README names is the first one GraphiQL's default query shows.
    const inbox = (await query(gateway.url, { query: GRAPHIQL_DEFAULT_QUERY })).data!.page as unknown as Record<
      'messenger',
      PageData['conversations']
    >;
    expect(JSON.parse(body!).conversationId).toBe(inbox.messenger.edges[0]!.node.id);

    // The stream opens once the subscription listens (yoga answers after its subscribe resolver, which reads the Page's Instagram
    // account first, returned): the one message sent is heard.
    const events = await subscribe(gateway.url, INBOX_EVENTS);
    try {
      const before = Date.now();
      const text = (JSON.parse(body!) as { text: string }).text;
      const sent = await fetch(`${emulatorUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body! });
      expect(sent.status).toBe(200);
      const message = (await sent.json()) as { id: string; createdTime: string; deliveryStatus: number };
      expect(message.deliveryStatus).toBe(200);
      // Stamped now, not at the demo history's frozen 2026-11-01.
      expect(Date.parse(message.createdTime.replace(/\+0000$/, 'Z'))).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(await within(5_000, events.next(), 'the event')).toEqual({ data: { inboxEvents: { kind: 'MESSAGE', text } } });
    } finally {
      events.close();
    }
  });
});

describe('start-up', () => {
  it('logs JSON lines with their time in production', async () => {
    // No drain delay (5 s in production): this test stops it with nothing to move away.
    const gateway = await startGateway({ NODE_ENV: 'production', SHUTDOWN_DRAIN_SECONDS: '0' });
    const lines = gateway.output().trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const entry = JSON.parse(line) as { time: string; level: number; msg: string };
      expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect([30, 40]).toContain(entry.level);
    }
    expect(gateway.output()).toContain('(production mode; GraphiQL off;');
  });

  it('serves /metrics on METRICS_PORT only, not on the public port', async () => {
    const gateway = await startGateway({ NODE_ENV: 'production', METRICS_PORT: '0' });
    const [, metricsUrl] = /Metrics: (http:\/\/localhost:\d+\/metrics) \(METRICS_PORT\)/.exec(gateway.output()) ?? [];
    expect(metricsUrl).toBeDefined();
    const metrics = await fetch(metricsUrl!);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('gateway_graphql_operations_total');
    const publicMetrics = await fetch(gateway.url.replace(/\/graphql$/, '/metrics'));
    expect(await publicMetrics.text()).not.toContain('gateway_graphql_operations_total');
  });

  it('refuses a bad configuration with a clear message', async () => {
    const { child, stderr } = runMain({ PORT: 'eighty', GRAPH_API_URL: 'graph.facebook.com', NODE_ENV: 'prod', LOG_LEVEL: 'verbose' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr()).toContain('PORT must be an integer from 0 to 65535, got "eighty"');
    expect(stderr()).toContain('GRAPH_API_URL must be an http(s) URL');
    expect(stderr()).toContain('NODE_ENV must be one of development, production, test, got "prod"');
    expect(stderr()).toContain('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"');
  });

  it('says in one line that PORT is in use, and exits 1', async () => {
    const port = await holdPort();
    const { child, stderr } = runMain({ PORT: String(port), EMULATOR_PORT: '0' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr()).toBe(`PORT ${port} is in use: stop what listens there or set PORT to another port (0: any free port)\n`);
  });

  it('starts the embedded emulator on another port when EMULATOR_PORT is taken, and says so', async () => {
    const port = await holdPort('127.0.0.1');
    const gateway = await startGateway({ EMULATOR_PORT: String(port) });
    const emulatorUrl = /embedded emulator at (http:\/\/127\.0\.0\.1:(\d+))/.exec(gateway.output());
    expect(Number(emulatorUrl![2])).not.toBe(port);
    expect(gateway.output()).toContain(`EMULATOR_PORT ${port} is in use: the embedded emulator listens on ${emulatorUrl![1]} instead`);
    expect((await query(gateway.url, { query: GRAPHIQL_DEFAULT_QUERY })).errors).toBeUndefined();
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

      const exited = once(gateway.child, 'exit');
      gateway.child.kill('SIGTERM');
      const answer = await inFlight;
      // Answered in full, and told to reconnect elsewhere.
      expect(answer.headers.get('connection')).toBe('close');
      expect(
        ((await answer.json()) as { data: { page: { conversations: { edges: unknown[] } } } }).data.page.conversations.edges,
      ).toHaveLength(2);
      expect(await exited).toEqual([0, null]);
      await expect(read(1)).rejects.toThrow();
      expect(gateway.output()).toContain(
        'SIGTERM: shutting down; waiting for 1 request in flight, at most 16 s (SIGTERM again exits at once)',
      );
    } finally {
      await emulator.close();
    }
  });

  it('ends open subscriptions at once instead of waiting for them, and says so', async () => {
    // A grace period longer than this test may last: exiting at all proves the stream did not hold it.
    const gateway = await startGateway({ OPERATION_TIMEOUT_MS: '60000' });
    const events = await subscribe(gateway.url, INBOX_EVENTS);
    const ended = events.next().then(
      () => 'an event',
      (error: Error) => error.message,
    );
    const exited = once(gateway.child, 'exit');
    gateway.child.kill('SIGINT');
    expect(await exited).toEqual([0, null]);
    expect(await ended).toMatch(/the event stream ended|terminated/);
    expect(gateway.output()).toContain('SIGINT: shutting down; ending 1 event stream; no request in flight (SIGINT again exits at once)');
  });

  it('exits at once on a second signal', async () => {
    const emulator = await startEmulator();
    try {
      const gateway = await startGateway({ GRAPH_API_URL: emulator.url, GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage });
      emulator.faults.inject({ kind: 'latency', ms: 30_000 }, { times: 1, match: { path: /\/conversations$/ } });
      const inFlight = fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ page(id: "${DEMO.pages.acme.id}") { conversations(first: 1) { edges { cursor } } } }` }),
      }).catch(() => 'cut');
      await until(() => emulator.log.requestCount > 0, 'the read to reach the emulator');
      const exited = once(gateway.child, 'exit');
      gateway.child.kill('SIGTERM');
      await gateway.said('waiting for 1 request in flight');
      gateway.child.kill('SIGTERM');
      expect(await exited).toEqual([143, null]);
      expect(gateway.output()).toContain('SIGTERM again: exiting now');
      expect(await inFlight).toBe('cut');
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
      // graphql-ws says nothing when a subscription starts listening (after its Graph reads): a message delivered before that is not
      // heard. Each delivery is answered after the event was published, so a listening subscription has it by then; one more try
      // follows only after a generous wait for it, a bounded number of times.
      const heard = events.next();
      for (let attempt = 1; ; attempt += 1) {
        const sent = await fetch(`${emulatorUrl}/_emulator/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ conversationId, text: 'are you there?' }),
        });
        expect(((await sent.json()) as { deliveryStatus: number }).deliveryStatus).toBe(200);
        const listening = await within(1_000, heard, 'the event').then(
          () => true,
          () => false,
        );
        if (listening) break;
        expect(attempt, 'messages sent before the subscription heard one').toBeLessThan(10);
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
      // The grace period is OPERATION_TIMEOUT_MS + 1 s (16 s): the open socket did not hold the exit back. Exiting takes well under
      // a second; 10 s is generous for a busy machine and still short of the grace period.
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(closes).toEqual([1001]);
      expect(gateway.output()).toContain('SIGTERM: shutting down; closing 1 WebSocket; no request in flight (SIGTERM again exits at once)');
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
            query:
              `query ($after: String) { page(id: "${DEMO.pages.acme.id}") { conversations(folder: ${folder}, platform: ${platform}, ` +
              `first: 37, after: $after) { edges { node { graphApiId } } pageInfo { hasNextPage endCursor } } } }`,
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
