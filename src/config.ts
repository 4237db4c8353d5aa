/**
 * Configuration: one declarative table of every environment variable (name, default, accepted values,
 * description), read and validated once at start-up. Defaults live only here: modules take their
 * settings as options, and `DEFAULT_CONFIG` is what they get when nothing is set. The README's
 * configuration table is printed from this table (`npm run config:table`); a test keeps the two equal.
 */
import { isIP } from 'node:net';
import { parse } from 'graphql';
import { boundsWithRedis, type CapacityBounds, capacityBounds, DEFAULT_CAPACITY_PAGES, DEFAULT_CAPACITY_TOKENS } from './capacity.js';
import {
  boolean,
  commaList,
  integer,
  jsonObjectFile,
  oneOf,
  optionalText,
  origin,
  redisUrl,
  seconds,
  withoutUrlCredentials,
} from './config-parsers.js';

/** A current Graph API version (Meta's changelog lists the versions still served). */
export const DEFAULT_GRAPH_API_VERSION = 'v25.0';

/**
 * The drain delay in production: Kubernetes takes a terminating pod out of its Service's endpoints, and a balancer probing
 * `/health/ready` every second or two sees it unready, within a few seconds; 5 s covers that. Balancers that probe less
 * often need SHUTDOWN_DRAIN_SECONDS raised (README, Deploying).
 */
const PRODUCTION_SHUTDOWN_DRAIN_MS = 5_000;

/** One environment variable: how to read it and what it means. */
export interface Setting<T> {
  /** What it does, for the README's table (Markdown). */
  readonly description: string;
  /** The value when the variable is unset or empty. */
  readonly default: T;
  /** The default as the README shows it, when printing the value would not say it well. */
  readonly defaultText?: string;
  /** Reads a non-empty value; throws an Error whose message says what was expected. */
  readonly parse: (raw: string) => T;
}

const setting = <T>(spec: Setting<T>): Setting<T> => spec;

/**
 * Every environment variable the gateway reads, in the order the README lists them. Add a row here
 * (and run `npm run config:table`) to add one.
 */
