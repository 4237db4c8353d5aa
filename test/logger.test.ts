/** The gateway's log: pino lines with their time, JSON or readable, every one scrubbed, and seen by the test setup's scan. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { GraphApiError, GraphTransportError } from '../src/graph-api/errors.js';
import { batchedStdout, createLogger, createYogaLogger } from '../src/logger.js';
import { scannedStreamWrites, takeLeaks } from './support/no-secrets-in-logs.js';

function capture(format: 'json' | 'pretty', level?: 'info' | 'debug') {
  const lines: string[] = [];
  const logger = createLogger({ format, ...(level === undefined ? {} : { level }), destination: { write: (line) => lines.push(line) } });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with an ISO time, a numeric level and the message', () => {
    const { logger, lines } = capture('json');
    const before = Date.now();
    logger.info('GraphQL gateway on http://localhost:4000/graphql');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const entry = JSON.parse(lines[0]!) as { level: number; time: string; msg: string; pid: number };
    expect(entry).toMatchObject({ level: 30, msg: 'GraphQL gateway on http://localhost:4000/graphql', pid: process.pid });
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(entry.time)).toBeGreaterThanOrEqual(before - 1);
  });

  it('writes readable lines in development: time, level, message', () => {
    const { logger, lines } = capture('pretty');
    logger.warn('CURSOR_SECRET is not set');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] WARN: CURSOR_SECRET is not set\n$/);
  });

  it('scrubs every line, whatever wrote it: tokens, proofs and Graph URLs, in messages, errors and fields', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { logger, lines } = capture(format);
      logger.info(`token ${DEMO.tokens.acmePage} and appsecret_proof=0123abcd`);
      logger.error({ err: new Error(`fetch https://graph.facebook.com/v25.0/me?access_token=${DEMO.tokens.alice} failed`) }, 'boom');
      logger.warn({ next: `http://127.0.0.1:4010/v25.0/1000000001/conversations?after=QVFI&access_token=${DEMO.tokens.bob}` }, 'paging');
      const text = lines.join('');
      expect(text).not.toMatch(/EAAG|0123abcd|access_token=E|\/v25\.0\//);
      expect(text).toContain('token [token] and appsecret_proof=[redacted]');
      expect(text).toContain('fetch graph.facebook.com/… failed');
      expect(text).toContain('127.0.0.1:4010/…');
      // Scrubbing keeps JSON lines JSON.
      expect(lines).toHaveLength(3);
      if (format === 'json') for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    }
  });

  it('keeps URLs an operator needs: origins and the gateway address', () => {
    const { logger, lines } = capture('json');
    logger.info('Graph API: embedded emulator at http://127.0.0.1:4010; gateway on http://localhost:4000/graphql');
    expect((JSON.parse(lines[0]!) as { msg: string }).msg).toBe(
      'Graph API: embedded emulator at http://127.0.0.1:4010; gateway on http://localhost:4000/graphql',
    );
  });

  it('writes nothing below LOG_LEVEL', () => {
    const { logger, lines } = capture('json', 'info');
    logger.debug('not written');
    logger.info('written');
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['written']);
  });

  it('writes to stdout by default, where the test setup scans every line for secrets', () => {
    const logger = createLogger({ format: 'json' });
    const before = scannedStreamWrites();
    // The app secret is a secret the scrubber cannot recognise by its shape: only the scan catches it.
    logger.info(`a line the scan must catch: ${DEMO.appSecret}`);
    expect(scannedStreamWrites()).toBe(before + 1);
    expect(takeLeaks()).toEqual([expect.stringContaining('a line the scan must catch')]);
  });
});

describe('batchedStdout', () => {
  it('writes the lines of one turn of the event loop in one write, in order', async () => {
    const writes: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => writes.push(String(chunk)) > 0);
    try {
      const logger = createLogger({ format: 'json', destination: batchedStdout() });
      logger.info('one');
      logger.info('two');
      logger.info('three');
      expect(writes).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      logger.info('next turn');
      await new Promise((resolve) => setImmediate(resolve));
      const messages = writes.map((chunk) =>
        chunk
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { msg: string }).msg),
      );
      expect(messages).toEqual([['one', 'two', 'three'], ['next turn']]);
    } finally {
      write.mockRestore();
    }
  });

  it('writes the lines still pending when the process exits', () => {
    const script =
      "import { batchedStdout } from './src/logger.ts'; const out = batchedStdout(); " +
      "out.write('first\\n'); out.write('last\\n'); process.exit(3);";
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 3, stdout: 'first\nlast\n' });
  });
});

describe('createYogaLogger', () => {
  it('logs upstream failures as one warning with their Graph code, other errors with their stack', () => {
    const { logger, lines } = capture('json');
    const yoga = createYogaLogger(logger);
    yoga.error(
      new GraphApiError(400, {
        code: 190,
        error_subcode: 463,
        message:
          `Session expired for ${DEMO.tokens.expired}. Please read the Graph API documentation at ` +
          `https://developers.facebook.com/docs/graph-api`,
        fbtrace_id: 'Ab1',
      }),
    );
    yoga.error(new GraphTransportError('connection', 'connect ECONNREFUSED 127.0.0.1:4010'));
    yoga.error(new TypeError('Cannot read properties of undefined'));
    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { type: string; stack: string } });
    expect(entries.map(({ level, msg }) => ({ level, msg }))).toEqual([
      { level: 40, msg: 'upstream error: Graph code 190/463 (HTTP 400, fbtrace Ab1): Session expired for [token].' },
      { level: 40, msg: 'upstream connection: connect ECONNREFUSED 127.0.0.1:4010' },
      { level: 50, msg: 'TypeError: Cannot read properties of undefined' },
    ]);
    expect(entries[2]!.err).toMatchObject({ type: 'TypeError', stack: expect.stringContaining('logger.test.ts') });
    // Fields to filter on, beside the message.
    expect(entries[0]).toMatchObject({ graphCode: 190, graphSubcode: 463, httpStatus: 400, fbtraceId: 'Ab1' });
    expect(entries[1]).toMatchObject({ upstreamFailure: 'connection' });
  });

  it("writes yoga's debug lines only at LOG_LEVEL=debug", () => {
    const quiet = capture('json', 'info');
    createYogaLogger(quiet.logger).debug('Parsing request to extract GraphQL parameters');
    expect(quiet.lines).toEqual([]);
    const verbose = capture('json', 'debug');
    createYogaLogger(verbose.logger).debug('Parsing request to extract GraphQL parameters');
    expect(verbose.lines).toHaveLength(1);
  });
});
