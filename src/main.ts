/**
 * The process: read the configuration, start the embedded emulator when no Graph API URL is set,
 * serve the gateway (and Meta's webhook callback when it can verify deliveries), shut down cleanly
 * on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { inspect } from 'node:util';
import { ConfigError, formerNamesIn, readConfig, type GatewayConfig } from './config.js';
import { buildGateway, type Gateway, type UpstreamApi } from './gateway.js';
import { scrubSecrets } from './graph-api/scrub.js';
import { registerConfiguredSecrets } from './graph-api/secrets.js';
import type { GatewayServer } from './http-server.js';
import { batchedStdout, createLogger, type Logger } from './logger.js';
import { startTracing, type Tracing } from './tracing.js';
import { WEBHOOK_PATH } from './webhooks/receiver.js';

/** The Graph API the gateway calls: the embedded emulator, or the one `GRAPH_API_URL` names. */
interface Upstream extends UpstreamApi {
  /** Runs once the gateway listens on `port` (the embedded emulator subscribes its webhook callback). */
  onListening(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** Exit status after a signal, as shells report it: 128 + the signal's number. */
const SIGNAL_EXIT_STATUS = { SIGINT: 130, SIGTERM: 143 } as const;

async function main(): Promise<void> {
  const config = readConfig();
  // A terminal is a person watching (and colours): lines at once. Otherwise (a pipe to a collector, a file), in batches.
  const destination = process.stdout.isTTY ? undefined : batchedStdout();
  const log = createLogger({ level: config.logLevel, format: config.nodeEnv === 'production' ? 'json' : 'pretty', destination });
  for (const warning of formerNamesIn()) log.warn(warning);
  const tracing = await startTracing(process.env);
  log.info(tracing?.description ?? 'Traces: off (set OTEL_TRACES_EXPORTER or OTEL_EXPORTER_OTLP_ENDPOINT to export them)');
  const upstream = await startUpstream(config, log);
  registerSecrets(config, upstream);
  const gateway = await startGateway(config, upstream, log);
  const port = await serve(gateway.server, config.port, config.host);
  await upstream.onListening(port);
  if (config.host !== undefined) log.info(`Listening on ${config.host} (HOST) only`);
  await serveMetrics(gateway, config, log);
  log.info(
    upstream.webhooks === undefined
      ? 'Webhooks: off (set GRAPH_APP_SECRET and WEBHOOK_VERIFY_TOKEN to relay them to the inboxEvents subscription)'
      : `Webhooks: Meta's deliveries at ${WEBHOOK_PATH}, relayed to the inboxEvents subscription` +
          (config.graphApiUrl === undefined ? ' (the emulator is subscribed; POST /_emulator/messages on it sends one)' : ''),
  );
  log.info(
    `GraphQL gateway on http://localhost:${port}/graphql (${config.nodeEnv} mode; ` +
      `${config.graphiql ? 'GraphiQL in the browser' : 'GraphiQL off'}; subscriptions as ` +
      `server-sent events there, or graphql-ws on ws://localhost:${port}/graphql)`,
  );
  shutDownOnSignals(config, gateway, upstream, tracing, log);
  gateway.readiness.started();
}

/** The Graph API to call: with no `GRAPH_API_URL`, the embedded emulator, started here. */
async function startUpstream(config: GatewayConfig, log: Logger): Promise<Upstream> {
  if (config.graphApiUrl !== undefined) {
    log.info(`Graph API: ${config.graphApiUrl}`);
    const { appSecret, webhookVerifyToken: verifyToken } = config;
    return {
      graphApiUrl: config.graphApiUrl,
      defaultAccessToken: config.defaultAccessToken,
      webhooks: appSecret === undefined || verifyToken === undefined ? undefined : { appSecret, verifyToken },
      onListening: async () => {},
      stop: async () => {},
    };
  }
  // Imported lazily: a gateway pointed at the real Graph API never loads the emulator.
  const { AS_META_TODAY, startEmulator, DEMO } = await import('./emulator/index.js');
  const options = {
    defaultVersion: config.graphApiVersion,
    ...AS_META_TODAY,
    demoReplyWindows: true,
    // "Require App Secret" on, as a production app should have it (Meta: Securing Requests,
    // developers.facebook.com/docs/graph-api/guides/secure-requests): with the demo app's secret unless one is set.
    appSecret: config.appSecret ?? DEMO.appSecret,
    requireAppSecretProof: true,
    accessLevel: config.emulatorAccessLevel,
  };
  const emulator = await startEmulator({ ...options, port: config.emulatorPort }).catch(async (error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const elsewhere = await startEmulator({ ...options, port: 0 });
    log.warn(`EMULATOR_PORT ${config.emulatorPort} is in use: the embedded emulator listens on ${elsewhere.url} instead`);
    return elsewhere;
  });
  const { acme, bistro } = DEMO.pages;
  log.info(
    `Graph API: embedded emulator at ${emulator.url} (set GRAPH_API_URL to use another); demo Pages ${acme.name} ${acme.id} and ` +
      `${bistro.name} ${bistro.id}`,
  );
  if (config.emulatorAccessLevel === 'standard') {
    log.info(
      'Emulator: Standard Access (EMULATOR_ACCESS_LEVEL=standard): inboxes list only conversations with people who have a role on the ' +
        'app, as Graph does in development; a few Acme customers are app testers, Bistro has none',
    );
  }
  // The emulator plays Meta's webhooks too: signed with the demo app's secret unless one is set.
  const verifyToken = config.webhookVerifyToken ?? randomBytes(12).toString('hex');
  return {
    graphApiUrl: emulator.url,
    // The demo user: `/me/accounts` gives the gateway the tokens of both demo Pages with an inbox.
    defaultAccessToken: config.defaultAccessToken ?? DEMO.tokens.alice,
    webhooks: { appSecret: config.appSecret ?? DEMO.appSecret, verifyToken },
    appSecret: config.appSecret ?? DEMO.appSecret,
    onListening: (port) => emulator.webhooks.subscribe(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, verifyToken),
    stop: () => emulator.close(),
  };
}

/**
 * Every secret the process holds, scrubbed by value from every error message and log line from now on
 * (tokens of unusual shapes included, which no pattern recognises): the default and Page tokens with
 * their `appsecret_proof`s, the app secret, the webhook verify token, the cursor key, the Redis password.
 */
function registerSecrets(config: GatewayConfig, upstream: Upstream): void {
  registerConfiguredSecrets({
    tokens: [upstream.defaultAccessToken, ...config.pageTokens.values()],
    appSecret: upstream.appSecret ?? config.appSecret,
    others: [upstream.webhooks?.appSecret, upstream.webhooks?.verifyToken, config.cursorSecret, ...redisPasswordOf(config.redis.url)],
  });
}

/** Which secret signs the calls' `appsecret_proof`, never its value. */
function describeProof(config: GatewayConfig, upstream: Upstream): string {
  if (config.appSecret !== undefined) return 'on (GRAPH_APP_SECRET set)';
  if (upstream.appSecret !== undefined) return "on, with the embedded emulator's demo app secret (set GRAPH_APP_SECRET for your app's)";
  return 'off (set GRAPH_APP_SECRET: apps with "Require App Secret" refuse calls without it)';
}

/** The password of a Redis URL, as written and decoded (`redis://user:p%40ss@host`); none without one. */
function redisPasswordOf(url: string | undefined): string[] {
  const password = url === undefined ? '' : new URL(url).password;
  if (password === '') return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password];
  }
}

