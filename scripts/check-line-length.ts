/**
 * Fails when a TypeScript line is longer than the formatter's width (biome.json): Biome wraps code, but
 * not strings, templates or comments, which this catches.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const biome = JSON.parse(readFileSync(new URL('../biome.json', import.meta.url), 'utf8')) as { formatter: { lineWidth: number } };
const MAX = biome.formatter.lineWidth;
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { encoding: 'utf8' })
  .split('\n')
  .filter((file) => file !== '' && !file.includes('/generated/'));
const long = files.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => ([...line].length > MAX ? [`${file}:${i + 1}: ${[...line].length} characters`] : [])),
);
if (long.length > 0) {
  console.error(`Lines longer than ${MAX} characters (split the string or the template):\n${long.join('\n')}`);
  process.exit(1);
}
