/**
 * How a cached read is written to Redis: its JSON, compressed once it is large enough to gain from it.
 *
 * A first page of an inbox (20 conversations with 5 messages each, the shipped operations/inbox.graphql) is about
 * 51 KB of JSON, all of it served: Graph answers only the fields the gateway asked for, and one key serves every
 * selection planned to the same fields. Most of what is left once compressed is what no compressor shrinks (ids,
 * Graph's paging cursors). Measured on that page of the scale world (src/emulator/seed/scale.ts): raw DEFLATE at
 * level 1 made it 13.4 KB in 0.4 ms, at level 9 12.6 KB in 0.55 ms; Brotli at quality 5 makes it 12.2 KB in 0.8 ms,
 * and reads it back in 0.07 ms (inflating took 0.05 ms; parsing the JSON takes 0.5 ms). An entry is written once per
 * change of its inbox and read by every agent in between, so the writer's extra 0.4 ms buys 1.2 KB per Page of Redis;
 * qualities from 6 up cost several times more for under 1 % less, 10 and 11 tens of milliseconds. Both run
 * synchronously: a pool thread's round trip would cost more than the work.
 *
 * A compressed value starts with a byte no JSON text starts with, which says how; plain JSON (small entries, and every
 * entry an older release wrote) is read as it is, and so is DEFLATE, which the release before wrote.
 */
import { brotliCompressSync, brotliDecompressSync, constants, inflateRawSync } from 'node:zlib';
import type { CachedRead } from '../graph-api/read-cache-store.js';

/** Entries whose JSON is shorter than this are kept plain: compressing them would save less than it costs. */
export const COMPRESS_FROM_BYTES = 1_024;
/**
 * The first byte of a value an older release compressed with raw DEFLATE (JSON text starts with `{`, `[`, a quote, a digit
 * or whitespace).
 */
const DEFLATE_RAW = 0x01;
/** The first byte of a value compressed with Brotli. */
const BROTLI = 0x02;
const BROTLI_QUALITY = 5;

/** The value to write for an entry whose JSON is `json`: the JSON itself when short, else compressed. */
export function encodeEntry(json: string): string | Buffer {
  const bytes = Buffer.byteLength(json);
  if (bytes < COMPRESS_FROM_BYTES) return json;
  const compressed = brotliCompressSync(json, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes,
    },
  });
  return Buffer.concat([Buffer.of(BROTLI), compressed]);
}

/** The entry a value read from Redis holds (compressed or plain), or `undefined` when it holds none this release can read. */
export function decodeEntry(value: Buffer): CachedRead | undefined {
  try {
    const entry = JSON.parse(textOf(value)) as CachedRead;
    return typeof entry === 'object' && entry !== null && typeof entry.generation === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}

function textOf(value: Buffer): string {
  if (value[0] === BROTLI) return brotliDecompressSync(value.subarray(1)).toString('utf8');
  if (value[0] === DEFLATE_RAW) return inflateRawSync(value.subarray(1)).toString('utf8');
  return value.toString('utf8');
}
