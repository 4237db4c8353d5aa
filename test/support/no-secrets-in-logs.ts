/**
 * Runs before every test file: every line written during the file — console output, and what the
 * gateway's pino logger writes to stdout and stderr — is scanned for tokens, proofs and Graph URLs,
 * and the file fails if one is found.
 */
import { afterAll, expect } from 'vitest';
import { SECRETS } from './harness.js';

const leaks: string[] = [];
/** Lines written to stdout or stderr and scanned, for tests that prove the scan sees the logger. */
let streamLines = 0;

function scan(line: string, graphUrls: boolean): void {
  if (
    SECRETS.some((secret) => line.includes(secret)) ||
    /(access_token|appsecret_proof)=[^&\s"'[]/.test(line) ||
    (graphUrls && /https?:\/\/[^\s"]+\/v\d+\.\d+\//.test(line))
  )
    leaks.push(line.slice(0, 300));
}

for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    scan(
      args
        .map((arg) => (arg instanceof Error ? `${arg.message}\n${arg.stack}` : typeof arg === 'string' ? arg : JSON.stringify(arg)))
        .join(' '),
      false,
    );
    original(...args);
  };
}

// The gateway's logger writes to process.stdout (src/logger.ts), looking `write` up at each line.
for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    streamLines += 1;
    scan(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk), true);
    return original(chunk, ...rest);
  }) as typeof stream.write;
}

/** Takes the leaks found so far (a test that leaks on purpose, to prove the scan, takes its own). */
export function takeLeaks(): string[] {
  return leaks.splice(0);
}

/** How many stdout and stderr writes were scanned. */
export function scannedStreamWrites(): number {
  return streamLines;
}

afterAll(() => {
  expect(leaks, 'log lines that hold a token, a proof or a Graph URL').toEqual([]);
});
