/**
 * `npm run soak`: a soak test of the gateway under faults. Starts the Graph API emulator in-process
 * with Meta's Conversations API limit (2 calls per Page per second) and the gateway as a child
 * process, built as production runs it (`node dist/main.js`, after `npm run build`), then drives mixed GraphQL load at a fixed concurrency
 * while injecting faults into the emulator at random (seeded). Prints what was served, errors by
 * code, unexpected errors (must be 0), upstream calls per Page per second (must stay within the
 * rate), the gateway's RSS (must not grow) and whether it crashed or logged an unhandled rejection.
 * Exits non-zero when a check fails. Loopback only; the child and the emulator are always stopped.
 *
 * Environment: SOAK_SECONDS (180), SOAK_CONCURRENCY (50), SOAK_SEED (20261122),
 * SOAK_MAX_OPERATIONS (1000 × SOAK_SECONDS), CACHE_MAX_MEGABYTES, RESPONSE_CACHE_MAX_MEGABYTES and
 * DOCUMENT_CACHE_MAX_MEGABYTES (the gateway's), SOAK_NODE_OPTIONS (more of the gateway's
 * NODE_OPTIONS, after those of `npm run start:prod`).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DEMO, startEmulator, type Emulator, type Fault, type FaultMatch } from '../src/emulator/index.js';
import { mulberry32 } from '../src/emulator/random.js';
import { type Launched, PRODUCTION_NODE_OPTIONS, start } from '../bench/launcher.js';
import { countList, percentile } from '../bench/stats.js';
import { GATEWAY_READY_LINE } from '../test/support/ready-line.js';

const SECONDS = positiveInteger('SOAK_SECONDS', 180);
const CONCURRENCY = positiveInteger('SOAK_CONCURRENCY', 50);
const MAX_OPERATIONS = positiveInteger('SOAK_MAX_OPERATIONS', 1_000 * SECONDS);
const SEED = positiveInteger('SOAK_SEED', 20_261_122);
const CALLS_PER_SECOND = 2;
const REQUEST_TIMEOUT_MS = 30_000;
const STARTUP_TIMEOUT_MS = 60_000;
const RSS_SAMPLE_MS = 3_000;
/** RSS is compared from the first sample after this much load, so start-up allocation is not "growth". */
const WARM_UP_MS = Math.min(30_000, (SECONDS * 1_000) / 4);
/** No growth: end ≤ after-warm-up × RSS_GROWTH_FACTOR + RSS_GROWTH_SLACK_MB. */
const RSS_GROWTH_FACTOR = 1.5;
const RSS_GROWTH_SLACK_MB = 30;
const CURSOR_SECRET = 'soak-cursor-secret-0123456789abcd'; // 32 characters
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The gateway's settings a run may set, to see what memory each cache takes. */
const CACHE_BOUNDS = ['CACHE_MAX_MEGABYTES', 'RESPONSE_CACHE_MAX_MEGABYTES', 'DOCUMENT_CACHE_MAX_MEGABYTES'] as const;

/** Error codes a client may legitimately get under faults; anything else is unexpected. */
const ALLOWED_CODES: ReadonlySet<string> = new Set([
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
const TROUBLE_IN_OUTPUT = /Unhandled|unhandledRejection|uncaughtException/;

const ACME = DEMO.pages.acme.id;
const BISTRO = DEMO.pages.bistro.id;
const FOLDERS = ['INBOX', 'OTHER', 'PAGE_DONE', 'SPAM'] as const;
const PLATFORMS = ['MESSENGER', 'INSTAGRAM'] as const;

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** mulberry32, so a run can be repeated with SOAK_SEED. */
const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));

// ---------------------------------------------------------------------------------------------
// The gateway process

/** Spawns the gateway and resolves once it prints its ready line; rejects if it exits or stays silent first. */
function startGateway(graphApiUrl: string): Promise<Launched> {
  const env = {
    NODE_ENV: 'production',
    // No balancer in front to wait for: stop at once (the launcher kills a process still running 5 s after SIGTERM).
    SHUTDOWN_DRAIN_SECONDS: '0',
    PORT: '0',
    GRAPH_API_URL: graphApiUrl,
    GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage,
    CURSOR_SECRET,
    GRAPH_PAGE_CALLS_PER_SECOND: String(CALLS_PER_SECOND),
    // The caches' bounds, to see what memory they take (the gateway's own defaults when unset).
    ...Object.fromEntries(CACHE_BOUNDS.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]]]))),
    // The heap bound of `npm run start:prod`, and any flags of the run's own (`--heapsnapshot-signal=SIGUSR2` to look at what it holds).
    NODE_OPTIONS: `${PRODUCTION_NODE_OPTIONS} ${process.env.SOAK_NODE_OPTIONS ?? ''}`.trim(),
  };
  return start('dist/main.js', env, GATEWAY_READY_LINE, { cwd: ROOT, startupTimeoutMs: STARTUP_TIMEOUT_MS, trouble: TROUBLE_IN_OUTPUT });
}