/** Builds the gateway over `upstream` (gateway.ts), and says what it runs with. */
async function startGateway(config: GatewayConfig, upstream: Upstream, log: Logger): Promise<Gateway> {
  if (config.redis.url !== undefined)
    log.info(
      `Fleet: sharing the call budget, the read cache and inbox events through Redis (REDIS_URL), keys under "${config.redis.keyPrefix}"`,
    );
  const gateway = await buildGateway(config, upstream, log);
  const defaultToken =
    upstream.defaultAccessToken === undefined
      ? 'none (callers send their own)'
      : config.defaultAccessToken === undefined
        ? "the demo user's"
        : 'configured';
  log.info(`Graph API version: ${config.graphApiVersion}; default access token: ${defaultToken}`);
  log.info(`appsecret_proof: ${describeProof(config, upstream)}`);
  const rate = config.pageCallsPerSecond === 0 ? 'no per-Page limit' : `${config.pageCallsPerSecond} calls per Page per second`;
  log.info(`Upstream budget: ${rate}; ${config.maxAttempts} attempts per read; operation timeout ${config.operationTimeoutMs} ms`);
  if (config.cursorSecret === undefined) {
    log.warn(
      'CURSOR_SECRET is not set: cursors are signed with a random per-process key, so they stop working after a restart and are not ' +
        'shared by several instances.',
    );
  }
  if (config.pageTokens.size > 0)
    log.info(`Serving ${config.pageTokens.size} Page(s) from GRAPH_PAGE_TOKENS_FILE to requests without a token`);
  if (config.persistedOperations !== undefined) {
    log.info(
      `Persisted operations: ${config.persistedOperations.documents.size} from ` +
        `PERSISTED_OPERATIONS_FILE${config.persistedOperations.only ? ', and no other operation runs' : ''}`,
    );
  }
  const stale = `stale answers up to ${config.cache.staleMs / 1000} s old while Graph cannot be called`;
  log.info(
    gateway.cacheMaxAgeMs > 0
      ? `Read cache: reads served for ${gateway.cacheMaxAgeMs / 1000} s unless a webhook event drops them sooner; ${stale}`
      : `Read cache: no fresh answers (set CACHE_MAX_AGE_SECONDS, or turn webhooks on); ${stale}`,
  );
  return gateway;
}

