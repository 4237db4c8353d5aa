/**
 * Opaque Relay cursors: where an edge sits in the Graph page it came from, signed and bound to the
 * list (scope) it belongs to. schema/graph-connection.ts decides what a place means for paging; this
 * module only writes and checks it. The process makes one codec (main.ts), the per-request context
 * carries it, and the schema's connections use it: so it sits beside them, not in schema/.
 *
 * A cursor is base64url of bytes:
 *   version (2) | scope tag (4) | page length | has before/after | before | after | index | item id | MAC (16)
 * Numbers are LEB128 varints; strings are a varint (byte length × 2 + 1 when the bytes are the
 * base64url decoding of the string) and the bytes. Graph cursors are base64 text, so they travel as
 * the bytes they spell: a quarter shorter than the text, and half the size of base64-over-JSON.
 * Cursors are on every edge of every response, so their size is a good part of a response's.
 * The MAC (HMAC-SHA256, truncated) covers the full scope and every byte before it; the scope tag only
 * tells a cursor from another list apart from an altered one, for a clearer error.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { type CapacityBounds, DEFAULT_CAPACITY } from './capacity.js';
import { gatewayError } from './gateway-errors.js';
import { remembered } from './remembered.js';

const FORMAT_VERSION = 2;
/** The version byte of a merged list's cursor: it holds one position per source. */
const MERGED_FORMAT_VERSION = 4;
/** A merged cursor holds up to one Graph cursor per source (MAX_INBOX_SOURCES of them). */
const MAX_MERGED_CURSOR_LENGTH = 16_384;
const SCOPE_TAG_BYTES = 4;
const MAC_BYTES = 16;
const MAX_CURSOR_LENGTH = 4096;
/** Longest Graph page a cursor may claim to come from; larger claims are malformed. */
const MAX_LIST_LENGTH = 10_000;

/**
 * The Graph cursors of one page: `before` marks its first item, `after` its last (Meta: Paginated Results,
 * developers.facebook.com/docs/graph-api/results).
 */
export interface ListCursors {
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** Where an edge's item sits: its Graph page's cursors and length, its index in it, its id. */
export interface EdgePlace {
  readonly list: ListCursors;
  readonly listLength: number;
  readonly index: number;
  readonly itemId: string;
}

/** An item of a merged list as its order sees it: its `updated_time` (epoch seconds) and id. */
export interface MergeKey {
  readonly time: number;
  readonly id: string;
}

/**
 * Where a merged list stands in one of its sources: the last item taken from it (its place, to resume after
 * it, and its key; `undefined` when none was taken yet), and what follows it: not read yet (`unknown`), the
 * end of the source (`end`), or the key of the next item, read but not taken.
 */
export interface SourcePosition {
  readonly last: SourceItemPlace | undefined;
  readonly next: 'unknown' | 'end' | MergeKey;
}

/**
 * The last item taken from a source, and how to read on after it: from `after` (its page's `cursors.after`,
 * when it ended its page), or, when it did not, by repeating the request that read its page (`after`, or the
 * list's start, and `repeatLimit`) and dropping it with everything before it. A repeated request is the one
 * a cache holds.
 */
export interface SourceItemPlace extends MergeKey {
  readonly after: string | undefined;
  readonly repeatLimit: number | undefined;
}

/** A merged list's cursor: every source's position after its edge, and the source the edge came from. */
export interface MergedPosition {
  readonly edgeSource: number;
  readonly sources: readonly SourcePosition[];
}

/** Encodes and verifies cursors. */
export interface CursorCodec {
  /** The cursor encoder for the edges of one Graph page; what the page's edges share is done once. */
  listEncoder(scope: string, page: ListCursors, listLength: number): (index: number, itemId: string) => string;
  /** Throws a GraphQLError (`BAD_CURSOR`, `CURSOR_EXPIRED`) for anything it did not issue for this scope. */
  decode(scope: string, cursor: string): EdgePlace;
  /** A cursor of a list merged from several sources: each source's position, in the scope's source order. */
  encodeMerged(scope: string, position: MergedPosition): string;
  /** Throws a GraphQLError (`BAD_CURSOR`) for anything it did not issue for this scope, or for another number of sources. */
  decodeMerged(scope: string, cursor: string, sourceCount: number): MergedPosition;
}

/**
 * Names a list: the same page, filters and caller give the same scope, anything else another one.
 * Cursors are bound to it, so a cursor replayed on another list is refused before any upstream call.
 */
export function cursorScope(parts: Record<string, string | undefined>): string {
  return scopeOf(JSON.stringify(parts));
}
// The same lists are read over and over, and hashing is most of a scope's cost.
const scopeOf = remembered(10_000, (key) => createHash('sha256').update(key).digest('base64url').slice(0, 16));

const badCursor = (message: string): GraphQLError => gatewayError('BAD_CURSOR', message);
const MALFORMED = 'Malformed cursor: pass back a cursor exactly as this API returned it.';

const scopeTag = (scope: string): Buffer => createHash('sha256').update(scope).digest().subarray(0, SCOPE_TAG_BYTES);

function varint(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return bytes;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function field(text: string): Buffer {
  const decoded = BASE64URL.test(text) ? Buffer.from(text, 'base64url') : undefined;
  const asBytes = decoded !== undefined && decoded.toString('base64url') === text;
  const bytes = asBytes ? decoded : Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(varint(bytes.length * 2 + (asBytes ? 1 : 0))), bytes]);
}

