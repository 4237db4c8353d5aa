/**
 * `npx tsx bench/ab.ts`: two builds of the gateway compared on the uncached 25-conversation query (as `npm run bench`
 * measures it), each beside the bare proxy, in interleaved rounds on one emulator so that the machine's noise hits
 * all sides alike. Prints each build's req/s, p99 and ratio to the bare proxy by round, B ÷ A by round, and peak RSS; beside
 * them, bench/yoga-floor.ts (graphql-yoga alone serving the same answer prebuilt), the most a gateway on yoga can reach;
 * and each server's CPU time per request (all its threads, from /proc), which the machine's other work disturbs far less.
 *
 * Environment: AB_A and AB_B (directories holding a built `main.js`, e.g. copies of `dist/` before and after a
 * change; default `dist` for both), AB_A_NODE_OPTIONS and AB_B_NODE_OPTIONS (each build's NODE_OPTIONS, e.g. V8 heap
 * flags, in place of those `npm run start:prod` gives it; `AB_A_NODE_OPTIONS=` runs A with none), BENCH_SECONDS (5),
 * BENCH_ROUNDS (5).
 */
import {
  BARE_PATH,
  EMULATOR_LINE,
  GATEWAY_ENV,
  GATEWAY_LINE,
  load,
  loadWithCpu,
  peakRssMb,
  Q25,
  startYogaFloor,
  TOKEN,
} from './support.js';
import { start, stopAll } from './launcher.js';
import { median, table } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function main(): Promise<void> {
  const { match: emulator } = await start('bench/emulator-process.ts', {}, EMULATOR_LINE);
  const env = { ...GATEWAY_ENV, GRAPH_API_URL: emulator[1]!, GRAPH_PAGE_CALLS_PER_SECOND: '0' };
  // Unset: the flags of `npm run start:prod` (GATEWAY_ENV); set (even empty), instead of them.
  const nodeOptions = (name: string) => (process.env[name] === undefined ? {} : { NODE_OPTIONS: process.env[name] });
  const a = await start(`${process.env.AB_A ?? 'dist'}/main.js`, { ...env, ...nodeOptions('AB_A_NODE_OPTIONS') }, GATEWAY_LINE);
  const b = await start(`${process.env.AB_B ?? 'dist'}/main.js`, { ...env, ...nodeOptions('AB_B_NODE_OPTIONS') }, GATEWAY_LINE);
  const { child: bareChild, match: bare } = await start(
    'bench/bare-proxy.ts',
    { GRAPH_API_URL: emulator[1]!, GRAPH_ACCESS_TOKEN: TOKEN, BARE_PROXY_PATH: BARE_PATH },
    EMULATOR_LINE,
  );
  const body = JSON.stringify({ query: Q25 });
  const gateway = (url: string) => ({ url, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body });
  const floor = await startYogaFloor(a.match[1]!);
  const sides = {
    bare: { url: bare[1]!, pid: bareChild.pid! },
    floor: { ...gateway(floor.url), pid: floor.pid },
    A: { ...gateway(a.match[1]!), pid: a.child.pid! },
    B: { ...gateway(b.match[1]!), pid: b.child.pid! },
  };
  for (const { pid: _, ...side } of Object.values(sides)) await load({ ...side, connections: 10, duration: 2 });
  const runs: Record<keyof typeof sides, { rps: number; p99: number; cpuUs: number }[]> = { bare: [], floor: [], A: [], B: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate which build goes first, so neither always follows the proxy.
    const order: (keyof typeof sides)[] = round % 2 === 0 ? ['bare', 'floor', 'A', 'B'] : ['bare', 'floor', 'B', 'A'];
    for (const side of order) {
      const { pid, ...options } = sides[side];
      const result = await loadWithCpu({ ...options, connections: 10, duration: SECONDS }, pid);
      if (result.errors + result.non2xx > 0) throw new Error(`${side}: ${result.errors + result.non2xx} failed requests`);
      runs[side].push({ rps: result.requests.average, p99: result.latency.p99, cpuUs: result.cpuUsPerRequest });
    }
  }
  const ratios = (side: 'floor' | 'A' | 'B') => runs[side].map((run, i) => run.rps / runs.bare[i]!.rps);
  const row = (side: keyof typeof sides, rss: string) => [
    side,
    median(runs[side].map((run) => run.rps)).toFixed(0),
    String(median(runs[side].map((run) => run.p99))),
    side === 'bare'
      ? '1.00×'
      : `${median(ratios(side)).toFixed(2)}× (${ratios(side)
          .map((r) => r.toFixed(2))
          .join(', ')})`,
    median(runs[side].map((run) => run.cpuUs)).toFixed(0),
    rss,
  ];
  const bOverA = runs.B.map((run, i) => run.rps / runs.A[i]!.rps);
  console.log(
    table([
      ['server', 'req/s (median)', 'p99 ms', 'vs bare proxy, median (rounds)', 'server CPU µs per request (median)', 'peak RSS'],
      row('bare', ''),
      row('floor', ''),
      row('A', `${(await peakRssMb(a.child.pid!)).toFixed(0)} MB`),
      row('B', `${(await peakRssMb(b.child.pid!)).toFixed(0)} MB`),
    ]),
  );
  console.log(`B ÷ A by round: ${bOverA.map((r) => r.toFixed(2)).join(', ')} (median ${median(bOverA).toFixed(2)})`);
}

try {
  await main();
} finally {
  stopAll();
}
