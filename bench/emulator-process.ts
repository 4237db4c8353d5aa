/**
 * The emulator in its own process for the benchmark; prints its URL as one JSON line.
 * BENCH_UPSTREAM_LATENCY_MS gives every answer a Graph-like delay; BENCH_CALLS_PER_SECOND makes it throttle a
 * Page over Meta's Conversations API rate, as Graph does; BENCH_APP_SECRET checks proofs and signs webhooks.
 * BENCH_SEND_RATE refuses sends over that many per Page per second with (#613), as Meta's Send API does;
 * BENCH_BRAND_PAGES=n serves the brand world besides the demo world's (seed/brand.ts: a user reaching n Pages, each with
 * Messenger and Instagram threads). BENCH_OPEN_WINDOWS=1 opens the messaging window of Acme's first 20 Messenger inbox
 * threads at start (a customer message stamped now), so that replies are allowed. BENCH_SCALE_PAGES serves that many Pages
 * of the scale world instead (seed/scale.ts: 25 threads and 10 agents' tokens each), and keeps every request in the log.
 * Over IPC: `stats` answers what the gateway cost it since the last `reset` (calls per Page in the busiest one-second
 * window, and the calls refused: throttles), `calls-by-kind` what kinds of call they were ({@link CallsByKind}); `open-threads`
 * the threads opened at start; `drop-next-send` makes the
 * next send take effect and lose its answer (the socket reset); `send-stats` what the Send API saw since the last
 * `reset` and what the customers of the opened threads received (see {@link SendStats}).
 */
import { createBrandWorld, createScaleWorld, DEMO, startEmulator } from '../src/emulator/index.js';
import type { LoggedRequest } from '../src/emulator/index.js';
import { ECHO_KEY_PREFIX } from '../src/replies/reply-service.js';

const latency = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 0);
const callsPerSecond = Number(process.env.BENCH_CALLS_PER_SECOND ?? 0);
const appSecret = process.env.BENCH_APP_SECRET;
const sendRate = Number(process.env.BENCH_SEND_RATE ?? 0);
const brandPages = Number(process.env.BENCH_BRAND_PAGES ?? 0);
const scalePages = Number(process.env.BENCH_SCALE_PAGES ?? 0);
const OPENED_THREADS = 20;
/** Enough for every call of two passes over 5,000 Pages of 10 agents, and the proofs and identities of the first. */
const SCALE_LOG_ENTRIES = 2_000_000;
const emulator = await startEmulator({
  ...(scalePages > 0 ? { extraWorld: createScaleWorld(scalePages), maxLogEntries: SCALE_LOG_ENTRIES } : {}),
  privacyFiltering: false,
  ...(callsPerSecond > 0 ? { conversationRateLimit: { callsPerSecond } } : {}),
  ...(sendRate > 0 ? { sendRateLimit: { callsPerSecond: sendRate } } : {}),
  ...(appSecret === undefined ? {} : { appSecret }),
  ...(brandPages > 0 ? { extraWorld: createBrandWorld(brandPages) } : {}),
});
const injectLatency = (): void => {
  if (latency > 0) emulator.faults.inject({ kind: 'latency', ms: latency }, { times: Number.POSITIVE_INFINITY });
};
injectLatency();
const ACME = DEMO.pages.acme.id;
/** The threads whose window is open, with the customer a send goes to. */
const openThreads =
  process.env.BENCH_OPEN_WINDOWS === '1'
    ? emulator.store
        .listConversations(ACME, { platform: 'messenger', folder: 'inbox' })
        .slice(0, OPENED_THREADS)
        .map((thread) => {
          emulator.store.addMessage(thread.id, { text: 'Hello, anyone there?' });
          return { threadId: thread.id, customerId: thread.customerId };
        })
    : [];
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
  const byPage = new Map<string, number[]>();
  for (const call of calls) {
    const times = byPage.get(call.page);
    if (times === undefined) byPage.set(call.page, [call.at]);
    else times.push(call.at);
  }
  let busiest = 0;
  for (const times of byPage.values()) {
    times.sort((a, b) => a - b);
    let start = 0;
    for (let end = 0; end < times.length; end += 1) {
      while (times[end]! - times[start]! >= 1_000) start += 1;
      busiest = Math.max(busiest, end - start + 1);
    }
  }
  return busiest;
}

/** Every call since the last `reset` by what it was for, to tell which of the gateway's bounds made it call again. */
export interface CallsByKind {
  /** Conversation list reads (the probe of a token's reach apart). */
  lists: number;
  /** Reads of one conversation (`fields=id`, `limit=1`): a token proving it reaches an inbox. */
  probes: number;
  /** `/me` and `/me/accounts`: a token identified. */
  identities: number;
  /** Reads of a Page node (its name). */
  pageNodes: number;
  other: number;
}

