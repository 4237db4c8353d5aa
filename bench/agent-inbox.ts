/**
 * "An agent's inbox": one user token reaching AGENT_PAGES Pages with Messenger and Instagram each (the emulator's brand
 * world, seed/brand.ts), read through `Viewer.inbox` by TEAM_CLIENTS clients paging AGENT_DEPTH pages deep, over and
 * over, while a customer writes on a random Page's conversation every DELIVERY_EVERY_MS (through the webhook). Same
 * upstream as the team scenarios: 100 ms answers, 2 calls per Page per second enforced by the emulator.
 */
import { BRAND } from '../src/emulator/index.js';
import { start } from './launcher.js';
import {
  ask,
  DELIVERY_EVERY_MS,
  EMULATOR_LINE,
  type EmulatorStats,
  load,
  startEmulatorProcess,
  sendCustomerMessage,
  startTeamGateway,
  TEAM_CLIENTS,
  TEAM_SECONDS,
} from './support.js';
import { percentile } from './stats.js';

export const AGENT_PAGES = 5;
export const AGENT_DEPTH = 5;
const PAGE_SIZE = 20;
const QUERY =
  'query AgentInbox($after: String) { viewer { inbox(first: 20, after: $after) { edges { node { graphApiId updatedTime snippet ' +
  'platform page { graphApiId } } } pageInfo { hasNextPage endCursor } missingSources { pageId code } } } }';
/** What the bare proxy reads: one Page's 20 newest Messenger conversations, the same fields. */
const BARE_PATH = `/v25.0/${BRAND.pageIdOf(1)}/conversations?${new URLSearchParams({ fields: 'id,updated_time,snippet', limit: '20' })}`;

interface Edge {
  node: { graphApiId: string; snippet: string | null; platform: string; page: { graphApiId: string } };
}
interface InboxAnswer {
  data?: { viewer: { inbox: { edges: Edge[]; pageInfo: { endCursor: string | null }; missingSources: unknown[] } } };
  errors?: unknown[];
  extensions?: { upstream?: { calls: number } };
}

async function inboxPage(url: string, after: string | null): Promise<InboxAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-upstream-usage': '1', authorization: `Bearer ${BRAND.token}` },
    body: JSON.stringify({ query: QUERY, variables: { after } }),
  });
  return (await response.json()) as InboxAnswer;
}

/** One walk `AGENT_DEPTH` pages deep: each page's upstream calls and conversations; throws on an error or a missing source. */
async function walk(url: string): Promise<{ calls: number[]; edges: Edge[] }> {
  const calls: number[] = [];
  const edges: Edge[] = [];
  let after: string | null = null;
  for (let page = 0; page < AGENT_DEPTH; page += 1) {
    const answer = await inboxPage(url, after);
    const inbox = answer.data?.viewer.inbox;
    if (answer.errors !== undefined || inbox === undefined || inbox.missingSources.length > 0) {
      throw new Error(`merged inbox page ${page + 1} failed: ${JSON.stringify(answer).slice(0, 500)}`);
    }
    calls.push(answer.extensions?.upstream?.calls ?? 0);
    edges.push(...inbox.edges);
    after = inbox.pageInfo.endCursor;
  }
  return { calls, edges };
}

/** Requests per second of the bare proxy reading one Page of an instant emulator, TEAM_CLIENTS connections. */
async function bareProxyRate(): Promise<number> {
  const emulator = await startEmulatorProcess({ BENCH_BRAND_PAGES: String(AGENT_PAGES) });
  const { match } = await start(
    'bench/bare-proxy.ts',
    { GRAPH_API_URL: emulator.url, GRAPH_ACCESS_TOKEN: BRAND.pageTokenOf(1), BARE_PROXY_PATH: BARE_PATH },
    EMULATOR_LINE,
  );
  await load({ url: match[1]!, duration: 2, connections: TEAM_CLIENTS });
  return (await load({ url: match[1]!, duration: 5, connections: TEAM_CLIENTS })).requests.average;
}

