/**
 * The process: read the configuration, start the embedded emulator when no Graph API URL is set,
 * serve the gateway, shut down cleanly on SIGINT/SIGTERM.
 */
import { createApp } from './app.js';
import { createGatewayServer } from './http-server.js';
import { ConfigError, readConfig } from './config.js';
import { GraphApiClient } from './graph-api/client.js';
import { GraphScheduler } from './graph-api/scheduler.js';
import { Credentials } from './credentials.js';
import { createCursorCodec } from './schema/cursors.js';

async function main(): Promise<void> {
  const config = readConfig();
  let graphApiUrl: string;
  let defaultAccessToken = config.defaultAccessToken;
  let stopEmulator: (() => Promise<void>) | undefined;

  if (config.graphApiUrl === undefined) {
    // Imported lazily: a gateway pointed at the real Graph API never loads the emulator.
    const { startEmulator, DEMO } = await import('./emulator/index.js');
    // As strict as Meta: 2 conversation calls per Page per second, throttled beyond.
    const emulator = await startEmulator({ defaultVersion: config.graphApiVersion, conversationRateLimit: { callsPerSecond: 2 } });
    graphApiUrl = emulator.url;
    defaultAccessToken ??= DEMO.tokens.acmePage;
    stopEmulator = () => emulator.close();
    console.log(`Graph API: embedded emulator at ${emulator.url} (set GRAPH_API_URL to use another); demo Page ${DEMO.pages.acme.id}`);
  } else {
    graphApiUrl = config.graphApiUrl;
    console.log(`Graph API: ${graphApiUrl}`);
  }
  console.log(`Graph API version: ${config.graphApiVersion}; default access token: ${defaultAccessToken === undefined ? 'none (callers send their own)' : 'configured'}`);
  console.log(`Upstream budget: ${config.pageCallsPerSecond === 0 ? 'no per-Page limit' : `${config.pageCallsPerSecond} calls per Page per second`}; ${config.maxAttempts} attempts per read; operation timeout ${config.operationTimeoutMs} ms`);

  if (config.cursorSecret === undefined) {
    console.warn('CURSOR_SECRET is not set: cursors are signed with a random per-process key, so they stop working after a restart and are not shared by several instances.');
  }
  const client = new GraphApiClient({ baseUrl: graphApiUrl, version: config.graphApiVersion, appSecret: config.appSecret, ...config.upstream });
  const scheduler = new GraphScheduler({
    client,
    pageCallsPerSecond: config.pageCallsPerSecond,
    maxAttempts: config.maxAttempts,
    throttleBlockMs: config.throttleBlockMs,
  });
  const credentials = new Credentials({ scheduler, ttlMs: config.credentialsTtlMs, pageTokens: config.pageTokens });
  if (config.pageTokens.size > 0) console.log(`Serving ${config.pageTokens.size} Page(s) from GRAPH_PAGE_TOKENS_FILE to requests without a token`);
  const app = createApp({
    scheduler,
    credentials,
    servesConfiguredPages: config.pageTokens.size > 0 && defaultAccessToken === undefined,
    corsOrigins: config.corsOrigins,
    cursors: createCursorCodec(config.cursorSecret),
    defaultAccessToken,
    operationTimeoutMs: config.operationTimeoutMs,
    graphPageCap: config.graphPageCap,
    production: config.nodeEnv === 'production',
    limits: config.limits,
  });

  const server = createGatewayServer(app);
  await new Promise<void>((resolve) => server.listen(config.port, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  console.log(`GraphQL gateway on http://localhost:${port}/graphql (GraphiQL in the browser)`);

  const shutdown = (signal: string): void => {
    // Behind a load balancer, a deploy sends SIGTERM: finish what is in flight (an operation lasts at
    // most OPERATION_TIMEOUT_MS), take nothing new, then close the upstream pool.
    const graceMs = config.operationTimeoutMs + 1_000;
    console.log(`${signal}: shutting down; finishing requests in flight (at most ${graceMs} ms)`);
    void server
      .drain(graceMs)
      .then(() => Promise.all([client.close(), stopEmulator?.()]))
      .then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