export const SETTINGS = {
  PORT: setting({ description: 'HTTP port of the gateway (`0`: any free port).', default: 4000, parse: integer(0, 65_535) }),
  GRAPH_API_URL: setting<string | undefined>({
    description:
      "Origin of the Graph API. Unset: the gateway starts the embedded emulator (on `EMULATOR_PORT`) and uses its demo user's token, " +
      'which reaches both demo Pages with an inbox. Set `https://graph.facebook.com` for the real API.',
    default: undefined,
    parse: origin('https://graph.facebook.com'),
  }),
  GRAPH_API_VERSION: setting({
    description:
      'Graph API version used in every path. Graph serves an expired version with the oldest live one, silently; the gateway reads ' +
      '`facebook-api-version` on every answer and logs a warning (once per version) when it differs.',
    default: DEFAULT_GRAPH_API_VERSION,
    parse: (raw) => {
      if (!/^v\d{1,2}\.\d$/.test(raw)) throw new Error('must look like "v25.0"');
      return raw;
    },
  }),
  GRAPH_ACCESS_TOKEN: setting({
    description:
      "Token for requests that send no `Authorization: Bearer <token>`: a Page token or a user token. A request's own bearer token " +
      'always wins.',
    default: undefined,
    parse: optionalText,
  }),
  GRAPH_PAGE_TOKENS_FILE: setting<ReadonlyMap<string, string>>({
    description:
      'JSON file `{"<page id>": "<page token>"}`: with no `GRAPH_ACCESS_TOKEN`, requests without a token are served these Pages (and ' +
      'only these).',
    default: new Map(),
    defaultText: '*(unset)*',
    parse: (raw) => {
      const tokens = new Map<string, string>();
      for (const [pageId, token] of Object.entries(jsonObjectFile(raw))) {
        if (!/^\d+$/.test(pageId) || typeof token !== 'string' || token === '') {
          throw new Error('must name a JSON file of {"<page id>": "<page token>"} strings');
        }
        tokens.set(pageId, token);
      }
      return tokens;
    },
  }),
  GRAPH_APP_SECRET: setting({
    description:
      'When set, every upstream call carries the `appsecret_proof` of the token it uses: plain reads, each batch item with its own ' +
      'token, every follow-up page. Webhook deliveries are verified with it.',
    default: undefined,
    parse: optionalText,
  }),
  WEBHOOK_VERIFY_TOKEN: setting({
    description:
      "With `GRAPH_APP_SECRET`: turns on Meta's webhook callback at `/webhooks/meta` (this token answers the subscription handshake) " +
      'and the `inboxEvents` subscription. On the embedded emulator both are on by default.',
    default: undefined,
    parse: optionalText,
  }),
  CURSOR_SECRET: setting({
    description:
      'Key (≥ 16 characters) that signs Relay cursors. Set the same value on every instance behind a load balancer, or cursors from ' +
      'one instance are refused by another (a warning at start-up says so).',
    default: undefined,
    defaultText: 'random per process',
    parse: (raw) => {
      if (raw.length < 16) throw new Error('must be at least 16 characters long');
      return raw;
    },
  }),
  CREDENTIALS_TTL_SECONDS: setting({
    description:
      "How long a token's identity (`/me`) and its Page tokens (`/me/accounts`) are remembered, and how long a token's own successful " +
      'read of an inbox lets it be served that inbox from the cache (see [Who sees what](#who-sees-what)).',
    default: 300_000,
    defaultText: '`300`',
    parse: seconds(0, 86_400),
  }),
  GRAPH_PAGE_CALLS_PER_SECOND: setting({
    description:
      "Conversation calls per Page in any one-second window (Meta's Conversations API limit; each batch item counts; a call holds " +
      'its place until a second after its answer, since Graph counts it on arrival). Excess reads wait in a queue, where identical ' +
      "reads are shared; a read that could not leave before its operation's deadline is refused at once with `GRAPH_RATE_LIMITED` " +
      "and `retryAfterSeconds`. `0`: no limit. With `REDIS_URL` the rate is the whole fleet's; without, a fraction gives each of " +
      'several instances its share (see below): `0.5` is one call in any 2-second window.',
    default: 2,
    parse: (raw) => {
      const value = Number(raw);
      // A fraction is for several instances splitting a Page's budget without Redis: 4 instances × 0.5 = 2 per second.
      if (!/^\d+(\.\d+)?$/.test(raw) || value > 10_000 || (value > 0 && value < 0.01)) {
        throw new Error('must be 0 (no limit) or a number from 0.01 to 10000');
      }
      return value;
    },
  }),
  GRAPH_PAGE_SENDS_PER_SECOND: setting({
    description:
      "Send API calls (replies and sender actions) per Page in any one-second window: Meta's own limit for text is about 300, apart " +
      "from the conversation calls above, which sends never spend or delay. With `REDIS_URL` it is the whole fleet's. `0`: no limit.",
    default: 300,
    parse: integer(0, 10_000),
  }),
  HUMAN_AGENT_TAG_APPROVED: setting({
    description:
      '`true` when Meta approved this app for the Human Agent feature: `sendMessage(input: { humanAgent: true })` may then reply up to ' +
      "7 days after the person's last message, with the `HUMAN_AGENT` tag. `false`: such sends are refused (`SEND_NOT_PERMITTED`).",
    default: false,
    defaultText: '`false`',
    parse: boolean,
  }),
  SEND_ECHO_WAIT_SECONDS: setting({
    description:
      "How long a send whose answer was lost (`SendOutcomeUnknown`) waits for Meta's echo webhook: a retry with its key then answers " +
      'the message, or `MESSAGE_NOT_SENT` once this passed with no echo.',
    default: 60_000,
    defaultText: '`60`',
    parse: seconds(1, 3_600),
  }),
  SEND_IDEMPOTENCY_TTL_SECONDS: setting({
    description: "How long an `idempotencyKey` keeps its send's outcome (in Redis for a fleet): a retry within it never sends twice.",
    default: 86_400_000,
    defaultText: '`86400`',
    parse: seconds(60, 604_800),
  }),
  GRAPH_THROTTLE_BLOCK_SECONDS: setting({
    description: 'How long a Page is left alone after Graph throttles it, when Graph gives no `estimated_time_to_regain_access`.',
    default: 60_000,
    defaultText: '`60`',
    parse: seconds(1, 86_400),
  }),
  GRAPH_MAX_ATTEMPTS: setting({
    description:
      'Attempts for a read failing transiently (codes 1, 2, `is_transient`, HTTP 5xx, resets, malformed bodies), with exponential ' +
      'backoff and jitter.',
    default: 3,
    parse: integer(1, 10),
  }),
  OPERATION_TIMEOUT_MS: setting({
    description: 'Time an operation may wait for the Graph API, retries included (`OPERATION_TIMEOUT` after).',
    default: 15_000,
    parse: integer(100, 600_000),
  }),
  GRAPH_LIST_CAP: setting({
    description:
      'Most items Graph returns in one list page. A larger `first` is read as several list pages in one batch (batch dependencies). ' +
      '`GRAPH_PAGE_CAP`, its former name, is still read when this is unset (a warning at start-up says so).',
    default: 100,
    parse: integer(1, 100),
  }),
  MAX_INBOX_SOURCES: setting({
    description:
      "Most sources (a Page's Messenger or Instagram inbox) one `Viewer.inbox` merges, or one `inboxEvents` without `pageId` hears; a " +
      'caller reaching more narrows with `pageIds` (`pageId` or `platform`; `INBOX_TOO_WIDE` otherwise).',
    default: 20,
    parse: integer(1, 200),
  }),
  GRAPH_MAX_CONNECTIONS: setting({ description: 'Size of the upstream connection pool.', default: 32, parse: integer(1, 1024) }),
  GRAPH_CONNECT_TIMEOUT_MS: setting({
    description: 'Upstream connect timeout (`GRAPH_TIMEOUT` after).',
    default: 5_000,
    parse: integer(100, 600_000),
  }),
  GRAPH_HEADERS_TIMEOUT_MS: setting({
    description: 'Upstream timeout for response headers (`GRAPH_TIMEOUT` after).',
    default: 15_000,
    parse: integer(100, 600_000),
  }),
  GRAPH_BODY_TIMEOUT_MS: setting({
    description: 'Upstream timeout between body chunks (`GRAPH_TIMEOUT` after).',
    default: 15_000,
    parse: integer(100, 600_000),
  }),
  MAX_QUERY_COST: setting({
    description:
      'Graph items an operation may read, estimated before it runs: `first` × nested `first` … (50 conversations × 20 messages = 1,050 ' +
      'passes; 100 × 100 does not).',
    default: 2_500,
    parse: integer(1, 1_000_000),
  }),
  MAX_QUERY_DEPTH: setting({
    description:
      'Depth of selection sets, the operation counted as level 1. Introspection has its own limits (the standard introspection query ' +
      'passes; deeper, aliased or repeated introspection does not).',
    default: 12,
    parse: integer(2, 100),
  }),
  MAX_QUERY_TOKENS: setting({ description: 'Tokens in a document.', default: 2_000, parse: integer(50, 100_000) }),
  MAX_BATCHED_OPERATIONS: setting({
    description: 'Operations in one batched HTTP request (`0`: batching refused).',
    default: 10,
    parse: integer(0, 100),
  }),
  MAX_REQUEST_BODY_BYTES: setting({
    description:
      'Largest request body read, in bytes (a POST to `/graphql` or to the webhook callback), and largest WebSocket message. A larger ' +
      'body is refused with HTTP 413 `REQUEST_TOO_LARGE` before it is parsed. A document at `MAX_QUERY_TOKENS` takes a few KB; raise ' +
      'it for large batched requests or variables.',
    default: 512 * 1024,
    defaultText: '`524288` (512 KB)',
    parse: integer(1024, 100 * 1024 * 1024),
  }),
  HOST: setting<string | undefined>({
    description:
      'Address the gateway listens on: `127.0.0.1` behind a proxy on the same machine, `::` or `0.0.0.0` for every interface. Unset: ' +
      "every interface (Node's default: IPv6 and IPv4 where the machine has both).",
    default: undefined,
    defaultText: '*(unset: every interface)*',
    parse: (raw) => {
      if (isIP(raw) === 0 && !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(raw)) {
        throw new Error('must be an IP address or a host name, such as 127.0.0.1 or ::');
      }
      return raw;
    },
  }),
  KEEP_ALIVE_TIMEOUT_SECONDS: setting({
    description:
      'How long an idle keep-alive connection is kept open. Set it above the idle timeout of the load balancer in front (AWS ALB: ' +
      '60 s): otherwise the gateway may close a connection just as the balancer reuses it, and that request fails (a 502). The ' +
      'time allowed for request headers is kept a second above it.',
    default: 72_000,
    defaultText: '`72`',
    parse: seconds(1, 3_600),
  }),
  SHUTDOWN_DRAIN_SECONDS: setting<number | undefined>({
    description:
      'On `SIGTERM` (or `SIGINT`), how long the instance keeps serving after `/health/ready` turned 503, every answer with ' +
      '`Connection: close`, before it stops taking connections: time for the load balancer to see it unready and move its ' +
      'keep-alive connections to other instances (see [Deploying](#deploying)).',
    default: undefined,
    defaultText: '`5` in production, else `0`',
    parse: seconds(0, 3_600),
  }),
  REDIS_REQUIRED: setting({
    description:
      '`true`: `/health/ready` answers 503 while Redis (`REDIS_URL`) is unreachable, so a load balancer sends traffic only to ' +
      "instances that share the fleet's state. `false`: an instance in degraded mode stays ready (it serves alone, at its share).",
    default: false,
    defaultText: '`false`',
    parse: boolean,
  }),
  FLEET_SIZE_HINT: setting<number | undefined>({
    description:
      'Instances this one assumes in its fleet until it has heard from the others: an instance that starts while Redis is ' +
      "unreachable spends `1/FLEET_SIZE_HINT` of each Page's budgets (calls and sends) until Redis answers, so a fleet restarted " +
      "together during a Redis outage stays within Meta's limits; after that, the live count replaces it. Without `REDIS_URL` " +
      'each instance spends `1/FLEET_SIZE_HINT` of the rates, always. Set it to the number of instances you run.',
    default: undefined,
    defaultText: '`1` without `REDIS_URL`, `2` with it',
    parse: integer(1, 1_000),
  }),
  MAX_SUBSCRIPTIONS: setting({
    description:
      'Subscriptions the instance holds at once, over server-sent events and WebSockets together; one more is refused with ' +
      '`TOO_MANY_SUBSCRIPTIONS` (`extensions.per`: `instance`) until one ends.',
    default: 10_000,
    parse: integer(1, 10_000_000),
  }),
  MAX_SUBSCRIPTIONS_PER_CLIENT: setting({
    description:
      'Subscriptions one client holds at once, over server-sent events and WebSockets together (`per`: `client`). A client is the ' +
      "connection's remote address: behind a reverse proxy or a load balancer that does not keep it, every client is the proxy, so " +
      'raise this to `MAX_SUBSCRIPTIONS` there.',
    default: 100,
    parse: integer(1, 10_000_000),
  }),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: setting({
    description:
      'Subscriptions one WebSocket (graphql-ws) may hold at once; one more is refused with `TOO_MANY_SUBSCRIPTIONS` (`per`: ' +
      '`connection`).',
    default: 20,
    parse: integer(1, 1_000),
  }),
  CACHE_MAX_AGE_SECONDS: setting<number | undefined>({
    description:
      'How long a cached Graph read (a conversation list page, a thread, a page of messages) is served to every caller whose token reads ' +
      'its inbox, unless a webhook event drops it sooner. `0`: never served fresh (only stale, see below).',
    default: undefined,
    defaultText: '`60` with webhooks, else `0`',
    parse: seconds(0, 86_400),
  }),
  CACHE_PAGE_MAX_AGE_SECONDS: setting({
    description:
      "How long a Page's own fields read from Graph (`name`) are served from the cache to a token that read that Page or one of its " +
      "inboxes. No webhook announces a Page's rename (the `page` field is not subscribed): only this age bounds it. `0`: never.",
    default: 3_600_000,
    defaultText: '`3600`',
    parse: seconds(0, 86_400),
  }),
  CACHE_STALE_SECONDS: setting({
    description:
      'While Graph cannot be called for a Page (a throttle block, or a queue that would outlast the operation), cached reads up to ' +
      "this old are served instead of `GRAPH_RATE_LIMITED`, marked in `extensions.stale` and by each connection's `fetchedAt`. `0`: " +
      'never.',
    default: 600_000,
    defaultText: '`600`',
    parse: seconds(0, 86_400),
  }),
  CACHE_RECONCILE_SECONDS: setting({
    description:
      'How often the first page of each list read in the last 5 minutes is re-read to catch what no webhook announced, with the ' +
      "Page's idle budget only (never delaying a client's read). `0`: never.",
    default: 30_000,
    defaultText: '`30`',
    parse: seconds(0, 86_400),
  }),
  CACHE_RECONCILE_MAX_LISTS: setting({
    description:
      'Most lists the whole fleet re-reads in one reconciling round (each instance takes its share: this ÷ the live ' +
      'instances), the most recently read first: at most this many background calls per `CACHE_RECONCILE_SECONDS`, however ' +
      'many Pages and instances there are.',
    default: 1_000,
    parse: integer(1, 1_000_000),
  }),
  CAPACITY_PAGES: setting({
    description:
      'Pages whose inboxes one instance is sized to serve. What it remembers per Page is bounded by multiples of it: tags of ' +
      'the read cache (50 per Page), customers and threads known (50 each), webhook events remembered for an hour (100), and ' +
      'CACHE_MAX_ENTRIES and CACHE_MAX_MEGABYTES when unset. Past a bound the least used are forgotten first and hit rates ' +
      'fall gradually, not at once. With `REDIS_URL` the read cache, its tags and customers kept in memory (only while Redis is ' +
      'unreachable) stay at the bounds of 1,000 Pages at most (see [Sizing](#sizing)).',
    default: DEFAULT_CAPACITY_PAGES,
    parse: integer(1, 1_000_000),
  }),
  CAPACITY_TOKENS: setting({
    description:
      'Tokens (agents, each with its own token, or apps) that call one instance within `CREDENTIALS_TTL_SECONDS`: about ' +
      "`CAPACITY_PAGES` × agents per Page. Token identities and strangers' refused probes remembered are bounded by it, proofs " +
      'of reach by 4 per token, remembered cursors by 1 list per 20 tokens (1.6 KB per token, 32 MB at most). With `REDIS_URL` ' +
      'identities and proofs live in Redis, and what an instance keeps of them stays at the bounds of 10,000 tokens at most. See ' +
      '[Sizing](#sizing).',
    default: DEFAULT_CAPACITY_TOKENS,
    parse: integer(1, 10_000_000),
  }),
  CACHE_MAX_ENTRIES: setting<number | undefined>({
    description: 'Most cached reads kept in memory.',
    default: undefined,
    defaultText: '`10` × `CAPACITY_PAGES` (`10000`)',
    parse: integer(1, 10_000_000),
  }),
  CACHE_MAX_MEGABYTES: setting<number | undefined>({
    description:
      'Most megabytes of cached reads kept in memory (JSON size): a first inbox page of 20 conversations with 5 messages each ' +
      'takes about 56 KB. With `REDIS_URL` the fleet caches in Redis, and this bounds only what an instance keeps while Redis is ' +
      'unreachable: unset, 64 whatever `CAPACITY_PAGES` says, so that an outage cannot take more heap than start:prod has.',
    default: undefined,
    defaultText: '`64` per 1,000 `CAPACITY_PAGES` (`64`); with `REDIS_URL`, `64` at most',
    parse: integer(1, 100_000),
  }),
  RESPONSE_CACHE_ENTRIES: setting({
    description:
      "Whole answers kept to serve a viewer's repeated query (an inbox UI polling) without executing it again, while every read it " +
      'was built from is still fresh in the read cache. `0`: off.',
    default: 1_000,
    parse: integer(0, 1_000_000),
  }),
  RESPONSE_CACHE_MAX_MEGABYTES: setting({
    description:
      'Most megabytes of whole answers kept (JSON size, counted twice for the strings in memory), whatever RESPONSE_CACHE_ENTRIES allows.',
    default: 32,
    parse: integer(1, 100_000),
  }),
  DOCUMENT_CACHE_MAX_MEGABYTES: setting({
    description:
      'Most megabytes of parsed operations kept, and of their compiled forms (graphql-jit, for operations run 3 times or more), ' +
      'estimated from their text: about 100 bytes per character parsed, 1,000 compiled (measured on the GraphiQL inbox query).',
    default: 48,
    parse: integer(1, 100_000),
  }),
  REDIS_URL: setting<string | undefined>({
    description:
      'Redis that the instances behind a load balancer share (`redis://[user:password@]host:6379[/db]`, `rediss://` for TLS): one call ' +
      'budget per Page, one read cache, one set of proofs and token identities (no token in clear, see [Who sees ' +
      'what](#who-sees-what)) and one stream of webhook events for the whole fleet (see [Running several ' +
      'instances](#running-several-instances)). Unset: each instance keeps them in its own memory.',
    default: undefined,
    parse: redisUrl,
  }),
  REDIS_KEY_PREFIX: setting({
    description: 'Starts every Redis key and channel the gateway uses, so several deployments can share one Redis.',
    default: 'inbox-gateway:',
    parse: (raw) => {
      if (!/^[A-Za-z0-9:._-]{1,64}$/.test(raw)) throw new Error('must be 1 to 64 letters, digits or `:._-`');
      return raw;
    },
  }),
  PERSISTED_OPERATIONS_FILE: setting<ReadonlyMap<string, string> | undefined>({
    description:
      'JSON manifest `{"<sha256 hash>": "<GraphQL document>"}` (what GraphQL Code Generator\'s `persistedDocuments` writes): clients ' +
      'may send `extensions.persistedQuery { version: 1, sha256Hash }` instead of the text. Checked at start-up: every document must ' +
      'parse.',
    default: undefined,
    parse: (raw) => {
      const documents = new Map<string, string>();
      for (const [hash, document] of Object.entries(jsonObjectFile(raw))) {
        const name = hash.slice(0, 80);
        if (typeof document !== 'string') throw new Error(`must map hashes to GraphQL documents: the value of "${name}" is not a string`);
        try {
          parse(document);
        } catch (error) {
          throw new Error(
            `must name a JSON file of GraphQL documents: the document of "${name}" does not parse: ` +
              `${(error as Error).message.slice(0, 200)}`,
          );
        }
        documents.set(hash, document);
      }
      return documents;
    },
  }),
  PERSISTED_OPERATIONS_ONLY: setting({
    description:
      "`true`: run only the manifest's operations (`PERSISTED_QUERY_ONLY` for any text), so the gateway serves what your apps ship " +
      'and nothing else.',
    default: false,
    defaultText: '`false`',
    parse: boolean,
  }),
  CORS_ORIGINS: setting<readonly string[] | undefined>({
    description:
      "Comma-separated origins (`https://inbox.example`) whose browser pages may call the gateway with the caller's credentials " +
      '(CORS) and open a WebSocket on it; pages the gateway serves itself (GraphiQL) always may. Unset: in development, only pages ' +
      'on this machine (`http(s)://localhost`, `127.0.0.0/8` or `[::1]`, any port); in production, none.',
    default: undefined,
    defaultText: 'loopback origins in development, none in production',
    parse: (raw) => commaList(raw).map(origin('https://inbox.example')),
  }),
  NODE_ENV: setting({
    description:
      '`production`: JSON log lines, error details hidden, upstream usage reported only on request, no CORS unless `CORS_ORIGINS`. ' +
      '`development` and `test`: readable log lines, error details shown. The start-up log says which mode runs.',
    default: 'development',
    parse: oneOf('development', 'production', 'test'),
  }),
  GRAPHIQL: setting<boolean | undefined>({
    description:
      'Serves GraphiQL (and its assets) to browsers at `/graphql`. A public production endpoint has no use for an IDE: it shows ' +
      'anyone the schema and a demo query.',
    default: undefined,
    defaultText: '`true` in development, `false` in production',
    parse: boolean,
  }),
  INTROSPECTION: setting<boolean | undefined>({
    description:
      '`false`: operations selecting `__schema` or `__type` are refused with `INTROSPECTION_DISABLED` (`__typename` still answers). ' +
      'Tools that need the schema can read the committed `schema.graphql` instead.',
    default: undefined,
    defaultText: '`true` in development, `false` in production',
    parse: boolean,
  }),
  METRICS_PORT: setting<number | undefined>({
    description:
      'Serves Prometheus metrics at `/metrics` on this port, its own listener, and no longer on `PORT` (`0`: any free port, logged ' +
      'at start-up). Unset: `/metrics` on `PORT`, public unless a proxy hides it.',
    default: undefined,
    parse: integer(0, 65_535),
  }),
  LOG_LEVEL: setting({
    description:
      "Least severe log lines written (`debug` adds yoga's own request lines). Every line carries its time and is scrubbed of " +
      "tokens, proofs and Graph URLs, and of the configured secrets and recent callers' tokens by value, whatever their shape.",
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  }),
  TRACE_PAGE_IDS: setting({
    description:
      '`true`: budget wait spans carry the Page they wait for (`graph.page.id`). Off by default, as metrics keep Page ids out ' +
      'of their labels: a trace backend may be seen by more people than the inboxes. Traces themselves are turned on with the ' +
      'standard `OTEL_*` variables (see Traces).',
    default: false,
    defaultText: '`false`',
    parse: boolean,
  }),
  EMULATOR_ACCESS_LEVEL: setting({
    description:
      "The embedded emulator's access level for the app: `standard` lists only conversations with people who have a role on the " +
      'app (a few demo customers are app testers), as Graph does for an app in development or without App Review; `advanced` ' +
      'lists everyone.',
    default: 'advanced' as 'standard' | 'advanced',
    parse: oneOf('standard', 'advanced'),
  }),
  EMULATOR_PORT: setting({
    description:
      'Port of the embedded emulator (with no `GRAPH_API_URL`) and of `npm run emulator`. When it is taken, the embedded emulator ' +
      'listens on another free port and the log says which.',
    default: 4010,
    parse: integer(0, 65_535),
  }),
} as const;