async function rssMb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

// ---------------------------------------------------------------------------------------------
// Faults

/** A random fault and the calls it aims at; throttles are rare, since each blocks a Page in the gateway for a minute. */
function randomFault(): { fault: Fault; match: FaultMatch; times: number } {
  const times = between(1, 3);
  const somewhere = (): FaultMatch => pick<FaultMatch>([{}, {}, { path: /\/conversations$/ }, { path: /^t_/ }]);
  const roll = random();
  if (roll < 0.03) {
    const page = pick([ACME, BISTRO]);
    return {
      fault: { kind: 'throttle', code: pick([613, 80006] as const) },
      match: { path: new RegExp(`^${page}/conversations$`) },
      times: 1,
    };
  }
  if (roll < 0.25) return { fault: { kind: 'latency', ms: between(50, 2_000) }, match: somewhere(), times };
  if (roll < 0.4) {
    const fault: Fault = { kind: 'server-error', status: pick([500, 503] as const), code: pick([1, 2] as const) };
    return { fault, match: somewhere(), times };
  }
  if (roll < 0.52) return { fault: { kind: 'reset' }, match: somewhere(), times };
  if (roll < 0.64) return { fault: { kind: 'truncated-json' }, match: somewhere(), times };
  // Expired tokens only for the Bistro token, so the gateway's default token keeps working.
  if (roll < 0.72) return { fault: { kind: 'expired-token' }, match: { token: DEMO.tokens.bistroPage }, times: 1 };
  return { fault: { kind: 'null-batch-item' }, match: somewhere(), times };
}

function startInjecting(emulator: Emulator, until: number): { stop(): void; injected: Map<string, number> } {
  const injected = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const next = (): void => {
    timer = setTimeout(
      () => {
        if (Date.now() >= until) return;
        const { fault, match, times } = randomFault();
        emulator.faults.inject(fault, { times, match });
        const name = fault.kind === 'throttle' ? `throttle ${fault.code}` : fault.kind;
        injected.set(name, (injected.get(name) ?? 0) + 1);
        next();
      },
      between(500, 2_500),
    );
  };
  next();
  return { stop: () => clearTimeout(timer), injected };
}

// ---------------------------------------------------------------------------------------------
// Load

interface Operation {
  /** What it exercises, for the report. */
  kind: string;
  query: string;
  variables?: Record<string, unknown>;
  token?: string;
  /** A list whose endCursor can be paged on with these arguments. */
  listArgs?: string;
}

