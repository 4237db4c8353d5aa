/**
 * "A team replying": agents reply through one gateway (webhooks on) while readers read the inbox, against one
 * emulator that answers in 100 ms, throttles a Page's reads over 2 calls per second and its sends over 300 per
 * second, as Meta does. One send in ten loses its answer after it took effect; the agent retries with the same
 * key until the echo settles it. Send latency is compared with the emulator's own, measured in the same run.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SendStats } from './emulator-process.js';
import { percentile } from './stats.js';
import { ACME, ask, type EmulatorStats, load, metric, startTeamGateway, TEAM_CLIENTS, TEAM_QUERY, TEAM_SECONDS, TOKEN } from './support.js';

export const REPLYING_AGENTS = 10;
/** An agent types for this long between two replies. */
const TYPING_MS = 500;
/** Every this many sends (counted over all agents), the emulator drops the next send's answer. */
const DROP_EVERY = 10;
const RETRY_EVERY_MS = 250;
/** An agent gives up retrying an unknown outcome after this long (the gateway's echo wait is 60 s). */
const RETRY_FOR_MS = 20_000;
/** Every this many successful sends, a reader watches for the reply. */
const FRESHNESS_EVERY = 5;
const FRESHNESS_TIMEOUT_MS = 10_000;
const BASELINE_SENDS = 50;
const SEND_RATE = 300;
const REPLY_TEXT = 'bench reply';

const SEND_MUTATION =
  'mutation Reply($input: SendMessageInput!) { sendMessage(input: $input) { result { __typename ' +
  '... on MessageSent { replayed message { graphApiId } } ... on SendRefusal { code } ' +
  '... on SendOutcomeUnknown { retryAfterSeconds } } conversation { snippet updatedTime } } }';

interface OpenThread {
  threadId: string;
  customerId: string;
}

interface SendAnswer {
  /** The result's type, or `error` when the answer has none. */
  kind: string;
  code: string | undefined;
}

type InboxNode = { graphApiId: string; updatedTime: string; snippet: string | null };
type Inbox = {
  data?: { page: { conversations: { edges: Array<{ node: InboxNode }> } } | null };
  errors?: Array<{ extensions?: { code?: string } }>;
};

/** What the scenario measured. */
interface ReplyingFigures {
  sent: number;
  seconds: number;
  /** Milliseconds of first attempts answered `MessageSent`. */
  sendMs: number[];
  /** Of those, the first reply of each thread (the gateway reads the conversation once for it). */
  firstReplyMs: number[];
  baselineMs: number[];
  dropsAsked: number;
  unknown: number;
  resolved: number;
  /** Answers neither sent nor unknown, by result type and code. */
  other: Map<string, number>;
  freshness: number[];
  freshnessMissed: number;
  polls: number;
  pollErrors: Map<string, number>;
  readerReqPerSecond: number;
  readerErrors: number;
  reads: EmulatorStats;
  sends: SendStats;
  /** The gateway's read cache (its /metrics). */
  cache: { hits: number; misses: number; invalidations: number; stale: number; coalesced: number };
}

const conversationId = (threadId: string): string => Buffer.from(`Conversation:${ACME}:${threadId}`).toString('base64');
/** The number of a bench reply's text; -1 for any other snippet. */
const replyNumber = (snippet: string | null): number => {
  const match = new RegExp(`^${REPLY_TEXT} (\\d+)$`).exec(snippet ?? '');
  return match === null ? -1 : Number(match[1]);
};

async function sendReply(gatewayUrl: string, thread: OpenThread, text: string, key: string): Promise<SendAnswer> {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: SEND_MUTATION,
      variables: { input: { conversationId: conversationId(thread.threadId), text, idempotencyKey: key, clientMutationId: key } },
    }),
  });
  const body = (await response.json().catch(() => ({}))) as {
    data?: { sendMessage?: { result?: { __typename: string; code?: string } } };
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  const result = body.data?.sendMessage?.result;
  if (result === undefined) return { kind: 'error', code: body.errors?.[0]?.extensions?.code ?? `HTTP ${response.status}` };
  return { kind: result.__typename, code: result.code };
}

