/**
 * `npm run emulator`: runs the Graph API emulator on its own (port from `EMULATOR_PORT`, default
 * 4010) until SIGINT or SIGTERM. Prints where it listens and the demo ids, never a token.
 */
import { DEMO, startEmulator } from './index.js';

const DEFAULT_EMULATOR_PORT = 4010;

const rawPort = process.env.EMULATOR_PORT?.trim();
const port = rawPort === undefined || rawPort === '' ? DEFAULT_EMULATOR_PORT : Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`EMULATOR_PORT must be an integer from 0 to 65535, got "${rawPort}"`);
  process.exit(1);
}

// As on Graph today: versions that expired are served by the oldest live one.
const emulator = await startEmulator({ port, oldestLiveVersion: 'v21.0' });
const { acme, bistro, quiet } = DEMO.pages;
console.log(`Graph API emulator listening on ${emulator.url} (unversioned paths serve v25.0)`);
console.log(`demo pages: ${acme.name} ${acme.id} (Instagram ${acme.instagramId}), ${bistro.name} ${bistro.id}, ${quiet.name} ${quiet.id}`);
console.log('demo tokens: see README / src/emulator/seed.ts');
console.log(
  `webhooks: POST ${emulator.url}/_emulator/subscriptions {"callbackUrl","verifyToken"} subscribes a gateway; POST ${emulator.url}/_emulator/messages {"conversationId","text"} sends a message`,
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
