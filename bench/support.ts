/**
 * What `npm run bench` and `npm run fleet` share: processes on loopback, load from autocannon, the
 * emulator's own count of what it was asked, and the "team on one Page" load.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { DEMO } from '../src/emulator/index.js';
import { GATEWAY_READY_LINE } from '../test/support/ready-line.js';
import { PRODUCTION_NODE_OPTIONS, start } from './launcher.js';
import { percentile } from './stats.js';

export const ACME = DEMO.pages.acme.id;
export const TOKEN = DEMO.tokens.acmePage;
export const UPSTREAM_LATENCY_MS = 100;
export const EMULATOR_LINE = /\{"url":"([^"]+)"\}/;
/** The gateway's ready line; group 1 is its GraphQL URL. */
export const GATEWAY_LINE = GATEWAY_READY_LINE;
export const GATEWAY_ENV = {
  GRAPH_ACCESS_TOKEN: TOKEN,
  NODE_ENV: 'production',
  // No balancer in front to wait for: stop at once (the launcher kills a process still running 5 s after SIGTERM).
  SHUTDOWN_DRAIN_SECONDS: '0',
  PORT: '0',
  CURSOR_SECRET: 'benchmark-cursor-secret-0123456789',
  // Its heap bound, as `npm run start:prod` sets it: the memory figures are those of the production process.
  NODE_OPTIONS: PRODUCTION_NODE_OPTIONS,
};

/** Starts an emulator process; `options` become its BENCH_* environment. */
export async function startEmulatorProcess(env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const { child, match } = await start('bench/emulator-process.ts', env, EMULATOR_LINE);
  return { child, url: match[1]! };
}

export interface Usage {
  requests: number;
  calls: number;
  coalesced: number;
}