/** The emulator's own send time: one Send API call at a time, straight to the emulator. */
async function baselineSends(emulatorUrl: string, threads: readonly OpenThread[]): Promise<number[]> {
  const ms: number[] = [];
  for (let n = 0; n < BASELINE_SENDS; n += 1) {
    const started = performance.now();
    const response = await fetch(`${emulatorUrl}/v25.0/${ACME}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        access_token: TOKEN,
        recipient: JSON.stringify({ id: threads[n % threads.length]!.customerId }),
        messaging_type: 'RESPONSE',
        message: JSON.stringify({ text: `baseline ${n}` }),
      }),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`a direct send failed: ${body}`);
    ms.push(performance.now() - started);
  }
  return ms;
}

/**
 * Whether a reader sees reply `n` in `threadId`: the conversation shows it (or a later reply) as its snippet, above
 * every conversation not replied to since (ties in `updatedTime` allowed: the agents reply many times a second).
 */
async function shows(run: Run, threadId: string, n: number): Promise<boolean> {
  const response = await fetch(run.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: TEAM_QUERY }),
  }).catch(() => undefined);
  const inbox = (await response?.json().catch(() => undefined)) as Inbox | undefined;
  run.polls += 1;
  if (inbox?.errors !== undefined) {
    const code = inbox.errors[0]?.extensions?.code ?? 'unknown';
    run.pollErrors.set(code, (run.pollErrors.get(code) ?? 0) + 1);
  }
  const nodes = inbox?.data?.page?.conversations.edges.map((e) => e.node);
  const mine = nodes?.find((node) => node.graphApiId === threadId);
  if (nodes === undefined || mine === undefined || replyNumber(mine.snippet) < n) return false;
  const at = Date.parse(mine.updatedTime);
  return nodes.every((node) => replyNumber(node.snippet) >= n || Date.parse(node.updatedTime) <= at);
}

/** One run's shared state: what the agents take turns on and what they count. */
interface Run {
  readonly gatewayUrl: string;
  readonly threads: readonly OpenThread[];
  readonly askInTurn: <T>(message: string) => Promise<T>;
  readonly endAt: number;
  nextThread: number;
  nextSend: number;
  sent: number;
  readonly sendMs: number[];
  readonly firstReplyMs: number[];
  readonly repliedTo: Set<string>;
  dropsAsked: number;
  unknown: number;
  resolved: number;
  readonly other: Map<string, number>;
  readonly freshness: number[];
  freshnessMissed: number;
  /** The watchers' reads, and those answered with GraphQL errors (by code). */
  polls: number;
  readonly pollErrors: Map<string, number>;
  readonly watches: Promise<void>[];
}

/** A reader asks until it sees reply `n` in `threadId`, or gives up. */
async function watch(run: Run, threadId: string, n: number, answeredAt: number): Promise<void> {
  while (performance.now() - answeredAt < FRESHNESS_TIMEOUT_MS) {
    if (await shows(run, threadId, n)) {
      run.freshness.push(performance.now() - answeredAt);
      return;
    }
  }
  run.freshnessMissed += 1;
}

/** One reply, its retries with the same key while the outcome is unknown, and what it counts. */
async function reply(run: Run): Promise<void> {
  const thread = run.threads[run.nextThread++ % run.threads.length]!;
  const n = run.nextSend++;
  if (n % DROP_EVERY === DROP_EVERY - 1) {
    run.dropsAsked += 1;
    await run.askInTurn('drop-next-send');
  }
  const text = `${REPLY_TEXT} ${n}`;
  const key = randomUUID();
  const started = performance.now();
  let answer = await sendReply(run.gatewayUrl, thread, text, key);
  const answeredAt = performance.now();
  if (answer.kind === 'MessageSent') {
    run.sendMs.push(answeredAt - started);
    if (!run.repliedTo.has(thread.threadId)) run.firstReplyMs.push(answeredAt - started);
  }
  run.repliedTo.add(thread.threadId);
  if (answer.kind === 'SendOutcomeUnknown') {
    run.unknown += 1;
    while (answer.kind === 'SendOutcomeUnknown' && performance.now() - answeredAt < RETRY_FOR_MS) {
      await sleep(RETRY_EVERY_MS);
      answer = await sendReply(run.gatewayUrl, thread, text, key);
    }
    if (answer.kind === 'MessageSent') run.resolved += 1;
  }
  if (answer.kind === 'MessageSent') {
    run.sent += 1;
    if (run.sent % FRESHNESS_EVERY === 0) run.watches.push(watch(run, thread.threadId, n, performance.now()));
  } else {
    const name = `${answer.kind} ${answer.code ?? ''}`.trim();
    run.other.set(name, (run.other.get(name) ?? 0) + 1);
  }
}

async function agent(run: Run): Promise<void> {
  while (performance.now() < run.endAt) {
    await reply(run);
    await sleep(TYPING_MS);
  }
}

async function replyingLoad(emulator: { child: ChildProcess; url: string }, gatewayUrl: string): Promise<ReplyingFigures> {
  // One question at a time: `ask` takes the next answer of the process, whoever it is for.
  let queue: Promise<unknown> = Promise.resolve();
  const askInTurn = <T>(message: string): Promise<T> => {
    const answer = queue.then(() => ask<T>(emulator.child, message));
    queue = answer.catch(() => undefined);
    return answer;
  };
  const threads = await askInTurn<OpenThread[]>('open-threads');
  if (threads.length === 0) throw new Error('the emulator opened no reply window (BENCH_OPEN_WINDOWS=1)');
  const baselineMs = await baselineSends(emulator.url, threads);
  // The gateway knows its token and the inbox, as a running gateway would.
  await fetch(gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: TEAM_QUERY }) });
  await askInTurn('reset');

  const startedAt = performance.now();
  const run: Run = {
    gatewayUrl,
    threads,
    askInTurn,
    endAt: startedAt + TEAM_SECONDS * 1000,
    nextThread: 0,
    nextSend: 0,
    sent: 0,
    sendMs: [],
    firstReplyMs: [],
    repliedTo: new Set(),
    dropsAsked: 0,
    unknown: 0,
    resolved: 0,
    other: new Map(),
    freshness: [],
    freshnessMissed: 0,
    polls: 0,
    pollErrors: new Map(),
    watches: [],
  };
  const [readers] = await Promise.all([
    load({
      url: gatewayUrl,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: TEAM_QUERY }),
      duration: TEAM_SECONDS,
      connections: TEAM_CLIENTS,
    }),
    ...Array.from({ length: REPLYING_AGENTS }, () => agent(run)),
  ]);
  const seconds = (performance.now() - startedAt) / 1000;
  await Promise.all(run.watches);
  return {
    ...run,
    seconds,
    baselineMs,
    readerReqPerSecond: readers.requests.average,
    readerErrors: readers.errors + readers.non2xx,
    reads: await askInTurn<EmulatorStats>('stats'),
    sends: await askInTurn<SendStats>('send-stats'),
    cache: {
      hits: await metric(gatewayUrl, 'gateway_cache_hits_total'),
      misses: await metric(gatewayUrl, 'gateway_cache_misses_total'),
      invalidations: await metric(gatewayUrl, 'gateway_cache_invalidations_total'),
      stale: await metric(gatewayUrl, 'gateway_cache_stale_answers_total'),
      coalesced: await metric(gatewayUrl, 'gateway_upstream_coalesced_total'),
    },
  };
}

function replyingRows(f: ReplyingFigures): string[][] {
  const ms = (value: number): string => `${value.toFixed(0)} ms`;
  const versus = (p: number): string => {
    const gateway = percentile(f.sendMs, p);
    const own = percentile(f.baselineMs, p);
    return `${ms(gateway)} vs ${ms(own)} (${(gateway / own).toFixed(2)}×)`;
  };
  const other = [...f.other].map(([name, n]) => `${n} ${name}`).join(', ');
  return [
    ['measure', 'value', 'target'],
    [`replies sent per second (${REPLYING_AGENTS} agents, ${TYPING_MS} ms typing)`, (f.sent / f.seconds).toFixed(1), ''],
    [`send latency p50, gateway vs emulator's own (${f.sendMs.length} / ${f.baselineMs.length} sends)`, versus(0.5), ''],
    ['send latency p99, gateway vs emulator', versus(0.99), ''],
    [
      `send latency p50 / max, a thread's first reply (${f.firstReplyMs.length} sends: the gateway reads the conversation)`,
      `${ms(percentile(f.firstReplyMs, 0.5))} / ${ms(Math.max(...f.firstReplyMs))}`,
      '',
    ],
    [`replies a customer received twice (of ${f.sends.keyedMessages} keyed messages)`, String(f.sends.duplicates), '0'],
    [
      `sends answered "outcome unknown" (${f.sends.answersDropped} of ${f.dropsAsked} answers dropped) / resolved to MessageSent`,
      `${f.unknown} / ${f.resolved}`,
      'all resolved',
    ],
    ['other answers (refusals, errors)', other === '' ? '0' : other, '0'],
    [
      `freshness after a reply, p50 / max (${f.freshness.length} replies watched)`,
      `${ms(percentile(f.freshness, 0.5))} / ${ms(Math.max(...f.freshness))}`,
      '',
    ],
    [
      `replies a reader showed only after ${FRESHNESS_TIMEOUT_MS / 1000} s, or never`,
      String(f.freshnessMissed + f.freshness.filter((ms) => ms > FRESHNESS_TIMEOUT_MS).length),
      '0',
    ],
    ['read calls per Page, busiest second', String(f.reads.busiestSecond), '≤ 2'],
    ['read calls in all', String(f.reads.calls), ''],
    [
      'gateway read cache: hits / misses / invalidations / stale answers / reads joined to another',
      `${f.cache.hits} / ${f.cache.misses} / ${f.cache.invalidations} / ${f.cache.stale} / ${f.cache.coalesced}`,
      '',
    ],
    ['Send API calls, busiest second', String(f.sends.busiestSecond), `≤ ${SEND_RATE}`],
    ['Send API calls in all', String(f.sends.calls), ''],
    ['throttled calls: reads / sends refused (HTTP 400)', `${f.reads.refused} / ${f.sends.refused}`, '0 / 0'],
    [`reader req/s (${TEAM_CLIENTS} readers)`, f.readerReqPerSecond.toFixed(0), ''],
    ['reader errors (HTTP)', String(f.readerErrors), '0'],
    [
      `watchers' reads answered with GraphQL errors (of ${f.polls})`,
      [...f.pollErrors].map(([code, n]) => `${n} ${code}`).join(', ') || '0',
      '0',
    ],
  ];
}

/**
 * A team replying on one Page, on one gateway with webhooks on; answers the table rows. The emulator answers in
 * 100 ms and enforces Meta's rates (reads 2 per Page per second, sends 300).
 */
export async function teamReplying(): Promise<string[][]> {
  const { emulator, url: gatewayUrl } = await startTeamGateway({ BENCH_SEND_RATE: String(SEND_RATE), BENCH_OPEN_WINDOWS: '1' });
  return replyingRows(await replyingLoad(emulator, gatewayUrl));
}
