/**
 * `npm run emulator`: runs the Graph API emulator on its own (port from `EMULATOR_PORT`, default
 * 4010) until SIGINT or SIGTERM, as strict as the embedded one `npm start` runs: Meta's 2
 * conversation calls per Page per second (`EMULATOR_CALLS_PER_SECOND`, `0` for none), the Messenger allowance of 200 calls per
 * engaged user per day (`EMULATOR_DAILY_CALLS` sets another per Page), and `appsecret_proof` required with the demo app's
 * secret. Prints where it listens and the demo ids, never a token.
 */
import { DEFAULT_GRAPH_API_VERSION, SETTINGS } from '../config.js';
import { AS_META_TODAY, DEMO, startEmulator } from './index.js';

/**
 * Meta's Conversations API limit per Page (https://developers.facebook.com/docs/messenger-platform/overview/rate-limiting), as the
 * embedded emulator enforces it.
 */
const DEFAULT_CALLS_PER_SECOND = AS_META_TODAY.conversationRateLimit.callsPerSecond;

/** A whole number from the environment within [min, max], or the default; exits with a clear message otherwise. */
function integerFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    process.exit(1);
  }
  return value;
}

/** EMULATOR_PORT, read as the gateway reads it (src/config.ts). */
function readPort(raw: string): number {
  if (raw === '') return SETTINGS.EMULATOR_PORT.default;
  try {
    return SETTINGS.EMULATOR_PORT.parse(raw);
  } catch (error) {
    console.error(`EMULATOR_PORT ${(error as Error).message}, got "${raw.slice(0, 100)}"`);
    process.exit(1);
  }
}

const port = readPort(process.env.EMULATOR_PORT?.trim() ?? '');
const callsPerSecond = integerFromEnv('EMULATOR_CALLS_PER_SECOND', DEFAULT_CALLS_PER_SECOND, 0, 1_000);
// 0: Meta's allowance, 200 calls per engaged user of the Page per 24 hours.
const dailyCalls = integerFromEnv('EMULATOR_DAILY_CALLS', 0, 0, 100_000_000);

const rawAccessLevel = process.env.EMULATOR_ACCESS_LEVEL?.trim() ?? '';
let accessLevel: 'standard' | 'advanced' = 'advanced';
try {
  if (rawAccessLevel !== '') accessLevel = SETTINGS.EMULATOR_ACCESS_LEVEL.parse(rawAccessLevel);
} catch (error) {
  console.error(`EMULATOR_ACCESS_LEVEL ${(error as Error).message}, got "${rawAccessLevel.slice(0, 100)}"`);
  process.exit(1);
}

const emulator = await startEmulator({
  port,
  accessLevel,
  oldestLiveVersion: AS_META_TODAY.oldestLiveVersion,
  sendRateLimit: AS_META_TODAY.sendRateLimit,
  demoReplyWindows: true,
  // "Require App Secret" on, with the demo app's secret (Meta: Securing Requests,
  // developers.facebook.com/docs/graph-api/guides/secure-requests).
  appSecret: DEMO.appSecret,
  requireAppSecretProof: true,
  ...(callsPerSecond === 0 ? {} : { conversationRateLimit: { callsPerSecond } }),
  ...(dailyCalls === 0 ? {} : { dailyCalls }),
}).catch((error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE') throw error;
  console.error(`EMULATOR_PORT ${port} is in use: stop what listens there or set EMULATOR_PORT to another port (0: any free port)`);
  process.exit(1);
});
const { acme, bistro, quiet } = DEMO.pages;
const perSecond = callsPerSecond === 0 ? 'no conversation rate limit' : `${callsPerSecond} conversation calls per Page per second`;
const daily =
  dailyCalls !== 0
    ? `${dailyCalls} calls per Page per 24 hours (EMULATOR_DAILY_CALLS)`
    : callsPerSecond === 0
      ? 'no daily allowance'
      : '200 calls per engaged user per Page per 24 hours';
const rate = `${perSecond}; ${daily}`;
console.log(`Graph API emulator listening on ${emulator.url} (unversioned paths serve ${DEFAULT_GRAPH_API_VERSION}; ${rate})`);
console.log(`demo pages: ${acme.name} ${acme.id} (Instagram ${acme.instagramId}), ${bistro.name} ${bistro.id}, ${quiet.name} ${quiet.id}`);
console.log('demo tokens: see README / src/emulator/seed.ts');
console.log("appsecret_proof: required, with the demo app's secret (DEMO.appSecret in src/emulator/seed/demo.ts)");
console.log(
  `webhooks: POST ${emulator.url}/_emulator/subscriptions {"callbackUrl","verifyToken"} subscribes a gateway; POST ` +
    `${emulator.url}/_emulator/messages {"conversationId","text"} sends a message`,
);

let closing = false;
const shutdown = (signal: string): void => {
  if (closing) return;
  closing = true;
  console.log(`${signal}: closing the emulator`);
  emulator.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('emulator did not close cleanly', error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
