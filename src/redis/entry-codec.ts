/**
 * How a cached read is written to Redis: its JSON, compressed once it is large enough to gain from it.
 *
 * A first page of an inbox (20 conversations with 5 messages each, the shipped operations/inbox.graphql) is about
 * 54 KB of JSON, all of it served: Graph answers only the fields the gateway asked for, and one key serves every
 * selection planned to the same fields. Raw DEFLATE at level 1 makes it about 14 KB, in about 0.5 ms to compress and
 * 0.16 ms to inflate (parsing the JSON takes 0.5 ms), so both run synchronously: a pool thread's round trip would cost
 * more than the work. Brotli at its fast qualities saves no more on this data.
 *
 * A compressed value starts with a byte no JSON text starts with; plain JSON (small entries, and every entry an
 * older release wrote) is read as it is.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CachedRead } from '../graph-api/read-cache-store.js';

/** Entries whose JSON is shorter than this are kept plain: compressing them would save less than it costs. */
export const COMPRESS_FROM_BYTES = 1_024;
/** The first byte of a compressed value (JSON text starts with `{`, `[`, a quote, a digit or whitespace). */
const DEFLATE_RAW = 0x01;
/** zlib's fastest level: a few percent larger than its default, in half the time. */
const LEVEL = 1;

/** The value to write for an entry whose JSON is `json`: the JSON itself when short, else compressed. */
export function encodeEntry(json: string): string | Buffer {
  if (Buffer.byteLength(json) < COMPRESS_FROM_BYTES) return json;
  return Buffer.concat([Buffer.of(DEFLATE_RAW), deflateRawSync(json, { level: LEVEL })]);
}

/** The entry a value read from Redis holds (compressed or plain), or `undefined` when it holds none this release can read. */
export function decodeEntry(value: Buffer): CachedRead | undefined {
  try {
    const json = value[0] === DEFLATE_RAW ? inflateRawSync(value.subarray(1)).toString('utf8') : value.toString('utf8');
    const entry = JSON.parse(json) as CachedRead;
    return typeof entry === 'object' && entry !== null && typeof entry.generation === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}
