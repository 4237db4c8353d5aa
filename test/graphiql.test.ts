/**
 * GraphiQL in a real browser (Debian's Chromium, driven by playwright-core) against the gateway on
 * loopback, with webhooks on: served whole by the gateway (the page asks no other host for anything),
 * opening on the demo query, reading the schema (Docs), running the demo query and a subscription.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/app.js';
import { DEMO } from '../src/emulator/index.js';
import type { GatewayServer } from '../src/http-server.js';
import { GRAPHIQL_ASSETS_PATH } from '../src/plugins/use-graphiql-assets.js';
import { InboxEventBus } from '../src/webhooks/inbox-events.js';
import { createWebhookReceiver, WEBHOOK_PATH } from '../src/webhooks/receiver.js';
import { ACME, serveOnLoopback, startHarness, type Harness } from './support/harness.js';

/** Debian's Chromium (`apt-get install -y chromium`); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Without the networking flags Chromium keeps trying hosts of its own (updates, sync, field trials). */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Longest wait for anything the page does; GraphiQL's 9 MB of script takes a few seconds on a busy machine. */
const WAIT_MS = 15_000;
const VERIFY_TOKEN = 'graphiql-test-verify-token';
/** What the test types into GraphiQL. */
const SUBSCRIPTION = `subscription { inboxEvents(pageId: "${ACME}") { kind text } }`;

let h: Harness;
let bus: InboxEventBus;
let server: GatewayServer;
let origin = '';
let userDataDir = '';
let context: BrowserContext;
let page: Page;
/** Every request the browser made, from the page and its workers. */
const requested: URL[] = [];

/** Chromium starting, from before the gateway comes up; `undefined` when it is not installed. */
let launching: Promise<BrowserContext> | undefined;

beforeAll(async () => {
  if (existsSync(CHROMIUM)) {
    userDataDir = mkdtempSync(join(tmpdir(), 'graphiql-test-'));
    launching = chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_FLAGS,
      // Tall enough for the editor to render every line of the demo query (it renders only the visible ones).
      viewport: { width: 1600, height: 2400 },
    });
    // Awaited by the browser tests; this only keeps a failed launch from being an unhandled rejection meanwhile.
    launching.catch(() => undefined);
  }
  bus = new InboxEventBus();
  h = await startHarness({ emulator: { privacyFiltering: false }, inboxEvents: bus });
  ({ server, origin } = await serveOnLoopback(h.app, {
    webhooks: createWebhookReceiver({ appSecret: DEMO.appSecret, verifyToken: VERIFY_TOKEN, bus }),
  }));
  await h.emulator.webhooks.subscribe(`${origin}${WEBHOOK_PATH}`, VERIFY_TOKEN);
  // The gateway loads GraphiQL's assets on the first request for the page: let that happen while Chromium starts.
  await (await h.app.fetch(`${origin}/graphql`, { headers: { accept: 'text/html' } })).text();
}, 30_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir !== '') rmSync(userDataDir, { recursive: true, force: true });
  await server?.drain(0);
  await h?.close();
});

/** GETs a path of the gateway, as a browser would. */
const get = (path: string, accept = '*/*'): Promise<Response> => Promise.resolve(h.app.fetch(`${origin}${path}`, { headers: { accept } }));

