/** Writes `schema.graphql` from the Pothos schema (sorted). `--check` only reports drift. */
import { readFile, writeFile } from 'node:fs/promises';
import { printSchemaFile, SCHEMA_FILE } from '../src/schema/print.js';

const printed = printSchemaFile();
if (process.argv.includes('--check')) {
  const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
  if (committed !== printed) {
    console.error('schema.graphql is out of date: run `npm run schema:print` and commit it.');
    process.exit(1);
  }
} else {
  await writeFile(SCHEMA_FILE, printed);
  console.log(`wrote ${SCHEMA_FILE.pathname}`);
}
