/**
 * `npm run bench`: upstream calls per operation, throughput and latency against a bare proxy
 * measured in the same run, and the gateway's peak RSS. Everything runs on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';
import { DEMO } from '../src/emulator/index.js';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 10;
const ACME = DEMO.pages.acme.id;
const TOKEN = DEMO.tokens.acmePage;

const children: ChildProcess[] = [];

/** Starts a TypeScript entry point; resolves with the first line matching `pattern`. */
function start(entry: string, env: Record<string, string>, pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  // The gateway runs compiled (`npm run build`), as in production; the helpers run through tsx.
  const args = entry.endsWith('.js') ? [entry] : ['--import', 'tsx', entry];
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) resolve({ child, match });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${output}`)));
  });
}

const Q25 = `query Inbox25 { page(id: "${ACME}") { conversations(first: 25) { edges { cursor node { id updatedTime snippet participants { graphApiId name username } } } pageInfo { hasNextPage endCursor } } } }`;
const BARE_PATH = `/v25.0/${ACME}/conversations?${new URLSearchParams({ fields: 'id,participants,snippet,updated_time', limit: '25' })}`;

interface Usage {
  requests: number;
  calls: number;
  coalesced: number;
}

async function post(
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

async function metric(gatewayUrl: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gatewayUrl))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

async function load(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: DURATION_SECONDS, ...options }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const UPSTREAM_LATENCY_MS = 100;
const EMULATOR_LINE = /\{"url":"([^"]+)"\}/;
const GATEWAY_LINE = /GraphQL gateway on (http:\/\/localhost:\d+\/graphql)/;
const GATEWAY_ENV = { GRAPH_ACCESS_TOKEN: TOKEN, NODE_ENV: 'production', PORT: '0', CURSOR_SECRET: 'benchmark-cursor-secret-0123456789' };

/** What an emulator process counted since it was last reset. */
interface EmulatorStats {
  calls: number;
  refused: number;
  busiestSecond: number;
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send(message);
  });
}

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
};

const TEAM_SECONDS = Number(process.env.BENCH_TEAM_SECONDS ?? 15);
const DELIVERY_EVERY_MS = 1_500;
const TEAM_QUERY = `query TeamInbox { page(id: "${ACME}") { conversations(first: 20) { fetchedAt edges { node { graphApiId updatedTime snippet unreadCount participants { graphApiId name } } } } } }`;

/**
 * A team on one Page: 10 clients read the same 20-conversation inbox under the default budget, against an
 * emulator that throttles a Page over 2 calls per second and answers in 100 ms, while a customer message
 * arrives through the webhook every 1.5 s. Freshness is the time from the delivery being answered to the
 * first read showing that conversation on top with its new snippet.
 */
async function teamOnOnePage(bareReqPerSecond: number): Promise<string[][]> {
  const { child: emulator, match } = await start(
    'bench/emulator-process.ts',
    { BENCH_UPSTREAM_LATENCY_MS: String(UPSTREAM_LATENCY_MS), BENCH_CALLS_PER_SECOND: '2', BENCH_APP_SECRET: DEMO.appSecret },
    EMULATOR_LINE,
  );
  const emulatorUrl = match[1]!;
  const verifyToken = 'bench-verify-token';
  const { child: gateway, match: gatewayMatch } = await start(
    'dist/main.js',
    { ...GATEWAY_ENV, GRAPH_API_URL: emulatorUrl, GRAPH_APP_SECRET: DEMO.appSecret, WEBHOOK_VERIFY_TOKEN: verifyToken },
    GATEWAY_LINE,
  );
  const gatewayUrl = gatewayMatch[1]!;
  const subscribed = await fetch(`${emulatorUrl}/_emulator/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callbackUrl: new URL('/webhooks/meta', gatewayUrl).href, verifyToken }),
  });
  if (!subscribed.ok) throw new Error(`subscribing the gateway failed: ${await subscribed.text()}`);
  type Inbox = { data: { page: { conversations: { edges: Array<{ node: { graphApiId: string; snippet: string | null } }> } } } };
  const read = async (): Promise<Inbox['data']['page']['conversations']['edges']> =>
    ((await post(gatewayUrl, TEAM_QUERY)) as Inbox).data.page.conversations.edges;
  const conversations = (await read()).map((edge) => edge.node.graphApiId);
  await ask(emulator, 'reset');
  const callsBefore = await metric(gatewayUrl, 'gateway_upstream_calls_total');

  const freshness: number[] = [];
  let delivering = true;
  const deliveries = (async () => {
    for (let n = 0; delivering; n += 1) {
      const next = new Promise((resolve) => setTimeout(resolve, DELIVERY_EVERY_MS));
      // A customer of the inbox's second half writes: their conversation must jump to the top.
      const conversationId = conversations[10 + (n % 10)]!;
      const text = `bench message ${n}`;
      const sent = await fetch(`${emulatorUrl}/_emulator/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ conversationId, text }),
      });
      if (!sent.ok) throw new Error(`sending a message failed: ${await sent.text()}`);
      const answeredAt = performance.now();
      for (;;) {
        const [top] = await read();
        if (top?.node.graphApiId === conversationId && top.node.snippet === text) break;
      }
      freshness.push(performance.now() - answeredAt);
      await next;
    }
  })();
  const team = await load({
    url: gatewayUrl,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: TEAM_QUERY }),
    duration: TEAM_SECONDS,
  });
  delivering = false;
  await deliveries;
  const stats = await ask<EmulatorStats>(emulator, 'stats');
  const calls = (await metric(gatewayUrl, 'gateway_upstream_calls_total')) - callsBefore;
  const hits = await metric(gatewayUrl, 'gateway_cache_hits_total');
  const rss = await peakRssMb(gateway.pid!);
  return [
    ['measure', 'value', 'target'],
    ['served req/s (10 clients)', team.requests.average.toFixed(0), ''],
    ['vs bare proxy', `${(team.requests.average / bareReqPerSecond).toFixed(2)}×`, '≥ 0.5×'],
    ['errors', String(team.errors + team.non2xx), '0'],
    [
      `freshness after a delivery, p50 / max (${freshness.length} deliveries)`,
      `${percentile(freshness, 0.5).toFixed(0)} / ${Math.max(...freshness).toFixed(0)} ms`,
      'max ≤ 1,500 ms',
    ],
    ['upstream calls per Page, busiest second', String(stats.busiestSecond), '≤ 2'],
    ['upstream calls in all (gateway / emulator)', `${calls} / ${stats.calls}`, ''],
    ['throttled calls', String(stats.refused), '0'],
    ['cache hits', String(hits), ''],
    ['gateway peak RSS', `${rss.toFixed(0)} MB`, '≤ 250 MB'],
  ];
}

async function main(): Promise<void> {
  const { match: emulatorMatch } = await start('bench/emulator-process.ts', {}, EMULATOR_LINE);
  const graphApiUrl = emulatorMatch[1]!;
  const { match: slowMatch } = await start(
    'bench/emulator-process.ts',
    { BENCH_UPSTREAM_LATENCY_MS: String(UPSTREAM_LATENCY_MS) },
    EMULATOR_LINE,
  );
  const slowGraphApiUrl = slowMatch[1]!;
  const gatewayEnv = GATEWAY_ENV;
  const gatewayLine = GATEWAY_LINE;
  // Gateway A: no per-Page rate, to count what each operation costs and to measure the gateway's own speed.
  const { child: gateway, match: gatewayMatch } = await start(
    'dist/main.js',
    { ...gatewayEnv, GRAPH_API_URL: graphApiUrl, GRAPH_PAGE_CALLS_PER_SECOND: '0' },
    gatewayLine,
  );
  const gatewayUrl = gatewayMatch[1]!;
  // Gateway B: default configuration (2 calls per Page per second), over an upstream with Graph-like latency.
  const { match: defaultMatch } = await start('dist/main.js', { ...gatewayEnv, GRAPH_API_URL: slowGraphApiUrl }, gatewayLine);
  const defaultUrl = defaultMatch[1]!;
  const { match: bareMatch } = await start(
    'bench/bare-proxy.ts',
    { GRAPH_API_URL: graphApiUrl, GRAPH_ACCESS_TOKEN: TOKEN, BARE_PROXY_PATH: BARE_PATH },
    EMULATOR_LINE,
  );
  const bareUrl = bareMatch[1]!;

  // 1. Upstream cost per operation. A gateway learns who a token is once (/me, /me/accounts) and
  // remembers it: warm both up, as a running gateway already would be.
  await post(gatewayUrl, '{ viewer { kind } }');
  await post(defaultUrl, '{ viewer { kind } }');
  const first20 = (await post(gatewayUrl, `{ page(id: "${ACME}") { conversations(first: 20) { edges { node { id } } } } }`)) as {
    data: { page: { conversations: { edges: { node: { id: string } }[] } } };
  };
  const nodeIds = first20.data.page.conversations.edges.map((edge) => edge.node.id);
  const scenarios: Array<{ name: string; query: string; naive: number; token?: string }> = [
    { name: '25 conversations with participants', query: Q25, naive: 1 + 25 },
    {
      name: '3 aliased page fields (2 Pages, folders, user token)',
      query: `{ inbox: page(id: "${ACME}") { conversations(folder: INBOX, first: 10) { edges { node { id } } } }
               other: page(id: "${ACME}") { conversations(folder: OTHER, first: 10) { edges { node { id } } } }
               bistro: page(id: "${DEMO.pages.bistro.id}") { conversations(first: 10) { edges { node { id } } } } }`,
      naive: 3,
      token: DEMO.tokens.alice,
    },
    {
      name: '20 conversations × first 5 messages',
      query: `{ page(id: "${ACME}") { conversations(first: 20) { edges { node { id snippet messages(first: 5) { edges { node { text createdTime from { name } } } } } } } } }`,
      naive: 1 + 20,
    },
    {
      name: '20 node(id:) lookups',
      query: `{ ${nodeIds.map((id, i) => `n${i}: node(id: "${id}") { id ... on Conversation { updatedTime participants { name } } }`).join(' ')} }`,
      naive: 20,
    },
  ];
  const rows: string[][] = [['scenario', 'HTTP requests', 'billed calls', 'naive 1+N', 'default config: requests (time)']];
  for (const scenario of scenarios) {
    // The user token's identity is learned once per token and remembered; warm it up first.
    if (scenario.token) {
      await post(gatewayUrl, '{ viewer { kind } }', scenario.token);
      await post(defaultUrl, '{ viewer { kind } }', scenario.token);
    }
    const { extensions } = await post(gatewayUrl, scenario.query, scenario.token);
    const started = performance.now();
    const limited = await post(defaultUrl, scenario.query, scenario.token);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    rows.push([
      scenario.name,
      String(extensions!.upstream!.requests),
      String(extensions!.upstream!.calls),
      String(scenario.naive),
      `${limited.extensions!.upstream!.requests} (${seconds} s)`,
    ]);
  }
  const before = await metric(defaultUrl, 'gateway_upstream_requests_total');
  const callsBefore = await metric(defaultUrl, 'gateway_upstream_calls_total');
  await Promise.all(Array.from({ length: 20 }, () => post(defaultUrl, Q25)));
  rows.push([
    `20 concurrent clients, same query (default config, ${UPSTREAM_LATENCY_MS} ms upstream)`,
    String((await metric(defaultUrl, 'gateway_upstream_requests_total')) - before),
    String((await metric(defaultUrl, 'gateway_upstream_calls_total')) - callsBefore),
    String(20 * 26),
    '',
  ]);

  // 2. Throughput and latency, gateway vs bare proxy, same Graph data, in interleaved rounds so that
  // noise from the machine's neighbours hits both sides alike; medians are reported.
  const body = JSON.stringify({ query: Q25 });
  const postLoad = { url: gatewayUrl, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
  const getLoad = { url: `${gatewayUrl}?${new URLSearchParams({ query: Q25 })}` };
  await load({ url: bareUrl, duration: 2 });
  await load({ ...postLoad, duration: 2 });
  const runs: Record<'bare' | 'post' | 'get', autocannon.Result[]> = { bare: [], post: [], get: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    runs.bare.push(await load({ url: bareUrl }));
    runs.post.push(await load(postLoad));
    runs.get.push(await load(getLoad));
  }
  const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  const ratios = (side: 'post' | 'get'): number[] => runs[side].map((run, i) => run.requests.average / runs.bare[i]!.requests.average);
  const rss = await peakRssMb(gateway.pid!);

  const table = (data: string[][]): string => {
    const widths = data[0]!.map((_, col) => Math.max(...data.map((row) => row[col]!.length)));
    return data
      .map(
        (row, i) =>
          `| ${row.map((cell, col) => cell.padEnd(widths[col]!)).join(' | ')} |${i === 0 ? `\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|` : ''}`,
      )
      .join('\n');
  };
  console.log(`\nUpstream cost per operation\n${table(rows)}`);
  const line = (name: string, side: 'bare' | 'post' | 'get'): string[] => [
    name,
    median(runs[side].map((run) => run.requests.average)).toFixed(0),
    String(median(runs[side].map((run) => run.latency.p50))),
    String(median(runs[side].map((run) => run.latency.p99))),
    String(runs[side].reduce((sum, run) => sum + run.errors + run.non2xx, 0)),
    side === 'bare'
      ? '1.00×'
      : `${median(ratios(side)).toFixed(2)}× (rounds: ${ratios(side)
          .map((r) => r.toFixed(2))
          .join(', ')})`,
  ];
  const perf = [
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs bare proxy, median'],
    line('bare undici proxy (GET)', 'bare'),
    line('gateway, POST', 'post'),
    line('gateway, GET', 'get'),
  ];
  console.log(`\nThroughput, 25-conversation query, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_SECONDS} s\n${table(perf)}`);
  console.log(`\nGateway peak RSS: ${rss.toFixed(0)} MB (target < 250 MB)`);

  const team = await teamOnOnePage(median(runs.bare.map((run) => run.requests.average)));
  console.log(
    `\nA team on one Page: 10 clients, default budget (2 calls per Page per second, enforced by the emulator), 100 ms upstream, a webhook delivery every ${DELIVERY_EVERY_MS / 1000} s, ${TEAM_SECONDS} s\n${table(team)}`,
  );
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
}