describe('GraphiQL over HTTP', () => {
  it("serves a small page whose every script, style and icon is the gateway's, cacheable forever", async () => {
    const response = await get('/graphql', 'text/html');
    expect(response.headers.get('content-type')).toBe('text/html');
    const html = await response.text();
    expect(html.length).toBeLessThan(5_000);
    const links = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((match) => match[1]!);
    const version = /\/graphql\/graphiql\/([0-9a-f]{16})\/graphiql\.js/.exec(html)![1]!;
    expect(links).toEqual([
      `/graphql/graphiql/${version}/favicon.ico`,
      `/graphql/graphiql/${version}/graphiql.css`,
      `/graphql/graphiql/${version}/graphiql.js`,
    ]);

    const types: Record<string, string> = {};
    for (const name of ['graphiql.js', 'graphiql.css', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js', 'favicon.ico']) {
      const asset = await get(`${GRAPHIQL_ASSETS_PATH}/${version}/${name}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      types[name] = asset.headers.get('content-type')!;
      const body = new Uint8Array(await asset.arrayBuffer());
      // An icon file (ICONDIR: reserved 0, type 1), not the data: URL it came as.
      if (name === 'favicon.ico') expect([...body.subarray(0, 4)]).toEqual([0, 0, 1, 0]);
      else expect(body.byteLength).toBeGreaterThan(100_000);
    }
    expect(types).toEqual({
      'graphiql.js': 'text/javascript; charset=utf-8',
      'graphiql.css': 'text/css; charset=utf-8',
      'editor.worker.js': 'text/javascript; charset=utf-8',
      'json.worker.js': 'text/javascript; charset=utf-8',
      'graphql.worker.js': 'text/javascript; charset=utf-8',
      'favicon.ico': 'image/x-icon',
    });
  });

  it('answers 404 for another version or an unknown file, never caching it', async () => {
    const html = await (await get('/graphql', 'text/html')).text();
    const version = /\/graphql\/graphiql\/([0-9a-f]{16})\//.exec(html)![1]!;
    for (const path of [
      `${GRAPHIQL_ASSETS_PATH}/0000000000000000/graphiql.js`,
      `${GRAPHIQL_ASSETS_PATH}/${version}/secrets.json`,
      `${GRAPHIQL_ASSETS_PATH}/${version}/graphiql.js/x`,
    ]) {
      const response = await get(path);
      expect([path, response.status, response.headers.get('cache-control')]).toEqual([path, 404, 'private, no-store']);
    }
  });
});

/** The text of a Monaco editor: its rendered lines, in order (all of them for these short documents). */
const editorText = async (editor: Locator): Promise<string> =>
  (await editor.locator('.view-line').allTextContents()).join('\n').replace(/\u00a0/g, ' ');
const queryEditor = (): Locator => page.locator('.graphiql-query-editor');
const resultPane = (): Locator => page.locator('.result-window');

describe('GraphiQL in Chromium', () => {
  beforeAll(async () => {
    if (launching === undefined) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (as root), or set CHROMIUM_PATH.`,
      );
    }
    context = await launching;
    context.setDefaultTimeout(WAIT_MS);
    context.on('request', (request) => requested.push(new URL(request.url())));
    page = context.pages()[0] ?? (await context.newPage());
  }, 30_000);

  // The first page load compiles GraphiQL's 5 MB of script: seconds on a busy machine.
  it('opens on the demo query, served wholly by the gateway, even where GraphiQL has stored tabs', { timeout: 45_000 }, async () => {
    // Another GraphiQL on this origin left its tabs behind: GraphiQL alone would reopen them.
    await page.goto(`${origin}/health`);
    await page.evaluate(() => {
      const tab = { id: 'old', hash: null, title: 'Old', query: '{ viewer { id } }', variables: null, headers: null, operationName: null };
      localStorage.setItem('graphiql:tabState', JSON.stringify({ tabs: [{ ...tab, response: null }], activeTabIndex: 0 }));
      localStorage.setItem('graphiql:query', tab.query);
    });

    await page.goto(`${origin}/graphql`);
    await expect.poll(() => editorText(queryEditor()), { timeout: WAIT_MS }).toBe(GRAPHIQL_DEFAULT_QUERY);
    // The demo came in a tab of its own beside the stored one.
    await expect.poll(() => page.locator('.graphiql-tab').allInnerTexts()).toEqual(['Old', 'Inbox']);
  });

  it('lists Query.page in the Docs pane (the schema came through introspection)', async () => {
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByRole('link', { name: 'Query', exact: true }).click({ timeout: WAIT_MS });
    await docs.getByRole('link', { name: 'page', exact: true }).waitFor({ timeout: WAIT_MS });
  });

  it('runs the demo query and shows its edges', async () => {
    await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
    await expect.poll(() => editorText(resultPane()), { timeout: WAIT_MS }).toContain(`"name": "${DEMO.pages.acme.name}"`);
    // Conversations came back as edges.
    expect(await editorText(resultPane())).toMatch(/"edges": \[\s*\{\s*"node":/);
  });

  it('shows a message sent after a subscription typed in the editor started (server-sent events)', async () => {
    await queryEditor().locator('.view-lines').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(SUBSCRIPTION);
    await expect.poll(() => editorText(queryEditor())).toBe(SUBSCRIPTION);
    // GraphiQL parses an edit a moment later: executing sooner sends the new document with the old operation's name (the demo's
    // `Inbox`), which the server refuses, and no subscription starts. The tab takes the new operation's name once it is parsed.
    await expect.poll(() => page.locator('.graphiql-tab').allInnerTexts(), { timeout: WAIT_MS }).toEqual(['Old', '<untitled>']);
    await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
    await expect.poll(() => bus.listenerCount(ACME), { timeout: WAIT_MS }).toBe(1);

    const conversation = h.emulator.store.listConversations(ACME, { platform: 'messenger', folder: 'inbox' })[0]!;
    await h.emulator.webhooks.sendMessage(conversation.id, { text: 'HelloFromChromium' });
    await expect.poll(() => editorText(resultPane()), { timeout: WAIT_MS }).toContain('"text": "HelloFromChromium"');
    expect(await editorText(resultPane())).toContain('"kind": "MESSAGE"');
  });

  it('reopens the tab the user left on a later visit: the demo opens once', async () => {
    // GraphiQL stores its tabs a moment after an edit (a reload sooner finds the old ones, GraphiQL's own way).
    const storedQueries = () =>
      page.evaluate(() =>
        (JSON.parse(localStorage.getItem('graphiql:tabState') ?? '{"tabs":[]}') as { tabs: Array<{ query: string }> }).tabs.map(
          (tab) => tab.query,
        ),
      );
    await expect.poll(storedQueries, { timeout: WAIT_MS }).toEqual(['{ viewer { id } }', SUBSCRIPTION]);
    await page.goto(`${origin}/graphql`);
    await expect.poll(() => editorText(queryEditor()), { timeout: WAIT_MS }).toBe(SUBSCRIPTION);
    // GraphiQL names a tab after its operation; the subscription typed over the demo has no name.
    expect(await page.locator('.graphiql-tab').allInnerTexts()).toEqual(['Old', '<untitled>']);
  });

  it('asked no host but the gateway for anything', () => {
    expect(requested.filter((url) => url.origin !== origin).map(String)).toEqual([]);
    const assets = requested
      .filter((url) => url.pathname.startsWith(`${GRAPHIQL_ASSETS_PATH}/`))
      .map((url) => url.pathname.split('/').pop());
    expect(assets).toEqual(expect.arrayContaining(['graphiql.js', 'graphiql.css', 'graphql.worker.js']));
  });
});