interface GraphQLAnswer {
  data?: unknown;
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

const CONVERSATION_FIELDS = 'id graphApiId updatedTime snippet unreadCount participants { graphApiId name username }';
const cursors: { listArgs: string; after: string }[] = [];
const conversationIds: string[] = [];
const messageIds: string[] = [];
const remember = <T>(into: T[], value: T, max: number): void => {
  if (into.length < max) into.push(value);
  else into[Math.floor(random() * max)] = value;
};

function nextOperation(): Operation {
  const roll = random();
  if (roll < 0.28) {
    const listArgs = `folder: ${pick(FOLDERS)}, platform: ${pick(PLATFORMS)}, first: ${between(10, 25)}`;
    return {
      kind: 'inbox page',
      query:
        `{ page(id: "${ACME}") { conversations(${listArgs}) { edges { cursor node { ${CONVERSATION_FIELDS} } } pageInfo { hasNextPage ` +
        `endCursor } } } }`,
      listArgs,
    };
  }
  if (roll < 0.43 && cursors.length > 0) {
    const { listArgs, after } = pick(cursors);
    return {
      kind: 'paging on',
      query:
        `query ($after: String) { page(id: "${ACME}") { conversations(${listArgs}, after: $after) { edges { cursor node { ` +
        `${CONVERSATION_FIELDS} } } pageInfo { hasNextPage endCursor } } } }`,
      variables: { after },
      listArgs,
    };
  }
  if (roll < 0.58) {
    return {
      kind: 'nested messages',
      query:
        `{ page(id: "${ACME}") { conversations(first: ${between(5, 15)}, platform: ${pick(PLATFORMS)}) { edges { node { id ` +
        `messages(first: 5) { edges { node { id text createdTime from { name username } } } pageInfo { hasNextPage } } } } } } }`,
    };
  }
  if (roll < 0.7 && conversationIds.length > 0) {
    const ids = Array.from({ length: between(1, 3) }, () =>
      messageIds.length > 0 && random() < 0.3 ? pick(messageIds) : pick(conversationIds),
    );
    const lookups = ids.map(
      (id, index) =>
        `n${index}: node(id: "${id}") { id ... on Conversation { updatedTime participants { name } } ... on Message { text createdTime } }`,
    );
    return { kind: 'node lookups', query: `{ ${lookups.join(' ')} }` };
  }
  if (roll < 0.84) {
    return {
      kind: 'bistro',
      query:
        `{ viewer { kind name } page(id: "${BISTRO}") { name conversations(first: ${between(5, 20)}) { edges { node { id snippet ` +
        `messages(first: 3) { edges { node { text } } } } } } } }`,
      token: DEMO.tokens.bistroPage,
    };
  }
  if (roll < 0.87) {
    return {
      kind: 'expired token',
      query: `{ page(id: "${ACME}") { conversations(first: 5) { edges { node { id } } } } }`,
      token: DEMO.tokens.expired,
    };
  }
  return pick<Operation>([
    { kind: 'bad cursor', query: `{ page(id: "${ACME}") { conversations(first: 10, after: "not-a-cursor") { edges { cursor } } } }` },
    { kind: 'first: 500', query: `{ page(id: "${ACME}") { conversations(first: 500) { edges { cursor } } } }` },
    {
      kind: 'too costly',
      query: `{ page(id: "${ACME}") { conversations(first: 100) { edges { node { messages(first: 100) { edges { cursor } } } } } } }`,
    },
  ]);
}

/** Collects ids and cursors from a successful answer, for later lookups and paging. */
function harvest(operation: Operation, data: unknown): void {
  const visit = (value: unknown, key: string | undefined): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, key);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    if (key === 'node' && typeof record.id === 'string') remember('text' in record ? messageIds : conversationIds, record.id, 500);
    for (const [child, inner] of Object.entries(record)) visit(inner, child);
  };
  visit(data, undefined);
  if (operation.listArgs === undefined) return;
  const pageInfo = (data as { page?: { conversations?: { pageInfo?: { hasNextPage?: unknown; endCursor?: unknown } } } } | null)?.page
    ?.conversations?.pageInfo;
  if (pageInfo?.hasNextPage === true && typeof pageInfo.endCursor === 'string')
    remember(cursors, { listArgs: operation.listArgs, after: pageInfo.endCursor }, 200);
}

interface LoadReport {
  operations: number;
  byKind: Map<string, number>;
  outcomes: Map<string, number>;
  codes: Map<string, number>;
  unexpected: Map<string, number>;
  latenciesMs: number[];
}

const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);