/**
 * Milliseconds until the merged first page shows `conversationId` (from deep in the inbox: each is written to once) on top,
 * with `text` as its snippet on Messenger (Graph has no `snippet` on Instagram).
 */
async function freshnessOf(url: string, conversationId: string, text: string, since: number): Promise<number> {
  for (;;) {
    const top = (await inboxPage(url, null).catch(() => undefined))?.data?.viewer.inbox.edges[0]?.node;
    if (top?.graphApiId === conversationId && (top.platform === 'INSTAGRAM' || top.snippet === text)) return performance.now() - since;
  }
}

/** Runs the scenario and returns its report rows. */
export async function agentInbox(): Promise<string[][]> {
  const bareReqPerSecond = await bareProxyRate();
  const { emulator, url } = await startTeamGateway({ BENCH_BRAND_PAGES: String(AGENT_PAGES) });
  // Who the token is (/me, /me/accounts) is learned once and remembered, as a running gateway already would have; then
  // a second for the Pages' budgets to refill.
  await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BRAND.token}` },
    body: JSON.stringify({ query: '{ viewer { kind pages { graphApiId } } }' }),
  });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const cold = await walk(url);
  const warm = await inboxPage(url, null);
  const deep = cold.edges.slice(PAGE_SIZE * 2);
  await ask(emulator.child, 'reset');

  const freshness: number[] = [];
  let running = true;
  const deliveries = (async () => {
    for (let n = 0; running; n += 1) {
      const next = new Promise((resolve) => setTimeout(resolve, DELIVERY_EVERY_MS));
      const [{ node: conversation }] = deep.splice(Math.floor(Math.random() * deep.length), 1) as [Edge];
      const text = `agent bench message ${n}`;
      await sendCustomerMessage(emulator.url, conversation.graphApiId, text);
      freshness.push(await freshnessOf(url, conversation.graphApiId, text, performance.now()));
      await next;
    }
  })();
  const startedAt = performance.now();
  let pagesServed = 0;
  let failures = 0;
  const clients = Array.from({ length: TEAM_CLIENTS }, async () => {
    while (performance.now() - startedAt < TEAM_SECONDS * 1_000) {
      try {
        await walk(url);
        pagesServed += AGENT_DEPTH;
      } catch {
        failures += 1;
      }
    }
  });
  await Promise.all(clients);
  const seconds = (performance.now() - startedAt) / 1_000;
  running = false;
  await deliveries;
  const stats = await ask<EmulatorStats>(emulator.child, 'stats');
  const perSecond = pagesServed / seconds;
  const deeper = cold.calls.slice(1);
  return [
    ['measure', 'value', 'target'],
    [`merged pages served per second (${TEAM_CLIENTS} clients, ${AGENT_DEPTH} pages deep)`, perSecond.toFixed(0), ''],
    ['bare proxy reading one Page, req/s', bareReqPerSecond.toFixed(0), ''],
    ['vs bare proxy', `${(perSecond / bareReqPerSecond).toFixed(2)}×`, ''],
    ['failed walks (an error or a missing source)', String(failures), '0'],
    ['upstream calls, first page cold', String(cold.calls[0]), `≤ ${AGENT_PAGES * 2}`],
    ['upstream calls, first page warm', String(warm.extensions?.upstream?.calls ?? 0), '0'],
    [`upstream calls, pages 2–${AGENT_DEPTH} first read (each)`, deeper.join(', '), ''],
    ['upstream calls per Page, busiest second', String(stats.busiestSecond), '≤ 2'],
    ['upstream calls in all / throttled', `${stats.calls} / ${stats.refused}`, '– / 0'],
    [
      `freshness after a delivery, p50 / max (${freshness.length} deliveries)`,
      `${percentile(freshness, 0.5).toFixed(0)} / ${Math.max(...freshness).toFixed(0)} ms`,
      '',
    ],
  ];
}
