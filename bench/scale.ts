/**
 * `npm run scale`: what N Pages cost, and where a bound is passed. For each N (SCALE_PAGES, default 10,100,1000,5000):
 * an emulator process serving N Pages of the scale world (src/emulator/seed/scale.ts: 25 threads, 10 agents each with
 * its own Page token), no latency, no throttling and no faults, so that the gateway is what is measured; then, one mode
 * after the other, one gateway with a Redis of its own, one without Redis, and three sharing one Redis (webhooks reaching
 * the first). Each gateway runs with webhooks on and the cache and credential lifetimes raised to 30 minutes, so that
 * counts, not time, bound what it keeps. Every agent reads its inbox (the shipped operations/inbox.graphql, 20
 * conversations × 5 messages) once per pass, agent 1 of every Page first, then agent 2… (a least-recently-used order,
 * the worst case for a bounded cache); then customer messages reach random Pages through the webhook. Each gateway is
 * sized as README "Sizing" says (CAPACITY_PAGES = N, CAPACITY_TOKENS = N × 10) and runs with start:prod's Node flags;
 * SCALE_SIZED=0 leaves the capacity at its defaults, to see where they give out.
 *
 * Printed per N and mode: the hit rate on the 2nd pass, Conversations API calls per Page per pass, the most calls a Page
 * received in any second (the budget: ≤ 2), peak RSS, heap after a full GC (asked for over the inspector), Redis used
 * memory and keys (a private `redis-server` per mode, so nothing else counts), bytes per Page in Redis and in the
 * gateway's heap, the webhook answer p50/p99, and the bounds passed: which kinds of call the 2nd pass had to make again.
 * Loopback only; every process started is stopped, and the private Redis goes with its data.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { DEMO, SCALE } from '../src/emulator/index.js';
import { PrivateRedis } from '../test/support/redis.js';
import type { CallsByKind } from './emulator-process.js';
import { type Launched, PRODUCTION_NODE_OPTIONS, start, stopAll } from './launcher.js';
import { percentile, table } from './stats.js';
import {
  ask,
  type EmulatorStats,
  GATEWAY_ENV,
  GATEWAY_LINE,
  metric,
  peakRssMb,
  sendCustomerMessage,
  startEmulatorProcess,
  subscribeWebhooks,
  WEBHOOK_VERIFY_TOKEN,
} from './support.js';

const PAGE_COUNTS = (process.env.SCALE_PAGES ?? '10,100,1000,5000').split(',').map((n) => positiveInteger(n.trim()));
const AGENTS = 10;
/** SCALE_SIZED: each gateway sized for N Pages and their agents (the default), or `0`: the capacity's defaults. */
const SIZED = process.env.SCALE_SIZED !== '0';
/**
 * Requests in flight at once, all instances together (SCALE_CONCURRENCY): on 2 cores more only queue inside a gateway, whose
 * event loop then reads Redis's answers so late that its commands time out (1 s) and it falls back to degraded mode.
 */
const CONCURRENCY = positiveInteger(process.env.SCALE_CONCURRENCY ?? '8');
const WEBHOOK_EVENTS = 200;
const THIRTY_MINUTES = '1800';
const INBOX_QUERY = readFileSync(new URL('../operations/inbox.graphql', import.meta.url), 'utf8');

interface Mode {
  /** What SCALE_MODES names it by. */
  readonly key: string;
  readonly name: string;
  readonly instances: number;
  readonly redis: boolean;
}
const ALL_MODES: readonly Mode[] = [
  { key: 'redis', name: 'Redis', instances: 1, redis: true },
  { key: 'memory', name: 'memory', instances: 1, redis: false },
  { key: 'fleet', name: '3 × Redis', instances: 3, redis: true },
];
/** SCALE_MODES: some of `redis,memory,fleet` (the default: all three, in that order). */
const MODES = (process.env.SCALE_MODES?.split(',') ?? ALL_MODES.map((mode) => mode.key)).map((key) => {
  const mode = ALL_MODES.find((known) => known.key === key.trim());
  if (mode === undefined) throw new TypeError(`SCALE_MODES takes some of redis,memory,fleet, got "${key}"`);
  return mode;
});