/** `/metrics` on METRICS_PORT, when set (the gateway's own port serves it otherwise). */
async function serveMetrics(gateway: Gateway, config: GatewayConfig, log: Logger): Promise<void> {
  if (gateway.metricsServer === undefined || config.metricsPort === undefined) {
    log.info(`Metrics: /metrics on the gateway's port (set METRICS_PORT to serve them on a port of their own)`);
    return;
  }
  const port = await serve(gateway.metricsServer, config.metricsPort, config.host, 'METRICS_PORT');
  log.info(`Metrics: http://localhost:${port}/metrics (METRICS_PORT), not on the gateway's port`);
}

/** A port another process holds: said in one line, not a stack trace. */
class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/**
 * Listens on `port` (read from the setting `name`) of `host` (every interface when undefined); resolves with the port
 * it got (`0`: any free one).
 */
function serve(server: GatewayServer | Server, port: number, host: string | undefined, name = 'PORT'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(`${name} ${port} is in use: stop what listens there or set ${name} to another port (0: any free port)`)
          : error,
      ),
    );
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * Behind a load balancer, a deploy sends SIGTERM: turn unready (`/health/ready` 503) at once, and for
 * SHUTDOWN_DRAIN_SECONDS keep serving, every answer with `Connection: close`, while the balancer notices and moves
 * its keep-alive connections away (closing them now would fail the request it is about to send on one). Then take
 * nothing new, end event streams and close WebSockets (they never finish by themselves; their clients reconnect
 * elsewhere), finish what is in flight (an operation lasts at most OPERATION_TIMEOUT_MS), then close the upstream.
 * A second signal exits at once.
 */
function shutDownOnSignals(config: GatewayConfig, gateway: Gateway, upstream: Upstream, tracing: Tracing | undefined, log: Logger): void {
  let stopping = false;
  const shutDown = (signal: keyof typeof SIGNAL_EXIT_STATUS): void => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(SIGNAL_EXIT_STATUS[signal]);
    }
    stopping = true;
    gateway.readiness.stopping();
    gateway.server.closeKeepAlive();
    const drainMs = config.shutdownDrainMs;
    if (drainMs > 0)
      log.info(
        `${signal}: unready (/health/ready answers 503); serving ${drainMs / 1000} s more, each answer with Connection: close, ` +
          `while load balancers move away (SHUTDOWN_DRAIN_SECONDS; ${signal} again exits at once)`,
      );
    setTimeout(() => void stop(signal), drainMs);
  };
  const stop = async (signal: string): Promise<void> => {
    const graceMs = config.operationTimeoutMs + 1_000;
    log.info(`${signal}: shutting down${describeInFlight(gateway.server, graceMs)} (${signal} again exits at once)`);
    try {
      await gateway.server.drain(graceMs);
      await Promise.all([gateway.close(), upstream.stop()]);
      // The SDK last: it exports the spans the drained requests ended.
      await tracing?.shutdown();
      log.info('Stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'Shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => shutDown('SIGINT'));
  process.on('SIGTERM', () => shutDown('SIGTERM'));
}

/** What a drain starting now ends and waits for, as the shutdown line says it. */
function describeInFlight(server: GatewayServer, graceMs: number): string {
  const { requests, eventStreams, webSockets } = server.inFlight();
  const streams =
    (eventStreams === 0 ? '' : `; ending ${plural(eventStreams, 'event stream')}`) +
    (webSockets === 0 ? '' : `; closing ${plural(webSockets, 'WebSocket')}`);
  const waiting =
    requests === 0
      ? '; no request in flight'
      : `; waiting for ${plural(requests, 'request')} in flight, at most ${Math.ceil(graceMs / 1000)} s`;
  return streams + waiting;
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

main().catch((error: unknown) => {
  // Configuration and port problems are the operator's to fix: their message says how, a stack would not.
  const said = error instanceof ConfigError || error instanceof PortInUseError ? error.message : error;
  // Scrubbed like every log line: a start-up failure may quote a configured secret.
  console.error(scrubSecrets(typeof said === 'string' ? said : inspect(said)));
  process.exit(1);
});
