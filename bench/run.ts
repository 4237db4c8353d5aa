/**
 * `npm run bench`: upstream calls per operation, throughput and latency against a bare proxy
 * measured in the same run (and against graphql-yoga alone serving the same answer, with each server's CPU time per
 * request), the gateway's peak RSS, a team on one Page, and a team replying. Everything runs on loopback.
 *
 * Environment:
 * - BENCH_SECONDS (default 5): length of each throughput round; BENCH_ROUNDS (default 3): interleaved rounds.
 * - BENCH_TEAM_SECONDS (default 15): length of the team scenarios (reading, and replying).
 * - BENCH_ONLY: run one scenario alone, for quick iteration (no bare proxy baseline then):
 *   `replying` ("a team replying"), `inbox` ("the shipped inbox operation under the team scenario"),
 *   `rolling` ("a rolling restart": needs Redis, REDIS_URL or 127.0.0.1:6379), `agent` ("an agent's inbox").
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type autocannon from 'autocannon';
import { DEMO } from '../src/emulator/index.js';
import {
  ACME,
  ask,
  EMULATOR_LINE,
  type EmulatorStats,
  GATEWAY_ENV,
  GATEWAY_LINE,
  load as loadWith,
  metric,
  peakRssMb,
  post,
  sendCustomerMessage,
  startTeamGateway,
  TEAM_CLIENTS,
  TEAM_SECONDS,
  teamLoad,
  teamRows,
  TOKEN,
  UPSTREAM_LATENCY_MS,
  DELIVERY_EVERY_MS,
  BARE_PATH,
  loadWithCpu,
  Q25,
  startYogaFloor,
} from './support.js';
import { start, stopAll } from './launcher.js';
import { AGENT_DEPTH, AGENT_PAGES, agentInbox } from './agent-inbox.js';
import { REPLYING_AGENTS, teamReplying } from './replying.js';
import { ROLLING_CLIENTS, rollingRestart } from './rolling.js';
import { median, percentile, table } from './stats.js';

const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 10;

const load = (options: autocannon.Options): Promise<autocannon.Result> =>
  loadWith({ connections: CONNECTIONS, duration: DURATION_SECONDS, ...options });

/** What each of the 20 lookups selects. */
const NODE_SELECTION = 'id ... on Conversation { updatedTime participants { name } }';

/**
 * A team on one Page, on one gateway: the default budget, webhooks on, against an emulator that throttles a
 * Page over 2 calls per second and answers in 100 ms.
 */
async function teamOnOnePage(bareReqPerSecond: number): Promise<string[][]> {
  const { emulator, gateway, url: gatewayUrl } = await startTeamGateway();
  const figures = await teamLoad(emulator, [gatewayUrl]);
  return [
    ...teamRows(figures, bareReqPerSecond),
    ['cache hits', String(await metric(gatewayUrl, 'gateway_cache_hits_total')), ''],
    ['whole answers reused', String(await metric(gatewayUrl, 'gateway_cache_answers_reused_total')), ''],
    ['gateway peak RSS', `${(await peakRssMb(gateway.pid!)).toFixed(0)} MB`, '≤ 250 MB'],
  ];
}

/** The shipped operation's variables: the team's inbox of 20 conversations, each with its latest 5 messages. */
const INBOX_VARIABLES = { pageId: ACME, first: 20, messagesFirst: 5 };

/**
 * The shipped inbox operation under the team scenario: operations/inbox.graphql's `Inbox` (what the client ships) read by
 * TEAM_CLIENTS clients from one gateway (default budget, webhooks on, 100 ms upstream, 2 calls per Page per second enforced)
 * while a customer message arrives through the webhook every DELIVERY_EVERY_MS. Counts upstream requests per 1,000 operations.
 */
