/**
 * The emulator's paging cursors. Like Graph's they are opaque, tied to one item (the anchor) and to
 * the list and filter set they came from (Meta: Paginated Results, developers.facebook.com/docs/graph-api/results). The list and filters
 * are not carried
 * in the cursor: they are part of the MAC, so a cursor replayed under another list or filter set
 * simply fails to verify.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Real Graph cursors are base64 of a string starting `AQH`, hence their `QVFI…` look. */
export const CURSOR_PREFIX = 'AQH';
const MAC_BYTES = 12;
const SEPARATOR = '\u001f';
/** Minted cursors kept for reuse: a cursor depends only on its scope and anchor, and HMACs dominate paging cost. */
const ENCODE_CACHE_SIZE = 50_000;

/** The item a cursor points at: its id and its sort key in the list. */
export interface CursorAnchor {
  readonly id: string;
  readonly key: number;
}

/** Encodes and verifies cursors with one secret key. */
export interface CursorCodec {
  /** A cursor for `anchor` in the list named by `scope` (list kind, owner and filter set). */
  encode(scope: string, anchor: CursorAnchor): string;
  /** The anchor of `cursor`, or `undefined` when it is malformed, tampered with or from another scope. */
  decode(scope: string, cursor: string): CursorAnchor | undefined;
}

/**
 * Creates a codec. Each emulator process uses a fresh random key, so cursors never outlive the
 * process that minted them, as Graph's do not outlive their item.
 */
export function createCursorCodec(secret: Buffer = randomBytes(32)): CursorCodec {
  const mac = (scope: string, payload: string): Buffer =>
    createHmac('sha256', secret).update(scope).update(SEPARATOR).update(payload).digest().subarray(0, MAC_BYTES);

  const minted = new Map<string, string>();

  return {
    encode(scope, anchor) {
      const payload = `${anchor.id}${SEPARATOR}${anchor.key}`;
      const cacheKey = `${scope}${SEPARATOR}${payload}`;
      let cursor = minted.get(cacheKey);
      if (cursor === undefined) {
        const inner = Buffer.concat([mac(scope, payload), Buffer.from(payload, 'utf8')]).toString('base64url');
        cursor = Buffer.from(CURSOR_PREFIX + inner, 'latin1').toString('base64url');
        if (minted.size >= ENCODE_CACHE_SIZE) minted.clear();
        minted.set(cacheKey, cursor);
      }
      return cursor;
    },
    decode(scope, cursor) {
      if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
      const outer = Buffer.from(cursor, 'base64url').toString('latin1');
      if (!outer.startsWith(CURSOR_PREFIX)) return undefined;
      const inner = Buffer.from(outer.slice(CURSOR_PREFIX.length), 'base64url');
      if (inner.length <= MAC_BYTES) return undefined;
      const payload = inner.subarray(MAC_BYTES).toString('utf8');
      if (!timingSafeEqual(inner.subarray(0, MAC_BYTES), mac(scope, payload))) return undefined;
      const separator = payload.lastIndexOf(SEPARATOR);
      const key = Number(payload.slice(separator + 1));
      if (separator <= 0 || !Number.isSafeInteger(key)) return undefined;
      return { id: payload.slice(0, separator), key };
    },
  };
}
