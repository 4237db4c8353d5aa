import { readFileSync } from 'node:fs';
import { parse } from 'graphql';

/**
 * Configuration, read and validated once from the environment at start-up.
 * Every problem is reported at once with what was expected and what was received.
 */

/** A current Graph API version; see ../shared/docs/graph-api.md §0 for the availability table. */
export const DEFAULT_GRAPH_API_VERSION = 'v25.0';
export const DEFAULT_PORT = 4000;

export interface GatewayConfig {
  port: number;
  /** Origin of the Graph API, e.g. `https://graph.facebook.com`. `undefined` = start the embedded emulator. */
  graphApiUrl: string | undefined;
  graphApiVersion: string;
  /** Used when a request carries no `Authorization: Bearer` token of its own. */
  defaultAccessToken: string | undefined;
  /** App secret for `appsecret_proof`; optional. */
  appSecret: string | undefined;
  /** Key that signs Relay cursors; `undefined` = a random key per process. */
  cursorSecret: string | undefined;
  nodeEnv: string;
  /** Graph calls per Page per second (0: no limit); a fraction is one instance's share of a Page's budget. */
  pageCallsPerSecond: number;
  /** Attempts for a read that fails transiently, the first included. */
  maxAttempts: number;
  /** Block after a throttle when Graph gives no estimate, in ms. */
  throttleBlockMs: number;
  /** Time an operation may wait for the Graph API, retries included, in ms. */
  operationTimeoutMs: number;
  /** Most items Graph returns in one page; larger requests are split into dependent batch items. */
  graphPageCap: number;
  /** Upstream connection pool and timeouts. */
  upstream: { connections: number; connectTimeoutMs: number; headersTimeoutMs: number; bodyTimeoutMs: number };
  /** Limits on what a client may ask. */
  limits: QueryLimits;
  /** Server-side Page tokens by Page id, from GRAPH_PAGE_TOKENS_FILE. */
  pageTokens: Map<string, string>;
  /** How long a token's identity and Page tokens are remembered, in ms. */
  credentialsTtlMs: number;
  /** Origins allowed by CORS; `undefined`: any origin in development, none in production. */
  corsOrigins: string[] | undefined;
  /** What Meta's webhook handshake must present; with the app secret it turns the webhook callback on. */
  webhookVerifyToken: string | undefined;
  /** Origins of the other instances, which each webhook delivery is passed on to. */
  webhookPeers: string[];
  /** Persisted operations by hash, and whether only they may run. */
  persistedOperations: PersistedOperations | undefined;
}

/** A manifest of operations clients may send by hash (`extensions.persistedQuery.sha256Hash`). */
export interface PersistedOperations {
  readonly documents: ReadonlyMap<string, string>;
  /** Refuse any operation sent as text. */
  readonly only: boolean;
}

/** Time an operation may wait for the Graph API, retries included. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 15_000;

/** Limits on what a client may ask, when the environment does not say. */
export const DEFAULT_LIMITS: QueryLimits = { maxCost: 2_500, maxDepth: 12, maxTokens: 2_000, maxBatchedOperations: 10 };

