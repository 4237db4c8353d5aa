import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.js';

/** The committed SDL file that clients and codegen read. */
export const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

/** The schema as committed: sorted SDL with a trailing newline. */
export function printSchemaFile(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