async function runLoad(url: string, until: number, gateway: Launched): Promise<LoadReport> {
  const report: LoadReport = {
    operations: 0,
    byKind: new Map(),
    outcomes: new Map(),
    codes: new Map(),
    unexpected: new Map(),
    latenciesMs: [],
  };
  const worker = async (): Promise<void> => {
    while (Date.now() < until && report.operations < MAX_OPERATIONS && gateway.crashed === undefined) {
      report.operations += 1;
      const operation = nextOperation();
      bump(report.byKind, operation.kind);
      const started = performance.now();
      let status = 0;
      let text = '';
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(operation.token === undefined ? {} : { authorization: `Bearer ${operation.token}` }),
          },
          body: JSON.stringify({ query: operation.query, variables: operation.variables ?? {} }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        status = response.status;
        const contentType = response.headers.get('content-type') ?? '';
        text = await response.text();
        if (status !== 200 || !contentType.includes('json')) {
          bump(report.outcomes, `HTTP ${status}`);
          bump(report.unexpected, `HTTP ${status} ${contentType}: ${text.slice(0, 160)}`);
          continue;
        }
      } catch (error) {
        const name =
          error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
            ? 'client timeout (30 s)'
            : 'transport error';
        bump(report.outcomes, name);
        bump(
          report.unexpected,
          `${name}: ${error instanceof Error ? `${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}` : error}`,
        );
        continue;
      } finally {
        report.latenciesMs.push(performance.now() - started);
      }
      let body: GraphQLAnswer;
      try {
        body = JSON.parse(text) as GraphQLAnswer;
      } catch {
        bump(report.outcomes, 'invalid JSON');
        bump(report.unexpected, `invalid JSON: ${text.slice(0, 160)}`);
        continue;
      }
      const errors = body.errors ?? [];
      const hasData = body.data !== null && body.data !== undefined;
      bump(report.outcomes, errors.length === 0 ? 'data' : hasData ? 'partial data with errors' : 'errors only');
      // Ids and cursors are kept from the default token's answers only: the lookups and paging reuse that token.
      if (hasData && operation.token === undefined) harvest(operation, body.data);
      for (const error of errors) {
        const code = typeof error.extensions?.code === 'string' ? error.extensions.code : '(no code)';
        const message = typeof error.message === 'string' ? error.message : '';
        bump(report.codes, code);
        if (!ALLOWED_CODES.has(code) || message === 'Unexpected error.')
          bump(report.unexpected, `${code}: ${message.slice(0, 160)} [${operation.kind}]`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return report;
}

// ---------------------------------------------------------------------------------------------
// Upstream rate, from the emulator's log

interface PageRate {
  page: string;
  calls: number;
  meanPerSecond: number;
  maxInAnySecond: number;
}

/** Calls per Page (batch items one by one) and the most made in any sliding one-second window. */
function upstreamRates(emulator: Emulator, seconds: number): PageRate[] {
  const times = new Map<string, number[]>();
  for (const entry of emulator.log.entries) {
    for (const call of entry.items ?? [entry]) {
      if (call.pageId === undefined) continue;
      const list = times.get(call.pageId) ?? [];
      list.push(call.at);
      times.set(call.pageId, list);
    }
  }
  return [...times].map(([page, list]) => {
    list.sort((a, b) => a - b);
    let max = 0;
    for (let end = 0, start = 0; end < list.length; end += 1) {
      while (list[end]! - list[start]! >= 1_000) start += 1;
      max = Math.max(max, end - start + 1);
    }
    return { page, calls: list.length, meanPerSecond: list.length / seconds, maxInAnySecond: max };
  });
}

// ---------------------------------------------------------------------------------------------
// The run

/** What one soak run measured. */
interface SoakRun {
  readonly load: LoadReport;
  readonly rates: PageRate[];
  readonly rss: ReadonlyArray<{ at: number; mb: number }>;
  readonly elapsedSeconds: number;
  readonly injected: ReadonlyMap<string, number>;
}

/** Runs the load against `gateway` while faults are injected into `emulator`, sampling the gateway's RSS. */
async function runSoak(emulator: Emulator, gateway: Launched): Promise<SoakRun> {
  const pid = gateway.child.pid!;
  const started = Date.now();
  const until = started + SECONDS * 1_000;
  const rss: { at: number; mb: number }[] = [];
  const sample = async (): Promise<void> => {
    const mb = await rssMb(pid);
    if (mb !== undefined) rss.push({ at: Date.now() - started, mb });
  };
  await sample();
  const sampler = setInterval(() => void sample(), RSS_SAMPLE_MS);
  const progress = setInterval(
    () =>
      console.log(
        `soak: ${Math.round((Date.now() - started) / 1000)} s, ${emulator.log.requestCount} upstream requests, ` +
          `${emulator.faults.applied} faults applied`,
      ),
    30_000,
  );
  const injector = startInjecting(emulator, until);
  let load: LoadReport;
  try {
    load = await runLoad(gateway.match[1]!, until, gateway);
  } finally {
    injector.stop();
    clearInterval(sampler);
    clearInterval(progress);
  }
  const elapsedSeconds = (Date.now() - started) / 1_000;
  await sample();
  return { load, rates: upstreamRates(emulator, elapsedSeconds), rss, elapsedSeconds, injected: injector.injected };
}

/** Prints what the run served and cost upstream; returns the unexpected errors counted. */
function reportLoad(emulator: Emulator, run: SoakRun): number {
  const { load, rates, elapsedSeconds } = run;
  const unexpectedCount = [...load.unexpected.values()].reduce((sum, n) => sum + n, 0);
  console.log(`\n== soak report (${elapsedSeconds.toFixed(1)} s, concurrency ${CONCURRENCY}, seed ${SEED}) ==`);
  console.log(
    `operations served: ${load.operations} (${(load.operations / elapsedSeconds).toFixed(1)}/s); latency p50 ` +
      `${percentile(load.latenciesMs, 0.5).toFixed(0)} ms, p99 ${percentile(load.latenciesMs, 0.99).toFixed(0)} ms, max ` +
      `${percentile(load.latenciesMs, 1).toFixed(0)} ms`,
  );
  console.log(`  by kind:\n${countList(load.byKind)}`);
  console.log(`responses by outcome:\n${countList(load.outcomes)}`);
  console.log(`errors by extensions.code:\n${countList(load.codes)}`);
  console.log(
    `unexpected errors: ${unexpectedCount}${unexpectedCount > 0 ? `\n${countList(new Map([...load.unexpected].slice(0, 15)))}` : ''}`,
  );
  console.log(
    `faults injected (rules): ${[...run.injected].map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'}; ` +
      `applied to calls: ${emulator.faults.applied}`,
  );
  console.log(`upstream: ${emulator.log.requestCount} HTTP requests, ${emulator.log.callCount} billed calls`);
  console.log(`upstream calls per Page per second (limit ${CALLS_PER_SECOND}, batch items counted one by one):`);
  for (const rate of rates) {
    console.log(
      `    Page ${rate.page}: ${rate.calls} calls, mean ${rate.meanPerSecond.toFixed(2)}/s, max ${rate.maxInAnySecond} in any 1 s ` +
        `window${rate.maxInAnySecond > CALLS_PER_SECOND ? '  <-- EXCEEDED' : ''}`,
    );
  }
  if (rates.length === 0) console.log('    (no Conversations API calls)');
  return unexpectedCount;
}

/** Prints the gateway's memory and health over the run; returns whether its RSS grew past the allowance. */
function reportGateway(gateway: Launched, rss: SoakRun['rss']): boolean {
  const warm = rss.find((point) => point.at >= WARM_UP_MS) ?? rss[0];
  const end = rss.at(-1);
  const grew = warm !== undefined && end !== undefined && end.mb > warm.mb * RSS_GROWTH_FACTOR + RSS_GROWTH_SLACK_MB;
  const mb = (point: { mb: number } | undefined): string => (point === undefined ? '?' : `${point.mb.toFixed(0)} MB`);
  const peak = rss.reduce<{ mb: number } | undefined>((top, point) => (top === undefined || point.mb > top.mb ? point : top), undefined);
  console.log(
    `gateway RSS: start ${mb(rss[0])}, after warm-up (${(WARM_UP_MS / 1000).toFixed(0)} s) ${mb(warm)}, end ${mb(end)}, ` +
      `peak ${mb(peak)} ` +
      `(${rss.length} samples): ${grew ? `GREW (over ×${RSS_GROWTH_FACTOR} + ${RSS_GROWTH_SLACK_MB} MB)` : 'no growth'}`,
  );
  const trouble =
    gateway.trouble.length === 0
      ? 'none'
      : `YES\n${gateway.trouble
          .slice(0, 5)
          .map((line) => `    ${line}`)
          .join('\n')}`;
  console.log(
    `gateway process: ${gateway.crashed === undefined ? 'ran throughout' : `CRASHED (${gateway.crashed})`}; ` +
      `unhandled rejections/exceptions logged: ${trouble}`,
  );
  if (gateway.crashed !== undefined) console.log(`last output:\n${gateway.tail.map((line) => `    ${line}`).join('\n')}`);
  return grew;
}

async function main(): Promise<number> {
  const emulator = await startEmulator({
    conversationRateLimit: { callsPerSecond: CALLS_PER_SECOND },
    privacyFiltering: true,
    maxLogEntries: 10_000_000,
  });
  let gateway: Launched | undefined;
  const stopAll = async (): Promise<void> => {
    await gateway?.stop();
    await emulator.close();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`soak: ${signal}, stopping`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // If this process dies another way, the launcher kills the gateway on exit.
  try {
    gateway = await startGateway(emulator.url);
    console.log(
      `soak: gateway ${gateway.match[1]!} (pid ${gateway.child.pid}), emulator ${emulator.url}; ` +
        `${SECONDS} s at concurrency ${CONCURRENCY}, seed ${SEED}`,
    );
    const run = await runSoak(emulator, gateway);
    const unexpectedCount = reportLoad(emulator, run);
    const grew = reportGateway(gateway, run.rss);
    const failures = [
      unexpectedCount > 0 ? `${unexpectedCount} unexpected errors` : undefined,
      run.rates.some((rate) => rate.maxInAnySecond > CALLS_PER_SECOND) ? 'the per-Page call rate was exceeded' : undefined,
      gateway.crashed !== undefined ? 'the gateway crashed' : undefined,
      gateway.trouble.length > 0 ? 'the gateway logged an unhandled rejection or exception' : undefined,
      grew ? 'the gateway RSS grew' : undefined,
    ].filter((failure) => failure !== undefined);
    console.log(failures.length === 0 ? '\nSOAK PASSED' : `\nSOAK FAILED: ${failures.join('; ')}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('soak: could not run:', error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
