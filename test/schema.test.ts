import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { printSchemaFile, SCHEMA_FILE } from '../src/schema/print.js';

it('schema.graphql is the printed Pothos schema (run `npm run schema:print` after a schema change)', async () => {
  expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(printSchemaFile());
});