type SettingName = keyof typeof SETTINGS;
/** The value of every setting, by variable name. */
export type Settings = { readonly [K in SettingName]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never };

/** What `NODE_ENV` may say. */
export type NodeEnv = Settings['NODE_ENV'];
/** Log levels, least verbose first (`silent`: none). */
export type LogLevel = Settings['LOG_LEVEL'];

/** A manifest of operations clients may send by hash (`extensions.persistedQuery.sha256Hash`). */
export interface PersistedOperations {
  readonly documents: ReadonlyMap<string, string>;
  /** Refuse any operation sent as text. */
  readonly only: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads every setting; a value that does not parse is reported (naming the variable and the value) and its default kept. */
function readSettings(env: Env, problems: string[]): Settings {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const raw = env[name]?.trim();
    values[name] = spec.default;
    if (raw === undefined || raw === '') continue;
    try {
      values[name] = spec.parse(raw);
    } catch (error) {
      const message = (error as Error).message;
      // Secrets and file contents are never echoed; other values are, so operators see what was read, but never a URL's credentials.
      const echoed = name.endsWith('_FILE') || name.endsWith('SECRET') || name.endsWith('TOKEN') || message.includes(', got ');
      problems.push(withoutUrlCredentials(`${name} ${message}${echoed ? '' : `, got "${withoutUrlCredentials(raw).slice(0, 100)}"`}`));
    }
  }
  return values as Settings;
}

