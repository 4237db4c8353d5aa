import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';

/** Version tag of the cursor format; a cursor of another version is rejected, not misread. */
export const CURSOR_VERSION_PREFIX = 'v1.';
const MAC_BYTES = 16;
const MAX_CURSOR_LENGTH = 4096;
const MAX_REMEMBERED_CURSORS = 5_000;

/**
 * Where an edge can be resumed from upstream: a Graph page cursor, and whether the edge's own item
 * must then be searched for and dropped along with everything before it (`dropThrough`), because the
 * Graph cursor marks its page's first or last item rather than the edge itself.
 */
export interface GraphAnchor {
  readonly graphCursor: string;
  /** Items to expect up to and including the edge's item when `dropThrough` (a fetch-size hint). */
  readonly dropThrough: number | undefined;
}

/** What a Relay edge cursor holds: the item, and where to resume after it and before it. */
export interface EdgePosition {
  readonly itemId: string;
  /** `null`: Graph gave no cursor to continue after this item (nothing follows). */
  readonly forward: GraphAnchor | null;
  /** `null`: Graph gave no cursor to continue before this item (nothing precedes). */
  readonly backward: GraphAnchor | null;
}

/** Encodes and verifies opaque Relay cursors, signed and bound to the list (scope) they came from. */
export interface CursorCodec {
  encode(scope: string, position: EdgePosition): string;
  /** Throws a `BAD_CURSOR` GraphQLError for anything it did not issue for this scope. */
  decode(scope: string, cursor: string): EdgePosition;
}

/**
 * Names a list: the same page, filters and caller give the same scope, anything else another one.
 * Cursors carry it, so a cursor replayed on another list is refused before any upstream call.
 */
export function cursorScope(parts: Record<string, string | undefined>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

type WireAnchor = [cursor: string] | [cursor: string, dropThrough: number] | 0;
interface WirePosition {
  s: string;
  i: string;
  f: WireAnchor;
  b: WireAnchor;
}

const toWire = (anchor: GraphAnchor | null): WireAnchor =>
  anchor === null ? 0 : anchor.dropThrough === undefined ? [anchor.graphCursor] : [anchor.graphCursor, anchor.dropThrough];

function fromWire(anchor: unknown): GraphAnchor | null | undefined {
  if (anchor === 0) return null;
  if (!Array.isArray(anchor) || typeof anchor[0] !== 'string') return undefined;
  if (anchor.length === 1) return { graphCursor: anchor[0], dropThrough: undefined };
  if (anchor.length === 2 && Number.isInteger(anchor[1]) && anchor[1] > 0) return { graphCursor: anchor[0], dropThrough: anchor[1] as number };
  return undefined;
}

const badCursor = (message: string): GraphQLError => new GraphQLError(message, { extensions: { code: 'BAD_CURSOR' } });

/** Creates the codec; `secret` keys the HMAC (share it between instances behind one load balancer). */
export function createCursorCodec(secret: string | Buffer = randomBytes(32)): CursorCodec {
  const mac = (payload: string): Buffer => createHmac('sha256', secret).update(payload).digest().subarray(0, MAC_BYTES);
  // Signing is most of a page's serving cost, and inboxes are re-read page by page: remember recent cursors.
  const issued = new Map<string, string>();

  return {
    encode(scope, position) {
      const wire: WirePosition = { s: scope, i: position.itemId, f: toWire(position.forward), b: toWire(position.backward) };
      const json = JSON.stringify(wire);
      let cursor = issued.get(json);
      if (cursor === undefined) {
        const payload = Buffer.from(json).toString('base64url');
        cursor = `${CURSOR_VERSION_PREFIX}${payload}.${mac(payload).toString('base64url')}`;
        if (issued.size >= MAX_REMEMBERED_CURSORS) issued.delete(issued.keys().next().value!);
        issued.set(json, cursor);
      }
      return cursor;
    },

    decode(scope, cursor) {
      if (cursor.length > MAX_CURSOR_LENGTH || !cursor.startsWith(CURSOR_VERSION_PREFIX)) {
        throw badCursor('Malformed cursor: pass back a cursor exactly as this API returned it.');
      }
      const [payload, signature, extra] = cursor.slice(CURSOR_VERSION_PREFIX.length).split('.');
      if (payload === undefined || signature === undefined || extra !== undefined) {
        throw badCursor('Malformed cursor: pass back a cursor exactly as this API returned it.');
      }
      const expected = mac(payload);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw badCursor('Invalid cursor: it was not issued by this gateway or has been altered.');
      }
      let wire: Partial<WirePosition>;
      try {
        wire = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<WirePosition>;
      } catch {
        throw badCursor('Malformed cursor: pass back a cursor exactly as this API returned it.');
      }
      if (wire.s !== scope) {
        throw badCursor('This cursor belongs to another list: another page, conversation, filter set or caller.');
      }
      const forward = fromWire(wire.f);
      const backward = fromWire(wire.b);
      if (typeof wire.i !== 'string' || forward === undefined || backward === undefined) {
        throw badCursor('Malformed cursor: pass back a cursor exactly as this API returned it.');
      }
      return { itemId: wire.i, forward, backward };
    },
  };
}