function callsByKind(entries: readonly LoggedRequest[]): CallsByKind {
  const counts: CallsByKind = { lists: 0, probes: 0, identities: 0, pageNodes: 0, other: 0 };
  const count = (path: string, params: URLSearchParams): void => {
    if (/\/me(\/accounts)?$/.test(path)) counts.identities += 1;
    else if (/\/conversations$/.test(path)) {
      if (params.get('fields') === 'id' && params.get('limit') === '1') counts.probes += 1;
      else counts.lists += 1;
    } else if (/^\/(v[\d.]+\/)?\d+$/.test(path)) counts.pageNodes += 1;
    else counts.other += 1;
  };
  for (const entry of entries) {
    if (entry.items === undefined) count(entry.path, new URLSearchParams(entry.params));
    for (const item of entry.items ?? []) {
      const url = new URL(item.relativeUrl.replace(/^\/?/, '/'), 'http://graph.invalid');
      count(url.pathname, url.searchParams);
    }
  }
  return counts;
}

const isSend = (entry: LoggedRequest): boolean => entry.method === 'POST' && /\/messages$/.test(entry.path);

/**
 * Sends whose answer is still to be dropped. Faults are taken oldest first and the latency fault (every call, for
 * ever) is the oldest: a reset is put before it by injecting both again.
 */
let pendingDrops = 0;
let dropsInjectedAt = 0;
let dropsAsked = 0;
/** Every send since the last injection took one of the pending resets. */
const dropsPending = (): number =>
  Math.max(0, pendingDrops - emulator.log.entries.filter((entry) => isSend(entry) && entry.at >= dropsInjectedAt).length);
function dropNextSend(): void {
  dropsAsked += 1;
  pendingDrops = dropsPending() + 1;
  dropsInjectedAt = Date.now();
  emulator.faults.clear();
  emulator.faults.inject({ kind: 'reset' }, { times: pendingDrops, match: { path: /\/messages$/ } });
  injectLatency();
}

/** What the Send API saw since the last `reset`, and what the customers of the opened threads received in all. */
export interface SendStats {
  /** Send API calls, refused ones included. */
  calls: number;
  busiestSecond: number;
  /** Sends refused with HTTP 400: (#613) over the rate, or any other refusal. */
  refused: number;
  /** Sends that took effect and whose answer was dropped, since the start. */
  answersDropped: number;
  /** Messages in the opened threads carrying a gateway's `gw1:` metadata (one per idempotency key sent). */
  keyedMessages: number;
  /** `gw1:` metadata values found on more than one message: a customer received the same reply twice. */
  duplicates: number;
}

function sendStats(): SendStats {
  const sends = emulator.log.entries.filter(isSend);
  const seen = new Map<string, number>();
  for (const { threadId } of openThreads) {
    for (const id of emulator.store.messageIds(threadId) ?? []) {
      const metadata = emulator.store.messageMetadata(id);
      if (metadata?.startsWith(ECHO_KEY_PREFIX)) seen.set(metadata, (seen.get(metadata) ?? 0) + 1);
    }
  }
  return {
    calls: sends.length,
    busiestSecond: busiestSecond(sends.map((entry) => ({ page: entry.path, at: entry.at }))),
    refused: sends.filter((entry) => entry.status === 400).length,
    answersDropped: dropsAsked - dropsPending(),
    keyedMessages: [...seen.values()].reduce((sum, n) => sum + n, 0),
    duplicates: [...seen.values()].filter((n) => n > 1).length,
  };
}

process.on('message', (message) => {
  if (message === 'reset') {
    pendingDrops = dropsPending();
    emulator.log.clear();
    dropsInjectedAt = Date.now();
    process.send?.({ reset: true });
  } else if (message === 'open-threads') {
    process.send?.(openThreads);
  } else if (message === 'drop-next-send') {
    dropNextSend();
    process.send?.({ dropping: pendingDrops });
  } else if (message === 'send-stats') {
    process.send?.(sendStats());
  } else if (message === 'calls-by-kind') {
    process.send?.(callsByKind(emulator.log.entries));
  } else if (message === 'stats') {
    const calls = pageCalls(emulator.log.entries);
    process.send?.({ calls: calls.length, refused: calls.filter((call) => call.refused).length, busiestSecond: busiestSecond(calls) });
  }
});
process.once('SIGTERM', () => void emulator.close().then(() => process.exit(0)));
