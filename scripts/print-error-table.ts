/** Rewrites the README's errors table from the gateway's codes (`src/gateway-errors.ts`) and Graph's (`src/graph-api/error-rules.ts`). */
import { readFile, writeFile } from 'node:fs/promises';
import { errorTable } from '../src/gateway-errors.js';
import { ERROR_TABLE, README_FILE, withReadmeTable } from './readme-tables.js';

await writeFile(README_FILE, withReadmeTable(await readFile(README_FILE, 'utf8'), ERROR_TABLE, errorTable()));
console.log(`wrote the errors table of ${README_FILE.pathname}`);