async function shippedInboxUnderTeam(): Promise<string[][]> {
  const query = await readFile(new URL('../operations/inbox.graphql', import.meta.url), 'utf8');
  const { emulator, gateway, url } = await startTeamGateway();
  const body = JSON.stringify({ query, operationName: 'Inbox', variables: INBOX_VARIABLES });
  const first = (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()) as {
    data: { page: { conversations: { edges: Array<{ node: { graphApiId: string } }> } } };
  };
  const conversations = first.data.page.conversations.edges.map((edge) => edge.node.graphApiId);
  await ask(emulator.child, 'reset');
  const requestsBefore = await metric(url, 'gateway_upstream_requests_total');
  let delivering = true;
  let changes = 0;
  const deliveries = (async () => {
    for (let n = 0; delivering; n += 1) {
      const next = new Promise((resolve) => setTimeout(resolve, DELIVERY_EVERY_MS));
      await sendCustomerMessage(emulator.url, conversations[10 + (n % 10)]!, `bench message ${n}`);
      changes += 1;
      await next;
    }
  })();
  const result = await loadWith({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: TEAM_CLIENTS,
    duration: TEAM_SECONDS,
  });
  delivering = false;
  await deliveries;
  const requests = (await metric(url, 'gateway_upstream_requests_total')) - requestsBefore;
  const stats = await ask<EmulatorStats>(emulator.child, 'stats');
  const operations = result.requests.total;
  return [
    ['measure', 'value', 'target'],
    [`operations served (${TEAM_CLIENTS} clients, ${TEAM_SECONDS} s)`, `${operations} (${result.requests.average.toFixed(0)}/s)`, ''],
    ['failed operations', String(result.errors + result.non2xx), '0'],
    ['changes (webhook deliveries)', String(changes), ''],
    ['upstream requests', String(requests), ''],
    ['upstream requests per 1,000 operations', ((requests * 1000) / Math.max(1, operations)).toFixed(2), ''],
    ['upstream requests per change', (requests / Math.max(1, changes)).toFixed(2), '1'],
    ['Page conversation calls (emulator) / throttled', `${stats.calls} / ${stats.refused}`, '– / 0'],
    ['gateway peak RSS', `${(await peakRssMb(gateway.pid!)).toFixed(0)} MB`, ''],
  ];
}

async function shippedInbox(): Promise<void> {
  console.log(
    `\nThe shipped inbox operation (operations/inbox.graphql, first ${INBOX_VARIABLES.first}, messagesFirst ` +
      `${INBOX_VARIABLES.messagesFirst}) under the team scenario: default budget, webhooks on, 100 ms upstream, a delivery every ` +
      `${DELIVERY_EVERY_MS / 1000} s\n${table(await shippedInboxUnderTeam())}`,
  );
}

async function rolling(): Promise<void> {
  const figures = await rollingRestart();
  console.log(
    `\nA rolling restart: 2 instances sharing Redis, ${ROLLING_CLIENTS} clients behind a balancer following /health/ready; SIGTERM ` +
      `A (SHUTDOWN_DRAIN_SECONDS=2), start A again, then B, ${figures.seconds.toFixed(0)} s\n` +
      table([
        ['measure', 'value', 'target'],
        ['requests served (by A / by B)', `${figures.served} (${figures.servedBy.A} / ${figures.servedBy.B})`, ''],
        ['failed requests', String(figures.failed), '0'],
      ]) +
      (figures.failures.length > 0 ? `\nfirst failures:\n${figures.failures.join('\n')}` : ''),
  );
}

/** One operation's answer with its upstream usage, errors included (a stranger's answers are all errors). */
async function usageOf(url: string, query: string, token: string): Promise<{ calls: number; errors: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-upstream-usage': '1', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { errors?: unknown[]; extensions?: { upstream?: { calls: number } } };
  return { calls: body.extensions?.upstream?.calls ?? 0, errors: body.errors?.length ?? 0, ms: performance.now() - started };
}

/**
 * A stranger's bursts on a Page it cannot read (a Page token of another Page, 40 aliases of the Page's conversations per request),
 * under the default budget against an emulator enforcing 2 calls per second with 100 ms answers, while the Page's own token reads
 * its inbox (no cache: every owner read goes to Graph). Compares the owner's read time with and without the bursts.
 */