export interface QueryLimits {
  /** Estimated Graph items a query may read (`first` × nested `first` …). */
  maxCost: number;
  /** Depth of selection sets. */
  maxDepth: number;
  /** Tokens in a document. */
  maxTokens: number;
  /** Operations in one batched HTTP request (0: batching refused). */
  maxBatchedOperations: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the gateway's environment; throws a {@link ConfigError} listing every problem. */
export function readConfig(env: Env = process.env): GatewayConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };

  let port = DEFAULT_PORT;
  const rawPort = value('PORT');
  if (rawPort !== undefined) {
    port = Number(rawPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      problems.push(`PORT must be an integer from 0 to 65535, got "${rawPort}"`);
    }
  }

  let graphApiUrl = value('GRAPH_API_URL');
  if (graphApiUrl !== undefined) {
    try {
      const url = new URL(graphApiUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('protocol');
      if (url.pathname !== '/' || url.search !== '' || url.username !== '' || url.password !== '') {
        problems.push(
          `GRAPH_API_URL must be an origin such as https://graph.facebook.com (no path, query or credentials), got "${url.origin}${url.pathname}"`,
        );
      }
      graphApiUrl = url.origin;
    } catch {
      problems.push(`GRAPH_API_URL must be an http(s) URL such as https://graph.facebook.com, got "${graphApiUrl}"`);
    }
  }

  const graphApiVersion = value('GRAPH_API_VERSION') ?? DEFAULT_GRAPH_API_VERSION;
  if (!/^v\d{1,2}\.\d$/.test(graphApiVersion)) {
    problems.push(`GRAPH_API_VERSION must look like "v25.0", got "${graphApiVersion}"`);
  }

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return parsed;
  };
  // A fraction is for several instances sharing a Page's budget: 4 instances × 0.5 = 2 per second.
  const pageCallsPerSecond = ((): number => {
    const raw = value('GRAPH_PAGE_CALLS_PER_SECOND');
    if (raw === undefined) return 2;
    const parsed = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || parsed > 10_000 || (parsed > 0 && parsed < 0.01)) {
      problems.push(`GRAPH_PAGE_CALLS_PER_SECOND must be 0 (no limit) or a number from 0.01 to 10000, got "${raw}"`);
      return 2;
    }
    return parsed;
  })();
  const maxAttempts = integer('GRAPH_MAX_ATTEMPTS', 3, 1, 10);
  const throttleBlockMs = integer('GRAPH_THROTTLE_BLOCK_SECONDS', 60, 1, 86_400) * 1000;
  const operationTimeoutMs = integer('OPERATION_TIMEOUT_MS', DEFAULT_OPERATION_TIMEOUT_MS, 100, 600_000);
  const graphPageCap = integer('GRAPH_PAGE_CAP', 100, 1, 100);
  const upstream = {
    connections: integer('GRAPH_MAX_CONNECTIONS', 32, 1, 1024),
    connectTimeoutMs: integer('GRAPH_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    headersTimeoutMs: integer('GRAPH_HEADERS_TIMEOUT_MS', 15_000, 100, 600_000),
    bodyTimeoutMs: integer('GRAPH_BODY_TIMEOUT_MS', 15_000, 100, 600_000),
  };
  const limits: QueryLimits = {
    maxCost: integer('MAX_QUERY_COST', DEFAULT_LIMITS.maxCost, 1, 1_000_000),
    maxDepth: integer('MAX_QUERY_DEPTH', DEFAULT_LIMITS.maxDepth, 2, 100),
    maxTokens: integer('MAX_QUERY_TOKENS', DEFAULT_LIMITS.maxTokens, 50, 100_000),
    maxBatchedOperations: integer('MAX_BATCHED_OPERATIONS', DEFAULT_LIMITS.maxBatchedOperations, 0, 100),
  };

  const credentialsTtlMs = integer('CREDENTIALS_TTL_SECONDS', 300, 0, 86_400) * 1000;
  const pageTokens = new Map<string, string>();
  const tokensFile = value('GRAPH_PAGE_TOKENS_FILE');
  if (tokensFile !== undefined) {
    try {
      const parsed = JSON.parse(readFileSync(tokensFile, 'utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      for (const [pageId, token] of Object.entries(parsed)) {
        if (!/^\d+$/.test(pageId) || typeof token !== 'string' || token === '') throw new Error('not an object of Page id → token strings');
        pageTokens.set(pageId, token);
      }
    } catch (error) {
      // Never echo the file's content: it holds tokens.
      problems.push(
        `GRAPH_PAGE_TOKENS_FILE must name a JSON file of {"<page id>": "<page token>"}: ${(error as Error).message.replace(/EAA\w+/g, '[token]').slice(0, 120)}`,
      );
    }
  }
  let persistedOperations: Map<string, string> | undefined;
  const persistedFile = value('PERSISTED_OPERATIONS_FILE');
  if (persistedFile !== undefined) {
    try {
      const parsed = JSON.parse(readFileSync(persistedFile, 'utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      persistedOperations = new Map();
      for (const [hash, document] of Object.entries(parsed)) {
        if (typeof document !== 'string') throw new Error(`the value of "${hash.slice(0, 80)}" is not a string`);
        try {
          parse(document);
        } catch (error) {
          throw new Error(`the document of "${hash.slice(0, 80)}" does not parse: ${(error as Error).message}`);
        }
        persistedOperations.set(hash, document);
      }
    } catch (error) {
      problems.push(
        `PERSISTED_OPERATIONS_FILE must name a JSON file of {"<hash>": "<GraphQL document>"}: ${(error as Error).message.slice(0, 200)}`,
      );
    }
  }
  const rawOnly = value('PERSISTED_OPERATIONS_ONLY');
  const persistedOperationsOnly = rawOnly === 'true';
  if (rawOnly !== undefined && rawOnly !== 'true' && rawOnly !== 'false') {
    problems.push(`PERSISTED_OPERATIONS_ONLY must be true or false, got "${rawOnly}"`);
  }
  if (persistedOperationsOnly && persistedFile === undefined) {
    problems.push('PERSISTED_OPERATIONS_ONLY=true needs PERSISTED_OPERATIONS_FILE: the operations to allow');
  }

  const corsOrigins = value('CORS_ORIGINS')
    ?.split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');

  const cursorSecret = value('CURSOR_SECRET');
  if (cursorSecret !== undefined && cursorSecret.length < 16) {
    problems.push('CURSOR_SECRET must be at least 16 characters long');
  }

  const webhookPeers: string[] = [];
  for (const raw of (value('WEBHOOK_PEERS') ?? '')
    .split(',')
    .map((peer) => peer.trim())
    .filter((peer) => peer !== '')) {
    try {
      const url = new URL(raw);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search !== '')
        throw new Error('not an origin');
      webhookPeers.push(url.origin);
    } catch {
      problems.push(`WEBHOOK_PEERS must be comma-separated origins such as http://gateway-2:4000, got "${raw.slice(0, 100)}"`);
    }
  }
  const webhookVerifyToken = value('WEBHOOK_VERIFY_TOKEN');
  if (webhookVerifyToken !== undefined && value('GRAPH_APP_SECRET') === undefined && graphApiUrl !== undefined) {
    problems.push('WEBHOOK_VERIFY_TOKEN needs GRAPH_APP_SECRET: webhook deliveries are verified with the app secret');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    graphApiUrl,
    graphApiVersion,
    defaultAccessToken: value('GRAPH_ACCESS_TOKEN'),
    appSecret: value('GRAPH_APP_SECRET'),
    cursorSecret,
    nodeEnv: value('NODE_ENV') ?? 'development',
    pageCallsPerSecond,
    maxAttempts,
    throttleBlockMs,
    operationTimeoutMs,
    graphPageCap,
    upstream,
    limits,
    pageTokens,
    credentialsTtlMs,
    corsOrigins,
    webhookVerifyToken,
    webhookPeers,
    persistedOperations: persistedOperations === undefined ? undefined : { documents: persistedOperations, only: persistedOperationsOnly },
  };
}