/** Settings read under a name that has changed: the old name, and the new one to use. */
export const RENAMED_SETTINGS: ReadonlyArray<{ readonly old: string; readonly current: SettingName }> = [
  { old: 'GRAPH_PAGE_CAP', current: 'GRAPH_LIST_CAP' },
];

/** GRAPH_LIST_CAP, or (unset) its former name GRAPH_PAGE_CAP, read with the same rule. */
function listCapOf(env: Env, value: number, problems: string[]): number {
  const current = env.GRAPH_LIST_CAP?.trim();
  const former = env.GRAPH_PAGE_CAP?.trim();
  if ((current !== undefined && current !== '') || former === undefined || former === '') return value;
  try {
    return SETTINGS.GRAPH_LIST_CAP.parse(former);
  } catch (error) {
    problems.push(`GRAPH_PAGE_CAP ${(error as Error).message}, got "${former.slice(0, 100)}"`);
    return value;
  }
}

/** The renamed settings an environment still sets under their former name: what to tell the operator once. */
export function formerNamesIn(env: Env = process.env): string[] {
  return RENAMED_SETTINGS.filter(({ old }) => (env[old]?.trim() ?? '') !== '').map(
    ({ old, current }) => `${old} is now ${current}: ${old} is still read while ${current} is unset, but set ${current} instead.`,
  );
}

