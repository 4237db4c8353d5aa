/**
 * `npm run fleet`: three gateway instances under the team-on-one-Page load spread over them, against an
 * emulator that throttles a Page over Meta's 2 calls per second and answers in 100 ms, with webhooks
 * delivered to the first instance only: first sharing one Redis (REDIS_URL, else 127.0.0.1:6379, under a
 * key prefix of its own), then each instance alone, as before Redis, for comparison.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { DEMO } from '../src/emulator/index.js';
import {
  DELIVERY_EVERY_MS,
  GATEWAY_ENV,
  GATEWAY_LINE,
  startEmulatorProcess,
  subscribeWebhooks,
  TEAM_CLIENTS,
  TEAM_SECONDS,
  type TeamFigures,
  teamLoad,
  teamRows,
  UPSTREAM_LATENCY_MS,
  WEBHOOK_VERIFY_TOKEN,
} from './support.js';
import { start, stopAll } from './launcher.js';
import { table } from './stats.js';

const REDIS_URL = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
const INSTANCES = 3;

async function fleet(redis: { url: string; prefix: string } | undefined): Promise<TeamFigures> {
  const emulator = await startEmulatorProcess({
    BENCH_UPSTREAM_LATENCY_MS: String(UPSTREAM_LATENCY_MS),
    BENCH_CALLS_PER_SECOND: '2',
    BENCH_APP_SECRET: DEMO.appSecret,
  });
  const env = {
    ...GATEWAY_ENV,
    GRAPH_API_URL: emulator.url,
    GRAPH_APP_SECRET: DEMO.appSecret,
    WEBHOOK_VERIFY_TOKEN,
    // Alone is how instances ran before Redis: each its own budget, and no cache (webhooks reach one instance).
    ...(redis === undefined ? { CACHE_MAX_AGE_SECONDS: '0' } : { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix }),
  };
  const gateways = await Promise.all(Array.from({ length: INSTANCES }, () => start('dist/main.js', env, GATEWAY_LINE)));
  const urls = gateways.map(({ match }) => match[1]!);
  await subscribeWebhooks(emulator.url, urls[0]!);
  return teamLoad(emulator, urls);
}

async function main(): Promise<void> {
  const prefix = `bench-fleet:${randomBytes(4).toString('hex')}:`;
  const shared = await fleet({ url: REDIS_URL, prefix });
  stopAll();
  const alone = await fleet(undefined);
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  const rows = (figures: TeamFigures) => teamRows(figures, undefined).slice(1);
  const sharedRows = rows(shared);
  const aloneRows = rows(alone);
  console.log(
    `\nA fleet: ${INSTANCES} instances, ${TEAM_CLIENTS} clients spread over them, default budget (2 calls per Page per second, ` +
      `enforced by the emulator), 100 ms upstream, a webhook delivery to instance 1 every ${DELIVERY_EVERY_MS / 1000} s, ${TEAM_SECONDS} ` +
      `s each`,
  );
  console.log(
    table([
      ['measure', 'one Redis (REDIS_URL)', 'each instance alone', 'target (with Redis)'],
      ...sharedRows.map((row, i) => [row[0]!, row[1]!, aloneRows[i]![1]!, row[2]!]),
    ]),
  );
  console.log('\n(Alone: each instance spends its own 2 calls per second and caches nothing, since webhooks reach instance 1 only.)');
}

try {
  await main();
} finally {
  stopAll();
}
