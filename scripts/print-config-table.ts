/** Rewrites the README's configuration table from the settings table in `src/config.ts`. */
import { readFile, writeFile } from 'node:fs/promises';
import { configTable } from '../src/config.js';
import { README_FILE, withConfigTable } from './readme-config.js';

await writeFile(README_FILE, withConfigTable(await readFile(README_FILE, 'utf8'), configTable()));
console.log(`wrote the configuration table of ${README_FILE.pathname}`);