async function strangerOnAPage(emulatorUrl: string): Promise<string[][]> {
  const { match } = await start('dist/main.js', { ...GATEWAY_ENV, GRAPH_API_URL: emulatorUrl }, GATEWAY_LINE);
  const url = match[1]!;
  const stranger = DEMO.tokens.bistroPage;
  const alias = (i: number): string => `a${i}: page(id: "${ACME}") { conversations(first: ${i + 1}) { edges { node { id } } } }`;
  const burst = `{ ${Array.from({ length: 40 }, (_, i) => alias(i)).join(' ')} }`;
  const ownerRead = `{ page(id: "${ACME}") { conversations(first: 10) { edges { node { id snippet } } } } }`;
  // Both tokens are known to the gateway already (/me, /me/accounts), as on a running gateway.
  await usageOf(url, '{ viewer { kind } }', stranger);
  await usageOf(url, '{ viewer { kind } }', TOKEN);
  const ownerReads = async (attack: boolean): Promise<{ ms: number[]; strangerCalls: number; strangerErrors: number; bursts: number }> => {
    const ms: number[] = [];
    let strangerCalls = 0;
    let strangerErrors = 0;
    let bursts = 0;
    for (let round = 0; round < 10; round++) {
      const owner = usageOf(url, ownerRead, TOKEN);
      const attacks = attack ? await Promise.all(Array.from({ length: 5 }, () => usageOf(url, burst, stranger))) : [];
      for (const answer of attacks) {
        strangerCalls += answer.calls;
        strangerErrors += answer.errors;
        bursts += 1;
      }
      ms.push((await owner).ms);
      // The owner's reads stay within the Page's 2 calls per second on their own.
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    return { ms, strangerCalls, strangerErrors, bursts };
  };
  const alone = await ownerReads(false);
  const attacked = await ownerReads(true);
  const p50 = (values: number[]): number => percentile(values, 0.5);
  return [
    ['measure', 'value', 'target'],
    ['stranger requests (40 aliases each)', String(attacked.bursts), ''],
    ['stranger aliases answered with an error', String(attacked.strangerErrors), `${attacked.bursts * 40}`],
    ['upstream calls the stranger cost the Page', String(attacked.strangerCalls), '≤ 1 per 30 s'],
    ['owner read p50, alone', `${p50(alone.ms).toFixed(0)} ms`, ''],
    ['owner read p50, during the bursts', `${p50(attacked.ms).toFixed(0)} ms`, ''],
    ['owner read p50, during ÷ alone', `${(p50(attacked.ms) / p50(alone.ms)).toFixed(2)}×`, '≈ 1×'],
  ];
}

/** The processes measured: two emulators (instant, and with Graph-like latency), gateways A and B, and the bare proxy. */
async function startProcesses(): Promise<{
  gateway: ChildProcess;
  gatewayUrl: string;
  defaultUrl: string;
  bareUrl: string;
  barePid: number;
  slowGraphApiUrl: string;
}> {
  const { match: emulatorMatch } = await start('bench/emulator-process.ts', {}, EMULATOR_LINE);
  const graphApiUrl = emulatorMatch[1]!;
  const { match: slowMatch } = await start(
    'bench/emulator-process.ts',
    { BENCH_UPSTREAM_LATENCY_MS: String(UPSTREAM_LATENCY_MS) },
    EMULATOR_LINE,
  );
  const slowGraphApiUrl = slowMatch[1]!;
  // Gateway A: no per-Page rate, to count what each operation costs and to measure the gateway's own speed.
  const { child: gateway, match: gatewayMatch } = await start(
    'dist/main.js',
    { ...GATEWAY_ENV, GRAPH_API_URL: graphApiUrl, GRAPH_PAGE_CALLS_PER_SECOND: '0' },
    GATEWAY_LINE,
  );
  // Gateway B: default configuration (2 calls per Page per second), over an upstream with Graph-like latency.
  const { match: defaultMatch } = await start('dist/main.js', { ...GATEWAY_ENV, GRAPH_API_URL: slowGraphApiUrl }, GATEWAY_LINE);
  const { child: bare, match: bareMatch } = await start(
    'bench/bare-proxy.ts',
    { GRAPH_API_URL: graphApiUrl, GRAPH_ACCESS_TOKEN: TOKEN, BARE_PROXY_PATH: BARE_PATH },
    EMULATOR_LINE,
  );
  return {
    gateway,
    gatewayUrl: gatewayMatch[1]!,
    defaultUrl: defaultMatch[1]!,
    bareUrl: bareMatch[1]!,
    barePid: bare.pid!,
    slowGraphApiUrl,
  };
}

/**
 * 1. Upstream cost per operation, on gateway A (no rate) and B (default budget). A gateway learns who a token is once
 * (/me, /me/accounts) and remembers it: both are warmed up, as a running gateway already would be.
 */
async function upstreamCost(gatewayUrl: string, defaultUrl: string): Promise<string[][]> {
  await post(gatewayUrl, '{ viewer { kind } }');
  await post(defaultUrl, '{ viewer { kind } }');
  const first20 = (await post(gatewayUrl, `{ page(id: "${ACME}") { conversations(first: 20) { edges { node { id } } } } }`)) as {
    data: { page: { conversations: { edges: { node: { id: string } }[] } } };
  };
  const nodeIds = first20.data.page.conversations.edges.map((edge) => edge.node.id);
  const rows: string[][] = [['scenario', 'HTTP requests', 'billed calls', 'naive 1+N', 'default config: requests (time)']];
  for (const scenario of scenariosOf(nodeIds)) {
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
  return rows;
}

/** The operations whose upstream cost is counted. */
function scenariosOf(nodeIds: readonly string[]): Array<{ name: string; query: string; naive: number; token?: string }> {
  return [
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
      query:
        `{ page(id: "${ACME}") { conversations(first: 20) { edges { node { id snippet messages(first: 5) { edges { node { text ` +
        `createdTime from { name } } } } } } } } }`,
      naive: 1 + 20,
    },
    {
      name: '20 node(id:) lookups',
      query: `{ ${nodeIds.map((id, i) => `n${i}: node(id: "${id}") { ${NODE_SELECTION} }`).join(' ')} }`,
      naive: 20,
    },
  ];
}

/**
 * 2. Throughput and latency, gateway A vs the bare proxy, same Graph data, in interleaved rounds so that noise from the
 * machine's neighbours hits every side alike; medians are reported. Beside them, graphql-yoga alone serving gateway A's
 * answer prebuilt (bench/yoga-floor.ts): the most any gateway served by yoga reaches on this machine.
 */
async function throughput(
  gateway: { url: string; pid: number },
  bare: { url: string; pid: number },
): Promise<{ perf: string[][]; bareReqPerSecond: number }> {
  const gatewayUrl = gateway.url;
  const body = JSON.stringify({ query: Q25 });
  const postLoad = { url: gatewayUrl, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
  const getLoad = { url: `${gatewayUrl}?${new URLSearchParams({ query: Q25 })}` };
  const floor = await startYogaFloor(gatewayUrl);
  const floorLoad = { ...postLoad, url: floor.url };
  await load({ url: bare.url, duration: 2 });
  await load({ ...floorLoad, duration: 2 });
  await load({ ...postLoad, duration: 2 });
  type Side = 'bare' | 'floor' | 'post' | 'get';
  type Run = autocannon.Result & { cpuUsPerRequest: number };
  const runs: Record<Side, Run[]> = { bare: [], floor: [], post: [], get: [] };
  const measured = (options: autocannon.Options, pid: number): Promise<Run> =>
    loadWithCpu({ connections: CONNECTIONS, duration: DURATION_SECONDS, ...options }, pid);
  for (let round = 0; round < ROUNDS; round += 1) {
    runs.bare.push(await measured({ url: bare.url }, bare.pid));
    runs.floor.push(await measured(floorLoad, floor.pid));
    runs.post.push(await measured(postLoad, gateway.pid));
    runs.get.push(await measured(getLoad, gateway.pid));
  }
  const ratios = (side: Side, to: Side): number[] => runs[side].map((run, i) => run.requests.average / runs[to][i]!.requests.average);
  const ratio = (side: Side, to: Side): string =>
    side === to
      ? '1.00×'
      : `${median(ratios(side, to)).toFixed(2)}× (rounds: ${ratios(side, to)
          .map((r) => r.toFixed(2))
          .join(', ')})`;
  const line = (name: string, side: Side): string[] => [
    name,
    median(runs[side].map((run) => run.requests.average)).toFixed(0),
    String(median(runs[side].map((run) => run.latency.p50))),
    String(median(runs[side].map((run) => run.latency.p99))),
    String(runs[side].reduce((sum, run) => sum + run.errors + run.non2xx, 0)),
    ratio(side, 'bare'),
    side === 'bare' ? '' : ratio(side, 'floor'),
    median(runs[side].map((run) => run.cpuUsPerRequest)).toFixed(0),
  ];
  const perf = [
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs bare proxy, median', 'vs yoga alone, median', 'server CPU µs per request'],
    line('bare undici proxy (GET)', 'bare'),
    line('graphql-yoga alone, same answer prebuilt (POST)', 'floor'),
    line('gateway, POST', 'post'),
    line('gateway, GET', 'get'),
  ];
  return { perf, bareReqPerSecond: median(runs.bare.map((run) => run.requests.average)) };
}

async function replying(): Promise<void> {
  const rows = await teamReplying();
  console.log(
    `\nA team replying: ${REPLYING_AGENTS} agents reply (1 send in 10 loses its answer) while ${TEAM_CLIENTS} clients read, ` +
      `webhooks on, 100 ms upstream, 2 reads and 300 sends per Page per second (enforced by the emulator), ${TEAM_SECONDS} s\n` +
      table(rows),
  );
}

async function agent(): Promise<void> {
  const rows = await agentInbox();
  console.log(
    `\nAn agent's inbox: one user token reaching ${AGENT_PAGES} Pages with Messenger and Instagram each, ${TEAM_CLIENTS} clients ` +
      `walking Viewer.inbox(first: 20) ${AGENT_DEPTH} pages deep, a webhook delivery on a random Page every ` +
      `${DELIVERY_EVERY_MS / 1000} s, 100 ms upstream, 2 calls per Page per second (enforced by the emulator), ${TEAM_SECONDS} s\n` +
      table(rows),
  );
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'agent') return agent();
  if (process.env.BENCH_ONLY === 'replying') return replying();
  if (process.env.BENCH_ONLY === 'inbox') return shippedInbox();
  if (process.env.BENCH_ONLY === 'rolling') return rolling();
  const { gateway, gatewayUrl, defaultUrl, bareUrl, barePid, slowGraphApiUrl } = await startProcesses();
  const rows = await upstreamCost(gatewayUrl, defaultUrl);
  const { perf, bareReqPerSecond } = await throughput({ url: gatewayUrl, pid: gateway.pid! }, { url: bareUrl, pid: barePid });
  const rss = await peakRssMb(gateway.pid!);
  console.log(`\nUpstream cost per operation\n${table(rows)}`);
  console.log(`\nThroughput, 25-conversation query, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_SECONDS} s\n${table(perf)}`);
  console.log(`\nGateway peak RSS, uncached load (10 clients, budget off): ${rss.toFixed(0)} MB (target ≤ 200 MB)`);

  console.log(
    `\nA stranger on a Page: a token Graph refuses sends 40 aliases of the Page's conversations, 5 requests at a time, while the ` +
      `Page's own token reads (default budget, 100 ms upstream)\n${table(await strangerOnAPage(slowGraphApiUrl))}`,
  );

  const team = await teamOnOnePage(bareReqPerSecond);
  console.log(
    `\nA team on one Page: 10 clients, default budget (2 calls per Page per second, enforced by the emulator), 100 ms upstream, a ` +
      `webhook delivery every ${DELIVERY_EVERY_MS / 1000} s, ${TEAM_SECONDS} s\n${table(team)}`,
  );
  await shippedInbox();
  await agent();
  await rolling();
  await replying();
}

try {
  await main();
} finally {
  stopAll();
}