/** Reads a cursor's bytes; throws BAD_CURSOR past the end. */
class Reader {
  #at = 0;
  constructor(private readonly bytes: Buffer) {}

  byte(): number {
    if (this.#at >= this.bytes.length) throw badCursor(MALFORMED);
    return this.bytes[this.#at++]!;
  }

  varint(): number {
    let value = 0;
    for (let shift = 1; ; shift *= 128) {
      const byte = this.byte();
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
      if (shift > 2 ** 28) throw badCursor(MALFORMED);
    }
  }

  string(): string {
    const header = this.varint();
    const length = Math.floor(header / 2);
    if (this.#at + length > this.bytes.length) throw badCursor(MALFORMED);
    const bytes = this.bytes.subarray(this.#at, (this.#at += length));
    return bytes.toString(header % 2 === 1 ? 'base64url' : 'utf8');
  }

  get done(): boolean {
    return this.#at === this.bytes.length;
  }
}

/**
 * Reads an edge's place after the scope tag (page length, which Graph cursors, the cursors, index, item id);
 * BAD_CURSOR when it is not well formed.
 */
function readPlace(reader: Reader): EdgePlace {
  const listLength = reader.varint();
  const has = reader.byte();
  const before = has & 1 ? reader.string() : undefined;
  const after = has & 2 ? reader.string() : undefined;
  const index = reader.varint();
  const itemId = reader.string();
  if (has > 3 || listLength > MAX_LIST_LENGTH || index >= listLength) throw badCursor(MALFORMED);
  return { list: { before, after }, listLength, index, itemId };
}

/** A position's flags: bit 0, an item was taken; bits 1–2, what follows it (NEXT_KINDS). */
const HAS_LAST = 1;
const NEXT_KINDS = { unknown: 0, end: 1, item: 2 } as const;

/** A source item place's flags: whether it has `after`, and `repeatLimit`. */
const HAS_AFTER = 1;
const HAS_REPEAT = 2;

function itemPlaceBytes({ after, repeatLimit, time, id }: SourceItemPlace): Buffer {
  return Buffer.concat([
    Buffer.from([(after === undefined ? 0 : HAS_AFTER) | (repeatLimit === undefined ? 0 : HAS_REPEAT)]),
    ...(after === undefined ? [] : [field(after)]),
    Buffer.from([...(repeatLimit === undefined ? [] : varint(repeatLimit)), ...varint(time)]),
    field(id),
  ]);
}

function readItemPlace(reader: Reader): SourceItemPlace {
  const flags = reader.byte();
  if (flags > (HAS_AFTER | HAS_REPEAT)) throw badCursor(MALFORMED);
  const after = flags & HAS_AFTER ? reader.string() : undefined;
  const repeatLimit = flags & HAS_REPEAT ? reader.varint() : undefined;
  return { after, repeatLimit, time: reader.varint(), id: reader.string() };
}

function positionBytes({ last, next }: SourcePosition): Buffer {
  const nextKind = typeof next === 'string' ? NEXT_KINDS[next] : NEXT_KINDS.item;
  return Buffer.concat([
    Buffer.from([(last === undefined ? 0 : HAS_LAST) | (nextKind << 1)]),
    ...(last === undefined ? [] : [itemPlaceBytes(last)]),
    ...(typeof next === 'string' ? [] : [Buffer.from(varint(next.time)), field(next.id)]),
  ]);
}

function readPosition(reader: Reader): SourcePosition {
  const flags = reader.byte();
  const nextKind = flags >> 1;
  if (flags > 5) throw badCursor(MALFORMED);
  const last = flags & HAS_LAST ? readItemPlace(reader) : undefined;
  if (nextKind === NEXT_KINDS.unknown) return { last, next: 'unknown' };
  if (nextKind === NEXT_KINDS.end) return { last, next: 'end' };
  return { last, next: { time: reader.varint(), id: reader.string() } };
}

type Mac = (scope: string, body: Buffer) => Buffer;

/** The reader of a cursor's body after its scope tag, once its version, length and MAC are checked; BAD_CURSOR otherwise. */
function verifiedReader(mac: Mac, scope: string, cursor: string, version: number, maxLength: number): Reader {
  if (cursor.length > maxLength || !BASE64URL.test(cursor)) throw badCursor(MALFORMED);
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length <= 1 + SCOPE_TAG_BYTES + MAC_BYTES || bytes[0] !== version) throw badCursor(MALFORMED);
  const body = bytes.subarray(0, bytes.length - MAC_BYTES);
  if (!timingSafeEqual(bytes.subarray(body.length), mac(scope, body))) {
    throw scopeTag(scope).equals(body.subarray(1, 1 + SCOPE_TAG_BYTES))
      ? badCursor('Invalid cursor: it was not issued by this gateway or has been altered.')
      : badCursor('This cursor belongs to another list: another page, conversation, filter set or caller.');
  }
  // Signed by us: what follows is well formed unless the format itself changed.
  return new Reader(body.subarray(1 + SCOPE_TAG_BYTES));
}

/** The signed body of a merged list's cursor: the edge's source, then every source's position, in order. */
function mergedBody(scope: string, { edgeSource, sources }: MergedPosition): Buffer {
  return Buffer.concat([
    Buffer.from([MERGED_FORMAT_VERSION]),
    scopeTag(scope),
    Buffer.from([...varint(sources.length), ...varint(edgeSource)]),
    ...sources.map(positionBytes),
  ]);
}

/**
 * Creates the codec; `secret` keys the HMAC (share it between instances behind one load balancer). Graph pages whose
 * signed cursors are kept for reuse (at most 100 each) are bounded by `capacity` (CAPACITY_TOKENS): signing costs ~5 µs
 * per cursor here, and inboxes are re-read page by page.
 */
export function createCursorCodec(
  secret: string | Buffer = randomBytes(32),
  capacity: Pick<CapacityBounds, 'cursorLists' | 'cursorBytes'> = DEFAULT_CAPACITY,
): CursorCodec {
  const mac: Mac = (scope, body) => createHmac('sha256', secret).update(scope).update('\n').update(body).digest().subarray(0, MAC_BYTES);
  // Signed cursors by page, then by edge: a page is looked up once per response, its edges by a short key; a page's are
  // weighed when its first cursor is signed (its length × the page's).
  const signedByList = new LRUCache<string, Map<string, string>>({ max: capacity.cursorLists, maxSize: capacity.cursorBytes });
  const verified = (scope: string, cursor: string, version: number, maxLength: number): Reader =>
    verifiedReader(mac, scope, cursor, version, maxLength);

  return {
    listEncoder(scope, page, listLength) {
      const listKey = `${scope}\n${listLength}\n${page.before ?? ''}\n${page.after ?? ''}`;
      let cursors = signedByList.get(listKey);
      let prefix: Buffer | undefined;
      return (index, itemId) => {
        const edgeKey = `${index}\n${itemId}`;
        const known = cursors?.get(edgeKey);
        if (known !== undefined) return known;
        prefix ??= Buffer.concat([
          Buffer.from([FORMAT_VERSION]),
          scopeTag(scope),
          Buffer.from([...varint(listLength), (page.before === undefined ? 0 : 1) | (page.after === undefined ? 0 : 2)]),
          ...(page.before === undefined ? [] : [field(page.before)]),
          ...(page.after === undefined ? [] : [field(page.after)]),
        ]);
        const body = Buffer.concat([prefix, Buffer.from(varint(index)), field(itemId)]);
        const cursor = Buffer.concat([body, mac(scope, body)]).toString('base64url');
        if (cursors === undefined) {
          cursors = new Map();
          // UTF-16 strings: the page's cursors (each about this one's length) and their keys.
          signedByList.set(listKey, cursors, { size: 2 * (listKey.length + (cursor.length + edgeKey.length) * Math.max(1, listLength)) });
        }
        cursors.set(edgeKey, cursor);
        return cursor;
      };
    },

    decode(scope, cursor) {
      if (cursor.startsWith('v1.')) {
        throw gatewayError(
          'CURSOR_EXPIRED',
          'This cursor comes from an earlier version of this API and can no longer be resumed. Start again from the first page.',
        );
      }
      const reader = verified(scope, cursor, FORMAT_VERSION, MAX_CURSOR_LENGTH);
      const place = readPlace(reader);
      if (!reader.done) throw badCursor(MALFORMED);
      return place;
    },

    encodeMerged(scope, position) {
      const body = mergedBody(scope, position);
      return Buffer.concat([body, mac(scope, body)]).toString('base64url');
    },

    decodeMerged(scope, cursor, sourceCount) {
      const reader = verified(scope, cursor, MERGED_FORMAT_VERSION, MAX_MERGED_CURSOR_LENGTH);
      const count = reader.varint();
      if (count !== sourceCount) throw badCursor('This cursor belongs to another list: another set of sources.');
      const edgeSource = reader.varint();
      const sources = Array.from({ length: count }, () => readPosition(reader));
      if (!reader.done || edgeSource >= count || sources[edgeSource]!.last === undefined) throw badCursor(MALFORMED);
      return { edgeSource, sources };
    },
  };
}
