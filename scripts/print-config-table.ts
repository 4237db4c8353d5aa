/** Rewrites the README's configuration table from the settings table in `src/config.ts`. */
import { readFile, writeFile } from 'node:fs/promises';
import { configTable } from '../src/config.js';
import { CONFIG_TABLE, README_FILE, withReadmeTable } from './readme-tables.js';

await writeFile(README_FILE, withReadmeTable(await readFile(README_FILE, 'utf8'), CONFIG_TABLE, configTable()));
console.log(`wrote the configuration table of ${README_FILE.pathname}`);