/** What one mode measured at one N. */
interface Figures {
  readonly hitRate: number;
  readonly callsPerPage: readonly [number, number];
  /** The reconciler's re-reads of lists during the 1st and the 2nd pass (its own calls, on the idle budget), per Page. */
  readonly reconcileReadsPerPage: readonly [number, number];
  readonly busiestSecond: number;
  readonly peakRssMb: number;
  readonly heapMb: number;
  readonly gatewayBytesPerPage: number;
  readonly redis: { usedMb: number; keys: number; bytesPerPage: number } | undefined;
  readonly webhookMs: { p50: number; p99: number };
  readonly bounds: string;
  /** Answers of both passes that were not a whole inbox. */
  readonly failed: number;
  readonly seconds: number;
  /** Redis commands per answer on the 2nd pass (the reconciler's included), and which. */
  readonly redisCommands: string | undefined;
  /** Answers per second on the 2nd pass (all from the cache): what one answer costs the gateway. */
  readonly secondPassPerSecond: number;
  /** The gateways' CPU time (user and system, all threads) per answer on the 2nd pass: less noisy than the rate on shared cores. */
  readonly secondPassCpuMs: number;
}

function positiveInteger(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`SCALE_PAGES and SCALE_CONCURRENCY take positive integers, got "${raw}"`);
  return value;
}

/** A started gateway and the inspector URL it listens on (for a full GC and its heap). */
interface Instance {
  readonly launched: Launched;
  readonly url: string;
  readonly inspector: string;
}

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const launched = await start('dist/main.js', { ...env, NODE_OPTIONS: `${PRODUCTION_NODE_OPTIONS} --inspect=127.0.0.1:0` }, GATEWAY_LINE, {
    trouble: /Unhandled|uncaught|"level":(40|50)/,
  });
  const inspector = launched.tail.map((line) => /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1]).find(Boolean);
  if (inspector === undefined) throw new Error(`the gateway printed no inspector URL:\n${launched.tail.join('\n')}`);
  return { launched, url: launched.match[1]!, inspector };
}

/** A connection to an instance's inspector: `call` sends one method of V8's inspector protocol and resolves with its result. */
async function inspectorSession(
  inspector: string,
): Promise<{ call: (method: string, params?: object) => Promise<Record<string, unknown>>; close: () => void }> {
  const socket = new WebSocket(inspector);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string, params: object = {}): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      const mine = ++id;
      const onMessage = (data: WebSocket.RawData): void => {
        const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
        if (message.id !== mine) return;
        socket.off('message', onMessage);
        resolve(message.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  return { call, close: () => socket.close() };
}

/** The heap an instance uses after a full garbage collection, in bytes, asked over the inspector protocol. */
async function heapAfterGc(inspector: string): Promise<number> {
  const { call, close } = await inspectorSession(inspector);
  await call('HeapProfiler.collectGarbage');
  const { usedSize } = await call('Runtime.getHeapUsage');
  close();
  return typeof usedSize === 'number' ? usedSize : Number.NaN;
}

/**
 * SCALE_PROFILE=<dir>: a CPU profile of each gateway over the 2nd pass (all cache hits: what an answer costs), written
 * as `<dir>/<pages>-<mode>-<instance>.cpuprofile` (open it in Chrome's DevTools), asked for over the inspector.
 */
const PROFILE_DIR = process.env.SCALE_PROFILE;

/** Starts V8's CPU profiler in an instance; the function returned stops it and writes the profile to `file`. */
async function startProfile(inspector: string): Promise<(file: string) => Promise<void>> {
  const { call, close } = await inspectorSession(inspector);
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 1000 });
  await call('Profiler.start');
  return async (file) => {
    const { profile } = await call('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    close();
  };
}

/**
 * One pass: every agent of every Page reads its inbox once, agent by agent, spread over `instances` in turn. Resolves with
 * the answers that were not a whole inbox (the first one printed); `firstThreads` learns a thread of each Page.
 */
async function pass(pages: number, instances: readonly Instance[], firstThreads?: Map<number, string>): Promise<number> {
  const jobs = Array.from({ length: pages * AGENTS }, (_, i) => ({ page: (i % pages) + 1, agent: Math.floor(i / pages) + 1, i }));
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
      const instance = instances[job.i % instances.length]!;
      const text = await readInbox(instance.url, job.page, job.agent);
      if (text === undefined) failed += 1;
      else if (firstThreads !== undefined && job.agent === 1) firstThreads.set(job.page, /"graphApiId":"(t_\d+)"/.exec(text)![1]!);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failed;
}

