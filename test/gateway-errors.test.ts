/**
 * The table of the gateway's own error codes (src/gateway-errors.ts) and the README's errors table, printed
 * from it and from Graph's client codes (src/graph-api/error-rules.ts).
 */
import { readFile } from 'node:fs/promises';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, README_FILE, readmeTableOf } from '../scripts/readme-tables.js';
import { badNodeId, errorTable, GATEWAY_ERROR_CODES, gatewayError, pageNotAccessible } from '../src/gateway-errors.js';
import { GRAPH_CLIENT_CODES } from '../src/graph-api/error-rules.js';

describe('the errors table', () => {
  it('is what the README shows (run `npm run errors:table` after changing a code or its meaning)', async () => {
    const readme = await readFile(README_FILE, 'utf8');
    expect(readmeTableOf(readme, ERROR_TABLE)).toBe(errorTable());
  });

  it("names each code once: the gateway's own codes are not Graph's", () => {
    const gateway = Object.keys(GATEWAY_ERROR_CODES);
    const graph = Object.keys(GRAPH_CLIENT_CODES);
    expect(Math.min(gateway.length, graph.length)).toBeGreaterThan(0);
    expect(gateway.filter((code) => graph.includes(code))).toEqual([]);
    for (const code of [...gateway, ...graph]) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    expect(graph.every((code) => code.startsWith('GRAPH_'))).toBe(true);
    expect(gateway.filter((code) => code.startsWith('GRAPH_'))).toEqual([]);
  });
});

describe('gatewayError', () => {
  it('is a GraphQLError with the code first, then the extra extensions, placed where asked', () => {
    const error = gatewayError(
      'TOO_MANY_SUBSCRIPTIONS',
      'Too many.',
      { maxSubscriptions: 2, per: 'connection' },
      { path: ['inboxEvents'] },
    );
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error.toJSON()).toEqual({
      message: 'Too many.',
      path: ['inboxEvents'],
      extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', maxSubscriptions: 2, per: 'connection' },
    });
  });

  it('takes only codes of the table', () => {
    // @ts-expect-error: a code the table does not hold does not compile.
    expect(gatewayError('PAGE_NOT_ACCESSIBL', 'typo').extensions.code).toBe('PAGE_NOT_ACCESSIBL');
  });

  it('says one thing per situation: a Page out of reach, judged by the configured Pages, a user token or a Page token', () => {
    expect(pageNotAccessible('42', 'configured Pages').toJSON()).toEqual({
      message: 'Page 42 is not among the Pages this gateway serves: query `viewer { pages }` for them.',
      extensions: { code: 'PAGE_NOT_ACCESSIBLE' },
    });
    expect(pageNotAccessible('42', 'user token').message).toBe(
      "The caller's user token does not manage Page 42: query `viewer { pages }` for the Pages it reaches.",
    );
    expect(pageNotAccessible('42', 'Page token').message).toBe(
      "The caller's Page token belongs to another Page than 42: query `viewer { pages }` for the Page it reaches.",
    );
    expect(badNodeId('eA==').toJSON()).toEqual({
      message: 'Invalid node id "eA==": pass an `id` exactly as this API returned it.',
      extensions: { code: 'BAD_NODE_ID' },
    });
  });
});
