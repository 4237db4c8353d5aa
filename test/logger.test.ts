import { expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { GraphApiError } from '../src/graph-api/errors.js';
import { createLogger } from '../src/logger.js';

it('writes one scrubbed line per event: no token, proof or Graph URL survives', () => {
  const lines: string[] = [];
  const logger = createLogger({ sink: (level, line) => lines.push(`${level} ${line}`) });
  logger.error(new Error(`fetch https://graph.facebook.com/v25.0/me?access_token=${DEMO.tokens.alice} failed`));
  logger.info(`token ${DEMO.tokens.acmePage} and appsecret_proof=0123abcd`);
  logger.error(
    new GraphApiError(400, { code: 190, error_subcode: 463, message: `Session expired for ${DEMO.tokens.expired}`, fbtrace_id: 'Ab1' }),
  );
  expect(lines.join('\n')).not.toMatch(/EAA|access_token=E|0123abcd/);
  expect(lines[1]).toBe('info [info] token [token] and appsecret_proof=[redacted]');
  expect(lines[2]).toBe('warn [warn] upstream error: Graph code 190/463 (HTTP 400, fbtrace Ab1): Session expired for [token]');
});
