/**
 * Runs before every test file: every line written to the console during the file — the gateway's
 * logs included — is scanned for tokens and proofs, and the file fails if one is found.
 */
import { afterAll, expect } from 'vitest';
import { SECRETS } from './harness.js';

const leaks: string[] = [];
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    const line = args
      .map((arg) => (arg instanceof Error ? `${arg.message}\n${arg.stack}` : typeof arg === 'string' ? arg : JSON.stringify(arg)))
      .join(' ');
    if (SECRETS.some((secret) => line.includes(secret)) || /(access_token|appsecret_proof)=[^&\s"'[]/.test(line))
      leaks.push(line.slice(0, 300));
    original(...args);
  };
}

afterAll(() => {
  expect(leaks, 'log lines that hold a token or proof').toEqual([]);
});
