import { GraphQLError, Kind } from 'graphql';
import { builder } from '../builder.js';

// Graph's usual UTC form, rewritten without building a Date (this runs for every timestamp served).
const GRAPH_UTC_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\+0000$/;

/** Graph sends `2026-03-01T10:00:00+0000`; clients get ISO 8601 in UTC (`2026-03-01T10:00:00.000Z`). */
function toIsoString(value: unknown): string {
  if (typeof value === 'string') {
    const utc = GRAPH_UTC_TIME.exec(value);
    if (utc !== null) return `${utc[1]}.000Z`;
  }
  return toDate(value).toISOString();
}

function toDate(value: unknown): Date {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw new GraphQLError(`DateTime cannot represent ${JSON.stringify(value)}`);
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO 8601 string in UTC, e.g. `2026-03-01T10:00:00.000Z`.',
  serialize: toIsoString,
  parseValue: (value) => toDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return toDate(ast.value);
  },
});
