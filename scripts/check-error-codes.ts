/**
 * Fails when src/ raises an error code as a string literal (`code: 'SOME_CODE'`) outside its table: the
 * gateway's own codes are raised through `gatewayError` (src/gateway-errors.ts), whose code type is the
 * table's keys, and Graph's client codes come from the Graph error rules (src/graph-api/error-rules.ts).
 * The emulator plays Graph and keeps Graph's own (numeric) codes: it is not checked.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TABLES = new Set(['src/gateway-errors.ts', 'src/graph-api/error-rules.ts']);
const CODE_LITERAL = /\bcode\s*:\s*(['"`])[A-Z][A-Z0-9]*(_[A-Z0-9]+)*\1/;

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'src/*.ts'], { encoding: 'utf8' })
  .split('\n')
  .filter((file) => file !== '' && !file.startsWith('src/emulator/') && !TABLES.has(file));
const raised = files.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (CODE_LITERAL.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
);
if (raised.length > 0) {
  console.error(
    `Error codes written as literals outside their tables (raise them with gatewayError from src/gateway-errors.ts, ` +
      `adding the code to its table if it is new):\n${raised.join('\n')}`,
  );
  process.exit(1);
}
