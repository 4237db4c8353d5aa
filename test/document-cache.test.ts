import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createDocumentCache } from '../src/app.js';

/** A query of exactly `length` characters (padded with spaces), distinct by `n`. */
const queryOf = (n: number, length: number): string => `{ a${n}: __typename }`.padEnd(length, ' ');

describe('the document cache', () => {
  it('keeps parsed documents within its bytes (100 per character), the least recent going first', () => {
    const cache = createDocumentCache(100_000);
    const texts = Array.from({ length: 20 }, (_, n) => queryOf(n, 100));
    for (const text of texts) cache.documents.set(text, parse(text));
    expect(cache.documents.size).toBe(10);
    expect(cache.documents.has(texts[19]!)).toBe(true);
    expect(cache.documents.has(texts[9]!)).toBe(false);
  });

  it('compiles a query on its third run and weighs it as compiled from then on (1,100 bytes per character)', () => {
    const cache = createDocumentCache(1_000_000);
    const text = queryOf(0, 100);
    const document = parse(text);
    cache.documents.set(text, document);
    expect([cache.compiling(document), cache.compiling(document), cache.compiling(document), cache.compiling(document)]).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(cache.documents.calculatedSize).toBe(110_000);
  });

  it('never compiles a document too big for the whole cache, nor a subscription', () => {
    const cache = createDocumentCache(50_000);
    const big = parse(queryOf(0, 100));
    const subscription = parse('subscription { inboxEvents(pageId: "1") { kind } }');
    const runs = (document: typeof big) => Array.from({ length: 4 }, () => cache.compiling(document));
    expect(runs(big)).toEqual([false, false, false, false]);
    expect(runs(subscription)).toEqual([false, false, false, false]);
  });
});