/** Reads and validates the gateway's environment; throws a {@link ConfigError} listing every problem. */
export function readConfig(env: Env = process.env): GatewayConfig {
  const problems: string[] = [];
  const s = readSettings(env, problems);
  if (s.PERSISTED_OPERATIONS_ONLY && (env.PERSISTED_OPERATIONS_FILE?.trim() ?? '') === '') {
    problems.push('PERSISTED_OPERATIONS_ONLY=true needs PERSISTED_OPERATIONS_FILE: the operations to allow');
  }
  if (s.WEBHOOK_VERIFY_TOKEN !== undefined && s.GRAPH_APP_SECRET === undefined && s.GRAPH_API_URL !== undefined) {
    problems.push('WEBHOOK_VERIFY_TOKEN needs GRAPH_APP_SECRET: webhook deliveries are verified with the app secret');
  }
  if (s.REDIS_REQUIRED && s.REDIS_URL === undefined) {
    problems.push('REDIS_REQUIRED=true needs REDIS_URL: the Redis that readiness waits for');
  }
  const graphListCap = listCapOf(env, s.GRAPH_LIST_CAP, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return groupSettings(s, graphListCap);
}

/**
 * The settings as the modules that use them take them: the one mapping from the table's rows (whose descriptions
 * say what each means) to the configuration's shape, whose type is this function's (no second description of it).
 */
function groupSettings(s: Settings, graphListCap: number) {
  const sized = capacityBounds(s.CAPACITY_PAGES, s.CAPACITY_TOKENS);
  const capacity = s.REDIS_URL === undefined ? sized : boundsWithRedis(sized);
  return {
    port: s.PORT,
    host: s.HOST,
    keepAliveTimeoutMs: s.KEEP_ALIVE_TIMEOUT_SECONDS,
    // A balancer needs a few seconds to see a production instance unready; in development nobody waits for it.
    shutdownDrainMs: s.SHUTDOWN_DRAIN_SECONDS ?? (s.NODE_ENV === 'production' ? PRODUCTION_SHUTDOWN_DRAIN_MS : 0),
    graphApiUrl: s.GRAPH_API_URL,
    graphApiVersion: s.GRAPH_API_VERSION,
    defaultAccessToken: s.GRAPH_ACCESS_TOKEN,
    appSecret: s.GRAPH_APP_SECRET,
    cursorSecret: s.CURSOR_SECRET,
    nodeEnv: s.NODE_ENV,
    graphiql: s.GRAPHIQL ?? s.NODE_ENV !== 'production',
    introspection: s.INTROSPECTION ?? s.NODE_ENV !== 'production',
    metricsPort: s.METRICS_PORT,
    logLevel: s.LOG_LEVEL,
    tracePageIds: s.TRACE_PAGE_IDS,
    maxRequestBodyBytes: s.MAX_REQUEST_BODY_BYTES,
    emulatorPort: s.EMULATOR_PORT,
    emulatorAccessLevel: s.EMULATOR_ACCESS_LEVEL,
    pageCallsPerSecond: s.GRAPH_PAGE_CALLS_PER_SECOND,
    maxAttempts: s.GRAPH_MAX_ATTEMPTS,
    throttleBlockMs: s.GRAPH_THROTTLE_BLOCK_SECONDS,
    operationTimeoutMs: s.OPERATION_TIMEOUT_MS,
    graphListCap,
    maxInboxSources: s.MAX_INBOX_SOURCES,
    upstream: {
      connections: s.GRAPH_MAX_CONNECTIONS,
      connectTimeoutMs: s.GRAPH_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: s.GRAPH_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: s.GRAPH_BODY_TIMEOUT_MS,
    },
    limits: {
      maxCost: s.MAX_QUERY_COST,
      maxDepth: s.MAX_QUERY_DEPTH,
      maxTokens: s.MAX_QUERY_TOKENS,
      maxBatchedOperations: s.MAX_BATCHED_OPERATIONS,
    },
    pageTokens: s.GRAPH_PAGE_TOKENS_FILE,
    credentialsTtlMs: s.CREDENTIALS_TTL_SECONDS,
    corsOrigins: s.CORS_ORIGINS,
    webhookVerifyToken: s.WEBHOOK_VERIFY_TOKEN,
    redis: { url: s.REDIS_URL, keyPrefix: s.REDIS_KEY_PREFIX },
    redisRequired: s.REDIS_REQUIRED,
    // With Redis there is a fleet, so at least two instances: one that never heard from the others must not take the whole budget.
    fleetSizeHint: s.FLEET_SIZE_HINT ?? (s.REDIS_URL === undefined ? 1 : 2),
    persistedOperations: persistedOperationsOf(s),
    sends: {
      callsPerSecond: s.GRAPH_PAGE_SENDS_PER_SECOND,
      humanAgentApproved: s.HUMAN_AGENT_TAG_APPROVED,
      echoWaitMs: s.SEND_ECHO_WAIT_SECONDS,
      idempotencyTtlMs: s.SEND_IDEMPOTENCY_TTL_SECONDS,
    },
    maxSubscriptions: s.MAX_SUBSCRIPTIONS,
    maxSubscriptionsPerClient: s.MAX_SUBSCRIPTIONS_PER_CLIENT,
    maxSubscriptionsPerConnection: s.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    capacity,
    cache: cacheSettings(s, capacity),
  };
}

/** The caches' settings (CACHE_*, RESPONSE_CACHE_*, DOCUMENT_CACHE_MAX_MEGABYTES), as {@link groupSettings} groups them. */
function cacheSettings(s: Settings, capacity: CapacityBounds) {
  const megabytes = 1024 * 1024;
  return {
    maxAgeMs: s.CACHE_MAX_AGE_SECONDS,
    pageMaxAgeMs: s.CACHE_PAGE_MAX_AGE_SECONDS,
    staleMs: s.CACHE_STALE_SECONDS,
    reconcileMs: s.CACHE_RECONCILE_SECONDS,
    reconcileMaxLists: s.CACHE_RECONCILE_MAX_LISTS,
    maxEntries: s.CACHE_MAX_ENTRIES ?? capacity.cacheEntries,
    maxBytes: s.CACHE_MAX_MEGABYTES === undefined ? capacity.cacheBytes : s.CACHE_MAX_MEGABYTES * megabytes,
    responseEntries: s.RESPONSE_CACHE_ENTRIES,
    responseMaxBytes: s.RESPONSE_CACHE_MAX_MEGABYTES * megabytes,
    documentMaxBytes: s.DOCUMENT_CACHE_MAX_MEGABYTES * megabytes,
  };
}

/** The persisted operations' manifest and whether only they run; `undefined` without PERSISTED_OPERATIONS_FILE. */
function persistedOperationsOf(s: Settings): PersistedOperations | undefined {
  return s.PERSISTED_OPERATIONS_FILE === undefined
    ? undefined
    : { documents: s.PERSISTED_OPERATIONS_FILE, only: s.PERSISTED_OPERATIONS_ONLY };
}

/** The configuration: every setting, grouped as the modules that use them take them (see `groupSettings`). */
export type GatewayConfig = ReturnType<typeof groupSettings>;
/** Upstream connection pool and timeouts (GRAPH_MAX_CONNECTIONS, GRAPH_*_TIMEOUT_MS). */
export type UpstreamPoolConfig = GatewayConfig['upstream'];
/** Limits on what a client may ask (MAX_QUERY_*, MAX_BATCHED_OPERATIONS). */
export type QueryLimits = GatewayConfig['limits'];
/** The read cache's settings (CACHE_*, RESPONSE_CACHE_ENTRIES). */
export type ReadCacheConfig = GatewayConfig['cache'];

/** How long cached reads are served fresh when CACHE_MAX_AGE_SECONDS is unset and webhooks keep the cache fresh. */
export const CACHE_MAX_AGE_WITH_WEBHOOKS_MS = 60_000;

/** The configuration when nothing is set: the defaults modules fall back to, and tests start from. */
export const DEFAULT_CONFIG: Readonly<GatewayConfig> = readConfig({});

/** How long a tag's generation is kept: it must outlive every entry it judges (fresh for `cacheMaxAgeMs`, or stale). */
export function cacheTagTtlMs(config: Pick<GatewayConfig, 'cache'>, cacheMaxAgeMs: number): number {
  return Math.max(cacheMaxAgeMs, config.cache.pageMaxAgeMs, config.cache.staleMs) + 60_000;
}

/** The README's configuration table, printed from {@link SETTINGS}. */
export function configTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, spec]: [string, Setting<unknown>]) => {
    const shown = spec.defaultText ?? defaultText(spec.default);
    return `| \`${name}\` | ${shown} | ${spec.description} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

function defaultText(value: unknown): string {
  if (value === undefined) return '*(unset)*';
  return `\`${String(value)}\``;
}