export async function post(
  url: string,
  query: string,
  token?: string,
): Promise<{ data?: unknown; errors?: unknown[]; extensions?: { upstream?: Usage } }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-upstream-usage': '1', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown[]; extensions?: { upstream?: Usage } };
  if (body.errors) throw new Error(`benchmark query failed: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body;
}

export async function metric(gatewayUrl: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gatewayUrl))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

export async function load(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** What an emulator process counted since it was last reset. */
export interface EmulatorStats {
  calls: number;
  refused: number;
  busiestSecond: number;
}

/** Asks a process over IPC and resolves with its answer. */
export function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send(message);
  });
}

export const TEAM_SECONDS = Number(process.env.BENCH_TEAM_SECONDS ?? 15);
export const TEAM_CLIENTS = 10;
export const DELIVERY_EVERY_MS = 1_500;
/** What a team member reads: the inbox's first 20 conversations, their snippet and participants. */
export const TEAM_QUERY =
  `query TeamInbox { page(id: "${ACME}") { conversations(first: 20) { fetchedAt edges { node { graphApiId updatedTime ` +
  `snippet unreadCount participants { graphApiId name } } } } } }`;
/** The uncached throughput query of `npm run bench` and bench/ab.ts: 25 conversations with their participants. */
export const Q25 =
  `query Inbox25 { page(id: "${ACME}") { conversations(first: 25) { edges { cursor node { id updatedTime snippet ` +
  `participants { graphApiId name username } } } pageInfo { hasNextPage endCursor } } } }`;
/** The Graph read the bare proxy makes for each request: the page of conversations {@link Q25} is answered from. */
export const BARE_PATH = `/v25.0/${ACME}/conversations?${new URLSearchParams({
  fields: 'id,participants,snippet,updated_time',
  limit: '25',
})}`;

/**
 * Starts bench/yoga-floor.ts, serving {@link Q25} with the answer `gatewayUrl` gives it now (read once here): what
 * graphql-yoga alone costs for that answer. Resolves with its GraphQL URL.
 */
export async function startYogaFloor(gatewayUrl: string): Promise<{ url: string; pid: number }> {
  const answer = await (
    await fetch(gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: Q25 }) })
  ).text();
  if (!answer.startsWith('{"data":{"page":{')) throw new Error(`the gateway did not answer the benchmark query: ${answer.slice(0, 300)}`);
  const file = join(await mkdtemp(join(tmpdir(), 'yoga-floor-')), 'answer.json');
  await writeFile(file, answer);
  const { child, match } = await start(
    'bench/yoga-floor.ts',
    { NODE_ENV: 'production', NODE_OPTIONS: PRODUCTION_NODE_OPTIONS, YOGA_FLOOR_ANSWER_FILE: file },
    EMULATOR_LINE,
  );
  return { url: match[1]!, pid: child.pid! };
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time a process has used so far (user and system, all its threads), in ms: what a server spends per request under a
 * load is the difference over the load ÷ its requests, a figure the machine's other work slows down far less than req/s.
 */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** `load(options)`, with the CPU the process `pid` spent per request meanwhile, in µs. */
export async function loadWithCpu(options: autocannon.Options, pid: number): Promise<autocannon.Result & { cpuUsPerRequest: number }> {
  const before = cpuMsOf(pid);
  const result = await load(options);
  return { ...result, cpuUsPerRequest: ((cpuMsOf(pid) - before) * 1000) / Math.max(1, result.requests.total) };
}

export const WEBHOOK_VERIFY_TOKEN = 'bench-verify-token';

/** What the team load measured. */
export interface TeamFigures {
  servedPerSecond: number;
  errors: number;
  /** Milliseconds from a delivery being answered until every gateway showed its conversation on top with the new snippet. */
  freshness: number[];
  emulator: EmulatorStats;
}

/**
 * A customer's message through the emulator's `POST /_emulator/messages` (delivered to the subscribed gateway's webhook before
 * it answers); throws when the emulator refused it. Resolves with the emulator's answer (`deliveryStatus`: the webhook's HTTP status).
 */
export async function sendCustomerMessage(
  emulatorUrl: string,
  conversationId: string,
  text: string,
): Promise<{ deliveryStatus?: number | null }> {
  const sent = await fetch(`${emulatorUrl}/_emulator/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ conversationId, text }),
  });
  if (!sent.ok) throw new Error(`sending a message failed: ${await sent.text()}`);
  return (await sent.json()) as { deliveryStatus?: number | null };
}

/**
 * A team on one Page: `TEAM_CLIENTS` clients (spread over `gateways`) read the same 20-conversation inbox
 * while a customer message arrives through the webhook (delivered to the first gateway, which the emulator
 * must be subscribed to) every 1.5 s.
 */
export async function teamLoad(emulator: { child: ChildProcess; url: string }, gateways: readonly string[]): Promise<TeamFigures> {
  type Inbox = { data: { page: { conversations: { edges: Array<{ node: { graphApiId: string; snippet: string | null } }> } } } };
  // A refused read (a throttled Page) shows nothing yet: ask again.
  const topOf = async (gateway: string) =>
    ((await post(gateway, TEAM_QUERY).catch(() => undefined)) as Inbox | undefined)?.data.page.conversations.edges[0]?.node;
  const conversations = ((await post(gateways[0]!, TEAM_QUERY)) as Inbox).data.page.conversations.edges.map((edge) => edge.node.graphApiId);
  // Warm every gateway (alone, a throttled one answers with errors: that is what the comparison shows).
  for (const gateway of gateways) await post(gateway, TEAM_QUERY).catch(() => undefined);
  await ask(emulator.child, 'reset');

  const freshness: number[] = [];
  let delivering = true;
  const deliveries = (async () => {
    for (let n = 0; delivering; n += 1) {
      const next = new Promise((resolve) => setTimeout(resolve, DELIVERY_EVERY_MS));
      // A customer of the inbox's second half writes: their conversation must jump to the top.
      const conversationId = conversations[10 + (n % 10)]!;
      const text = `bench message ${n}`;
      await sendCustomerMessage(emulator.url, conversationId, text);
      const answeredAt = performance.now();
      await Promise.all(
        gateways.map(async (gateway) => {
          for (;;) {
            const top = await topOf(gateway);
            if (top?.graphApiId === conversationId && top.snippet === text) return;
          }
        }),
      );
      freshness.push(performance.now() - answeredAt);
      await next;
    }
  })();
  const body = JSON.stringify({ query: TEAM_QUERY });
  const results = await Promise.all(
    gateways.map((url, i) =>
      load({
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duration: TEAM_SECONDS,
        // The clients spread as evenly as they go.
        connections: Math.floor(TEAM_CLIENTS / gateways.length) + (i < TEAM_CLIENTS % gateways.length ? 1 : 0),
      }),
    ),
  );
  delivering = false;
  await deliveries;
  return {
    servedPerSecond: results.reduce((sum, result) => sum + result.requests.average, 0),
    errors: results.reduce((sum, result) => sum + result.errors + result.non2xx, 0),
    freshness,
    emulator: await ask<EmulatorStats>(emulator.child, 'stats'),
  };
}

