/**
 * "A rolling restart" of `npm run bench` (`BENCH_ONLY=rolling`): two gateway instances sharing one Redis over one emulator, under a
 * client load spread by a tiny balancer that sends each request to an instance whose `/health/ready` answered 200 at its last probe
 * (every {@link PROBE_EVERY_MS}), round robin. Instance A gets SIGTERM mid-load (SHUTDOWN_DRAIN_SECONDS=2), is started again, then
 * the same for B. Counts the requests served and those that failed (target: none).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { type Launched, start } from './launcher.js';
import { GATEWAY_ENV, GATEWAY_LINE, startEmulatorProcess, TEAM_QUERY } from './support.js';

const REDIS_URL = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
export const ROLLING_CLIENTS = 10;
const PROBE_EVERY_MS = 250;
/** Load before, between and after the restarts. */
const STEADY_MS = 3_000;

interface Instance {
  name: 'A' | 'B';
  launched: Launched;
  pool: Pool;
  ready: boolean;
}

export interface RollingFigures {
  served: number;
  failed: number;
  failures: string[];
  servedBy: Record<'A' | 'B', number>;
  seconds: number;
}

/** The balancer's health checks: each instance's `/health/ready`, every {@link PROBE_EVERY_MS}, while `running()`. */
async function probeUntil(instances: readonly Instance[], running: () => boolean): Promise<void> {
  while (running()) {
    await Promise.all(
      instances.map(async (instance) => {
        const answer = await instance.pool.request({ path: '/health/ready', method: 'GET' }).catch(() => undefined);
        await answer?.body.dump();
        instance.ready = answer?.statusCode === 200;
      }),
    );
    await sleep(PROBE_EVERY_MS);
  }
}

async function launchInstance(name: 'A' | 'B', env: Record<string, string>): Promise<Instance> {
  const launched = await start('dist/main.js', env, GATEWAY_LINE);
  const pool = new Pool(new URL(launched.match[1]!).origin, { connections: ROLLING_CLIENTS });
  return { name, launched, pool, ready: false };
}

/** What the balancer's clients counted. */
interface Tally {
  running: boolean;
  started: number;
  failed: number;
  failures: string[];
  servedBy: Record<'A' | 'B', number>;
}

/** One client behind the balancer: each request to the next instance ready at its last probe, round robin. */
async function client(instances: readonly Instance[], tally: Tally, body: string): Promise<void> {
  const failure = (what: string): void => {
    tally.failed += 1;
    if (tally.failures.length < 5) tally.failures.push(`${what} at ${((performance.now() - tally.started) / 1000).toFixed(1)} s`);
  };
  for (let next = Math.floor(Math.random() * 2); tally.running; next += 1) {
    const ready = instances.filter((instance) => instance.ready);
    const instance = ready[next % Math.max(1, ready.length)];
    if (instance === undefined) {
      // No instance to send to: the balancer answers 503 itself, a failed request.
      failure('no instance ready');
      await sleep(10);
      continue;
    }
    try {
      const answer = await instance.pool.request({
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const text = await answer.body.text();
      if (answer.statusCode !== 200 || text.includes('"errors"')) throw new Error(`HTTP ${answer.statusCode}: ${text.slice(0, 200)}`);
      tally.servedBy[instance.name] += 1;
    } catch (error) {
      failure(`${instance.name}: ${(error as Error).message}`);
    }
  }
}

async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function rollingRestart(): Promise<RollingFigures> {
  const emulator = await startEmulatorProcess();
  const prefix = `bench-rolling:${randomBytes(4).toString('hex')}:`;
  const env = {
    ...GATEWAY_ENV,
    GRAPH_API_URL: emulator.url,
    GRAPH_PAGE_CALLS_PER_SECOND: '0',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    SHUTDOWN_DRAIN_SECONDS: '2',
  };
  const instances: Instance[] = await Promise.all([launchInstance('A', env), launchInstance('B', env)]);
  const tally: Tally = { running: true, started: 0, failed: 0, failures: [], servedBy: { A: 0, B: 0 } };
  const probeLoop = probeUntil(instances, () => tally.running);
  // A balancer sends nothing before an instance's first probe said it is ready.
  while (!instances.every((instance) => instance.ready)) await sleep(20);
  tally.started = performance.now();
  const body = JSON.stringify({ query: TEAM_QUERY });
  const clients = Promise.all(Array.from({ length: ROLLING_CLIENTS }, () => client(instances, tally, body)));
  await sleep(STEADY_MS);
  for (const index of [0, 1]) {
    const old = instances[index]!;
    await old.launched.stop(); // SIGTERM: unready at once, 2 s of draining, then exit
    instances[index] = await launchInstance(old.name, env);
    await old.pool.close();
    await sleep(STEADY_MS);
  }
  tally.running = false;
  await Promise.all([clients, probeLoop]);
  const seconds = (performance.now() - tally.started) / 1000;
  await Promise.all(instances.map((instance) => instance.launched.stop().then(() => instance.pool.close())));
  emulator.child.kill('SIGTERM');
  await dropKeys(prefix);
  const { failed, failures, servedBy } = tally;
  return { served: servedBy.A + servedBy.B, failed, failures, servedBy, seconds };
}
