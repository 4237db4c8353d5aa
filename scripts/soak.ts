/**
 * `npm run soak`: minutes of mixed GraphQL load at concurrency 50 against the compiled gateway, over
 * an emulator that enforces Meta's 2 calls per Page per second and has faults injected at random.
 * Prints what was served, errors by code, unexpected errors (must be 0), upstream calls per Page per
 * second (must stay within the configured rate), RSS over time (no growth), and whether the process
 * crashed or logged an unhandled rejection. Exits non-zero when any check fails. Loopback only.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { DEMO, startEmulator, type Fault } from '../src/emulator/index.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 50);
const CALLS_PER_SECOND = 2;
const REQUEST_TIMEOUT_MS = 30_000;
const EXPECTED_CODES = new Set([
  'GRAPH_RATE_LIMITED',
  'GRAPH_UNAVAILABLE',
  'GRAPH_TIMEOUT',
  'GRAPH_TOKEN_EXPIRED',
  'GRAPH_TOKEN_INVALID',
  'GRAPH_PERMISSION_DENIED',
  'GRAPH_INVALID_PARAMETER',
  'GRAPH_NOT_FOUND',
  'BAD_CURSOR',
  'INVALID_PAGINATION',
  'QUERY_TOO_COSTLY',
  'CURSOR_EXPIRED',
  'OPERATION_TIMEOUT',
]);

// A small seeded PRNG (mulberry32), so a run can be repeated.
let seed = Number(process.env.SOAK_SEED ?? 20261122);
const random = (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const emulator = await startEmulator({ privacyFiltering: true, conversationRateLimit: { callsPerSecond: CALLS_PER_SECOND, blockMs: 2_000 } });
const gateway = spawn(process.execPath, ['dist/main.js'], {
  env: {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: '0',
    GRAPH_API_URL: emulator.url,
    GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage,
    CURSOR_SECRET: 'soak-cursor-secret-0123456789abcdef',
    GRAPH_PAGE_CALLS_PER_SECOND: String(CALLS_PER_SECOND),
    GRAPH_THROTTLE_BLOCK_SECONDS: '3',
    OPERATION_TIMEOUT_MS: '10000',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
let crashed: string | undefined;
const url = await new Promise<string>((resolve, reject) => {
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    const match = /GraphQL gateway on (http:\/\/localhost:\d+\/graphql)/.exec(output);
    if (match) resolve(match[1]!);
  };
  gateway.stdout.on('data', onData);
  gateway.stderr.on('data', onData);
  gateway.once('exit', (code, signal) => {
    crashed = `exited with ${code ?? signal}`;
    reject(new Error(`gateway ${crashed}: ${output.slice(-2000)}`));
  });
});

const rss: { at: number; mb: number }[] = [];
const sampleRss = async (): Promise<void> => {
  const status = await readFile(`/proc/${gateway.pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  if (!Number.isNaN(kb)) rss.push({ at: Date.now(), mb: kb / 1024 });
};
await sampleRss();
const sampler = setInterval(() => void sampleRss(), 5_000);

// Faults, at random, all through the run.
const FAULTS: Fault[] = [
  { kind: 'latency', ms: 50 },
  { kind: 'latency', ms: 2_000 },
  { kind: 'server-error', status: 500, code: 2 },
  { kind: 'server-error', status: 503, code: 1 },
  { kind: 'reset' },
  { kind: 'truncated-json' },
  { kind: 'throttle', code: 613, regainMinutes: 0 },
  { kind: 'throttle', code: 80006, regainMinutes: 0 },
  { kind: 'expired-token' },
  { kind: 'null-batch-item' },
];
const injector = setInterval(() => {
  const fault = pick(FAULTS);
  const match = fault.kind === 'expired-token' ? { token: DEMO.tokens.bistroPage } : {};
  emulator.faults.inject(fault, { times: 1 + Math.floor(random() * 3), match });
}, 1_500);

const outcomes = new Map<string, number>();
const unexpected: string[] = [];
const count = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
const cursors: { after: string; filters: string }[] = [];
const conversationIds: string[] = [];

function nextOperation(): { query: string; variables?: Record<string, unknown>; token?: string; filters?: string } {
  const roll = random();
  const folder = pick(['INBOX', 'OTHER']);
  const platform = pick(['MESSENGER', 'INSTAGRAM']);
  const first = pick([10, 25]);
  const filters = `folder: ${folder}, platform: ${platform}`;
  const list = `conversations(${filters}, first: ${first}, after: $after) { edges { cursor node { id snippet updatedTime participants { name username } } } pageInfo { hasNextPage endCursor } }`;
  if (roll < 0.35) return { query: `query ($after: String) { page(id: "${DEMO.pages.acme.id}") { ${list} } }`, variables: { after: null }, filters };
  if (roll < 0.5 && cursors.length > 0) {
    // Paging on, with the filters the cursor was issued for.
    const cursor = pick(cursors);
    return {
      query: `query ($after: String) { page(id: "${DEMO.pages.acme.id}") { conversations(${cursor.filters}, first: 10, after: $after) { edges { node { id } } pageInfo { endCursor } } } }`,
      variables: { after: cursor.after },
      filters: cursor.filters,
    };
  }
  if (roll < 0.65) return { query: `{ page(id: "${DEMO.pages.acme.id}") { name conversations(first: 10) { edges { node { id messages(first: 5) { edges { node { text createdTime } } } } } } } }` };
  if (roll < 0.75 && conversationIds.length > 0) return { query: `{ node(id: "${pick(conversationIds)}") { id ... on Conversation { updatedTime participants { name } } } }` };
  if (roll < 0.9) return { query: `{ page(id: "${DEMO.pages.bistro.id}") { conversations(first: 10) { edges { node { id } } } } }`, token: DEMO.tokens.bistroPage };
  return pick([
    { query: `{ page(id: "${DEMO.pages.acme.id}") { conversations(first: 10, after: "v1.not-a-cursor") { edges { cursor } } } }` },
    { query: `{ page(id: "${DEMO.pages.acme.id}") { conversations(first: 500) { edges { cursor } } } }` },
    { query: `{ page(id: "${DEMO.pages.acme.id}") { conversations(first: 100) { edges { node { messages(first: 100) { edges { cursor } } } } } } }` },
  ]);
}

interface Answer {
  data?: { page?: { conversations?: { edges?: { cursor?: string; node?: { id?: string } }[]; pageInfo?: { endCursor?: string } } } };
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function worker(until: number): Promise<void> {
  while (Date.now() < until && crashed === undefined) {
    const operation = nextOperation();
    let text = '';
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(operation.token ? { authorization: `Bearer ${operation.token}` } : {}) },
        body: JSON.stringify({ query: operation.query, variables: operation.variables }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
      const body = JSON.parse(text) as Answer;
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      if (!body.errors) {
        count('ok');
        const connection = body.data?.page?.conversations;
        for (const edge of connection?.edges ?? []) if (edge.node?.id && conversationIds.length < 500) conversationIds.push(edge.node.id);
        if (connection?.pageInfo?.endCursor && operation.filters && cursors.length < 200) cursors.push({ after: connection.pageInfo.endCursor, filters: operation.filters });
        continue;
      }
      for (const error of body.errors) {
        const code = error.extensions?.code ?? 'NO_CODE';
        count(code);
        if (!EXPECTED_CODES.has(code)) unexpected.push(`${code}: ${error.message}`.slice(0, 200));
      }
    } catch (error) {
      count('TRANSPORT');
      unexpected.push(`${(error as Error).message} ${text.slice(0, 120)}`);
    }
  }
}

const started = Date.now();
const until = started + SECONDS * 1000;
console.log(`soak: ${SECONDS} s at concurrency ${CONCURRENCY} against ${url}`);
await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(until)));
clearInterval(injector);
clearInterval(sampler);
await sampleRss();

// Upstream calls per Page per second, from the emulator's log (batch items one by one).
const callTimes = new Map<string, number[]>();
for (const entry of emulator.log.entries) {
  for (const call of entry.items ?? [entry]) {
    if (call.pageId === undefined) continue;
    const times = callTimes.get(call.pageId) ?? [];
    times.push(call.at);
    callTimes.set(call.pageId, times);
  }
}
const rateLines: string[] = [];
let rateExceeded = false;
for (const [page, times] of callTimes) {
  times.sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i += 1) {
    while (times[i]! - times[j]! >= 1000) j += 1;
    max = Math.max(max, i - j + 1);
  }
  if (max > CALLS_PER_SECOND) rateExceeded = true;
  rateLines.push(`  Page ${page}: ${times.length} calls, mean ${(times.length / SECONDS).toFixed(2)}/s, max ${max} in any 1 s window (limit ${CALLS_PER_SECOND})`);
}

const unhandled = /unhandled|uncaught/i.test(output);
gateway.kill('SIGTERM');
await emulator.close();
const warm = rss.find((sample) => sample.at - started >= 10_000) ?? rss[0]!;
const end = rss.at(-1)!;
const grew = end.mb > warm.mb * 1.5 + 30;
const served = [...outcomes.values()].reduce((sum, n) => sum + n, 0);

console.log(`\noperations served: ${served} (${(served / SECONDS).toFixed(1)}/s)`);
console.log('outcomes:');
for (const [key, n] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${key.padEnd(26)} ${n}`);
console.log(`unexpected errors: ${unexpected.length}`);
for (const line of unexpected.slice(0, 10)) console.log(`  ${line}`);
console.log(`faults applied: ${emulator.faults.applied}`);
console.log(`upstream calls per Page per second:\n${rateLines.join('\n')}`);
console.log(`gateway RSS: start ${rss[0]!.mb.toFixed(0)} MB, after warm-up ${warm.mb.toFixed(0)} MB, end ${end.mb.toFixed(0)} MB, peak ${Math.max(...rss.map((s) => s.mb)).toFixed(0)} MB: ${grew ? 'GREW' : 'no growth'}`);
console.log(`gateway process: ${crashed ?? 'ran throughout'}; unhandled rejections or exceptions logged: ${unhandled ? 'YES' : 'none'}`);

const failed = unexpected.length > 0 || rateExceeded || crashed !== undefined || unhandled || grew;
console.log(failed ? '\nSOAK FAILED' : '\nsoak passed');
process.exit(failed ? 1 : 0);