/** Subscribes a gateway's webhook callback to an emulator process (the handshake runs first). */
export async function subscribeWebhooks(emulatorUrl: string, gatewayUrl: string): Promise<void> {
  const subscribed = await fetch(`${emulatorUrl}/_emulator/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callbackUrl: new URL('/webhooks/meta', gatewayUrl).href, verifyToken: WEBHOOK_VERIFY_TOKEN }),
  });
  if (!subscribed.ok) throw new Error(`subscribing the gateway failed: ${await subscribed.text()}`);
}

/**
 * The team scenarios' setup: an emulator process answering in UPSTREAM_LATENCY_MS and throttling a Page over 2 calls per
 * second (with `emulatorEnv` besides), one gateway on it with webhooks on, subscribed to its deliveries.
 */
export async function startTeamGateway(
  emulatorEnv: Record<string, string> = {},
): Promise<{ emulator: { child: ChildProcess; url: string }; gateway: ChildProcess; url: string }> {
  const emulator = await startEmulatorProcess({
    BENCH_UPSTREAM_LATENCY_MS: String(UPSTREAM_LATENCY_MS),
    BENCH_CALLS_PER_SECOND: '2',
    BENCH_APP_SECRET: DEMO.appSecret,
    ...emulatorEnv,
  });
  const { child: gateway, match } = await start(
    'dist/main.js',
    { ...GATEWAY_ENV, GRAPH_API_URL: emulator.url, GRAPH_APP_SECRET: DEMO.appSecret, WEBHOOK_VERIFY_TOKEN },
    GATEWAY_LINE,
  );
  const url = match[1]!;
  await subscribeWebhooks(emulator.url, url);
  return { emulator, gateway, url };
}

/** The team figures as table rows against their targets. */
export function teamRows(figures: TeamFigures, bareReqPerSecond: number | undefined): string[][] {
  return [
    ['measure', 'value', 'target'],
    [`served req/s (${TEAM_CLIENTS} clients)`, figures.servedPerSecond.toFixed(0), ''],
    ...(bareReqPerSecond === undefined ? [] : [['vs bare proxy', `${(figures.servedPerSecond / bareReqPerSecond).toFixed(2)}×`, '≥ 0.5×']]),
    ['errors', String(figures.errors), '0'],
    [
      `freshness after a delivery, p50 / max (${figures.freshness.length} deliveries)`,
      `${percentile(figures.freshness, 0.5).toFixed(0)} / ${Math.max(...figures.freshness).toFixed(0)} ms`,
      'max ≤ 1,500 ms',
    ],
    ['upstream calls per Page, busiest second', String(figures.emulator.busiestSecond), '≤ 2'],
    ['upstream calls in all', String(figures.emulator.calls), ''],
    ['throttled calls', String(figures.emulator.refused), '0'],
  ];
}