let printedFailure = false;

/** An agent's inbox as the gateway answered it; `undefined` (the first such answer printed) when it is not a whole inbox. */
async function readInbox(url: string, page: number, agent: number): Promise<string | undefined> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SCALE.agentTokenOf(page, agent)}` },
    body: JSON.stringify({ query: INBOX_QUERY, variables: { pageId: SCALE.pageIdOf(page), first: 20, messagesFirst: 5 } }),
  });
  const text = await response.text();
  if (response.ok && text.startsWith('{"data":{"page":{') && !text.includes('"errors":[')) return text;
  if (!printedFailure) console.error(`agent ${agent} of Page ${page}: HTTP ${response.status} ${text.slice(0, 300)}`);
  printedFailure = true;
  return undefined;
}

/** Customer messages to random Pages' first threads, delivered to the subscribed gateway one at a time: how long each answer took. */
async function webhookAnswers(emulatorUrl: string, threads: ReadonlyMap<number, string>): Promise<number[]> {
  const pages = [...threads.keys()];
  const times: number[] = [];
  for (let n = 0; n < WEBHOOK_EVENTS; n += 1) {
    const conversationId = threads.get(pages[(n * 7919) % pages.length]!)!;
    const started = performance.now();
    const answer = await sendCustomerMessage(emulatorUrl, conversationId, `Is my order ${n} on its way?`);
    if (answer.deliveryStatus !== 200) throw new Error(`a webhook delivery failed: ${JSON.stringify(answer)}`);
    times.push(performance.now() - started);
  }
  return times;
}

/** The sum over instances of a counter of their /metrics. */
async function total(instances: readonly Instance[], name: string): Promise<number> {
  const values = await Promise.all(instances.map((instance) => metric(instance.url, name)));
  return values.reduce((sum, value) => sum + value, 0);
}

/** Which bounds the 2nd pass shows were passed: what it had to ask Graph again although everything was read within 30 minutes. */
function boundsPassed(kinds: CallsByKind, misses: number): string {
  const passed = [
    ['read cache', misses],
    ['token identities', kinds.identities],
    ['proofs of reach', kinds.probes],
    ['Page nodes', kinds.pageNodes],
  ] as const;
  const named = passed.filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
  return named.length === 0 ? 'none' : named.map(([bound, count]) => `${bound} (${count})`).join(', ');
}

async function redisFigures(redisUrl: string, baseline: number, pages: number): Promise<NonNullable<Figures['redis']>> {
  const redis = new Redis(redisUrl);
  try {
    const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    return { usedMb: used / 1e6, keys: await redis.dbsize(), bytesPerPage: (used - baseline) / pages };
  } finally {
    redis.disconnect();
  }
}

/** CPU seconds a process has used (user and system, all its threads), from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of proc(5), in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function resetCommandStats(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    await redis.config('RESETSTAT');
  } finally {
    redis.disconnect();
  }
}

/** Redis commands per answer since the last reset (the reconciler's included), by command, most first. */
async function commandsPerAnswer(redisUrl: string, answers: number): Promise<string> {
  const redis = new Redis(redisUrl);
  try {
    const stats = [...(await redis.info('commandstats')).matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
      .map(([, name, calls]) => [name!, Number(calls) / answers] as const)
      .filter(([name]) => name !== 'info' && name !== 'config')
      .sort((a, b) => b[1] - a[1]);
    const sum = stats.reduce((total, [, perAnswer]) => total + perAnswer, 0);
    return `${sum.toFixed(1)} (${stats.map(([name, perAnswer]) => `${name} ${perAnswer.toFixed(1)}`).join(', ')})`;
  } finally {
    redis.disconnect();
  }
}

async function usedMemory(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  } finally {
    redis.disconnect();
  }
}

/** The gateway's environment: webhooks on, lifetimes of 30 minutes, its own Redis when `redisUrl` is given. */
function gatewayEnv(emulatorUrl: string, redisUrl: string | undefined, pages: number): Record<string, string> {
  const { GRAPH_ACCESS_TOKEN: _none, ...env } = GATEWAY_ENV;
  return {
    ...env,
    ...(SIZED ? { CAPACITY_PAGES: String(pages), CAPACITY_TOKENS: String(pages * AGENTS) } : {}),
    GRAPH_API_URL: emulatorUrl,
    GRAPH_APP_SECRET: DEMO.appSecret,
    WEBHOOK_VERIFY_TOKEN,
    CACHE_MAX_AGE_SECONDS: THIRTY_MINUTES,
    CACHE_PAGE_MAX_AGE_SECONDS: THIRTY_MINUTES,
    CREDENTIALS_TTL_SECONDS: THIRTY_MINUTES,
    ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: 'scale:' }),
  };
}

/** Both passes and the webhook deliveries of one mode, on an emulator serving `pages` Pages. */
async function measure(mode: Mode, pages: number, emulator: { child: Launched['child']; url: string }): Promise<Figures> {
  const started = performance.now();
  const redis = mode.redis ? await PrivateRedis.start() : undefined;
  try {
    const redisBaseline = redis === undefined ? 0 : await usedMemory(redis.url);
    const env = gatewayEnv(emulator.url, redis?.url, pages);
    const instances = await Promise.all(Array.from({ length: mode.instances }, () => startInstance(env)));
    await subscribeWebhooks(emulator.url, instances[0]!.url);
    const heapBefore = await Promise.all(instances.map((instance) => heapAfterGc(instance.inspector)));
    const threads = new Map<number, string>();
    await ask(emulator.child, 'reset');
    const failed = await pass(pages, instances, threads);
    const first = await ask<EmulatorStats>(emulator.child, 'stats');
    await ask(emulator.child, 'reset');
    const counters = ['gateway_cache_hits_total', 'gateway_cache_misses_total', 'gateway_cache_reconcile_reads_total'];
    const [hits, misses, reconciled] = await Promise.all(counters.map((name) => total(instances, name)));
    if (PROFILE_DIR !== undefined) mkdirSync(PROFILE_DIR, { recursive: true });
    const profiles = PROFILE_DIR === undefined ? [] : await Promise.all(instances.map((instance) => startProfile(instance.inspector)));
    if (redis !== undefined) await resetCommandStats(redis.url);
    const secondStarted = performance.now();
    const cpuBefore = instances.map((instance) => cpuSeconds(instance.launched.child.pid!));
    const failed2 = await pass(pages, instances);
    const secondSeconds = (performance.now() - secondStarted) / 1000;
    const cpuSpent = instances.reduce((sum, instance, i) => sum + cpuSeconds(instance.launched.child.pid!) - cpuBefore[i]!, 0);
    const commands = redis === undefined ? undefined : await commandsPerAnswer(redis.url, pages * AGENTS);
    await Promise.all(profiles.map((stop, i) => stop(`${PROFILE_DIR}/${pages}-${mode.key}-${i + 1}.cpuprofile`)));
    const second = await ask<EmulatorStats>(emulator.child, 'stats');
    const kinds = await ask<CallsByKind>(emulator.child, 'calls-by-kind');
    const hits2 = (await total(instances, 'gateway_cache_hits_total')) - hits!;
    const misses2 = (await total(instances, 'gateway_cache_misses_total')) - misses!;
    const reconciled2 = (await total(instances, 'gateway_cache_reconcile_reads_total')) - reconciled!;
    const heapAfter = await Promise.all(instances.map((instance) => heapAfterGc(instance.inspector)));
    const webhook = await webhookAnswers(emulator.url, threads);
    const crashed = instances.find((instance) => instance.launched.crashed !== undefined);
    if (crashed !== undefined) throw new Error(`a gateway ${crashed.launched.crashed}:\n${crashed.launched.tail.join('\n')}`);
    const heapGrowth = heapAfter.reduce((sum, heap, i) => sum + heap - heapBefore[i]!, 0) / instances.length;
    const figures: Figures = {
      hitRate: hits2 / Math.max(1, hits2 + misses2),
      callsPerPage: [first.calls / pages, second.calls / pages],
      reconcileReadsPerPage: [reconciled! / pages, reconciled2 / pages],
      busiestSecond: Math.max(first.busiestSecond, second.busiestSecond),
      peakRssMb: Math.max(...(await Promise.all(instances.map((instance) => peakRssMb(instance.launched.child.pid!))))),
      heapMb: Math.max(...heapAfter) / 1e6,
      gatewayBytesPerPage: heapGrowth / pages,
      redis: redis === undefined ? undefined : await redisFigures(redis.url, redisBaseline, pages),
      webhookMs: { p50: percentile(webhook, 0.5), p99: percentile(webhook, 0.99) },
      bounds: boundsPassed(kinds, misses2),
      failed: failed + failed2,
      seconds: (performance.now() - started) / 1000,
      redisCommands: commands,
      secondPassPerSecond: (pages * AGENTS) / secondSeconds,
      secondPassCpuMs: (1000 * cpuSpent) / (pages * AGENTS),
    };
    await Promise.all(instances.map((instance) => instance.launched.stop()));
    for (const line of instances.flatMap((instance) => instance.launched.trouble)) console.error(`  gateway: ${line}`);
    return figures;
  } finally {
    await redis?.stop();
  }
}

const perPass = (figures: readonly number[]): string => figures.map((figure) => figure.toFixed(2)).join(' / ');
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

function row(mode: Mode, pages: number, f: Figures): string[] {
  return [
    pages.toLocaleString('en-US'),
    mode.name,
    `${(f.hitRate * 100).toFixed(1)} %`,
    `${perPass(f.callsPerPage)} (${perPass(f.reconcileReadsPerPage)})`,
    String(f.busiestSecond),
    `${f.peakRssMb.toFixed(0)} MB`,
    `${f.heapMb.toFixed(0)} MB`,
    f.redis === undefined ? '–' : `${f.redis.usedMb.toFixed(1)} MB, ${f.redis.keys.toLocaleString('en-US')} keys`,
    f.redis === undefined ? '–' : kb(f.redis.bytesPerPage),
    kb(f.gatewayBytesPerPage),
    `${f.webhookMs.p50.toFixed(1)} / ${f.webhookMs.p99.toFixed(1)} ms`,
    f.bounds,
    String(f.failed),
    `${f.seconds.toFixed(0)} s`,
    `${f.secondPassPerSecond.toFixed(0)} /s, ${f.secondPassCpuMs.toFixed(2)} ms CPU each`,
    f.redisCommands ?? '–',
  ];
}

const HEADER = [
  'Pages',
  'mode',
  'hit rate, 2nd pass',
  'conversations calls per Page, pass 1 / 2 (of which the reconciler’s, pass 1 / 2)',
  'most calls to a Page in 1 s',
  'peak RSS',
  'heap after GC',
  'Redis',
  'Redis per Page',
  'gateway heap per Page',
  'webhook answer p50 / p99',
  'bounds passed (2nd-pass calls)',
  'failed answers',
  'took',
  'answers per second, 2nd pass, and gateway CPU per answer',
  'Redis commands per answer, 2nd pass',
];

async function main(): Promise<void> {
  const rows: string[][] = [HEADER];
  for (const pages of PAGE_COUNTS) {
    const emulator = await startEmulatorProcess({ BENCH_SCALE_PAGES: String(pages), BENCH_APP_SECRET: DEMO.appSecret });
    for (const mode of MODES) {
      const figures = await measure(mode, pages, emulator);
      rows.push(row(mode, pages, figures));
      console.error(`done: ${pages} Pages, ${mode.name}, ${figures.seconds.toFixed(0)} s`);
    }
    const exited = new Promise((resolve) => emulator.child.once('exit', resolve));
    emulator.child.kill('SIGTERM');
    await exited;
  }
  console.log(
    `\nN Pages × ${AGENTS} agents (each its own Page token), operations/inbox.graphql (20 conversations × 5 messages), webhooks on, ` +
      `cache and credentials 30 min, ${CONCURRENCY} requests in flight, ${WEBHOOK_EVENTS} webhook deliveries after the 2nd pass; ` +
      'the budget is 2 calls per Page per second',
  );
  console.log(table(rows));
}

try {
  await main();
} finally {
  stopAll();
}
