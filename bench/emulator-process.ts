/**
 * The emulator in its own process for the benchmark; prints its URL as one JSON line.
 * BENCH_UPSTREAM_LATENCY_MS gives every answer a Graph-like delay; BENCH_CALLS_PER_SECOND makes it throttle a
 * Page over Meta's Conversations API rate, as Graph does; BENCH_APP_SECRET checks proofs and signs webhooks.
 * Asked `stats` over IPC, it answers what the gateway cost it since the last `reset`: calls per Page in the
 * busiest one-second window, and the calls refused (throttles).
 */
import { startEmulator } from '../src/emulator/index.js';
import type { LoggedRequest } from '../src/emulator/index.js';

const latency = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 0);
const callsPerSecond = Number(process.env.BENCH_CALLS_PER_SECOND ?? 0);
const appSecret = process.env.BENCH_APP_SECRET;
const emulator = await startEmulator({
  privacyFiltering: false,
  ...(callsPerSecond > 0 ? { conversationRateLimit: { callsPerSecond } } : {}),
  ...(appSecret === undefined ? {} : { appSecret }),
});
if (latency > 0) emulator.faults.inject({ kind: 'latency', ms: latency }, { times: Number.POSITIVE_INFINITY });
console.log(JSON.stringify({ url: emulator.url }));

/** Every call on a Page's budget (batch items one by one): when it arrived, and whether it was refused. */
function pageCalls(entries: readonly LoggedRequest[]): Array<{ page: string; at: number; refused: boolean }> {
  return entries.flatMap((entry) =>
    entry.items !== undefined
      ? entry.items.flatMap((item) => (item.pageId === undefined ? [] : [{ page: item.pageId, at: item.at, refused: item.status === 400 }]))
      : entry.pageId === undefined
        ? []
        : [{ page: entry.pageId, at: entry.at, refused: entry.status === 400 }],
  );
}

/** The most calls any Page received within one second. */
function busiestSecond(calls: ReadonlyArray<{ page: string; at: number }>): number {
  let busiest = 0;
  for (const page of new Set(calls.map((call) => call.page))) {
    const times = calls.filter((call) => call.page === page).map((call) => call.at);
    let start = 0;
    for (let end = 0; end < times.length; end += 1) {
      while (times[end]! - times[start]! >= 1_000) start += 1;
      busiest = Math.max(busiest, end - start + 1);
    }
  }
  return busiest;
}

process.on('message', (message) => {
  if (message === 'reset') {
    emulator.log.clear();
    process.send?.({ reset: true });
  } else if (message === 'stats') {
    const calls = pageCalls(emulator.log.entries);
    process.send?.({ calls: calls.length, refused: calls.filter((call) => call.refused).length, busiestSecond: busiestSecond(calls) });
  }
});
process.once('SIGTERM', () => void emulator.close().then(() => process.exit(0)));
