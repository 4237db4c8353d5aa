/**
 * The Relay cursor codec on its own: what goes in comes out, for any Graph cursor text; cursors
 * stay compact; another scope or secret is refused.
 */
import { describe, expect, it } from 'vitest';
import { createCursorCodec, cursorScope, type EdgePlace } from '../src/cursors.js';

const codec = createCursorCodec('unit-test-secret');
const scope = cursorScope({ list: 'conversations', page: '1', viewer: 'a' });
// Graph cursors are base64 text of about this length (`QVFI…`).
const GRAPH_BEFORE = Buffer.from(`AQH${'r'.repeat(63)}`).toString('base64url');
const GRAPH_AFTER = Buffer.from(`AQH${'s'.repeat(63)}`).toString('base64url');

function roundTrip(place: EdgePlace): EdgePlace {
  return codec.decode(scope, codec.listEncoder(scope, place.list, place.listLength)(place.index, place.itemId));
}

describe('cursor codec', () => {
  it.each<[string, EdgePlace]>([
    [
      'a middle edge of a full page',
      { list: { before: GRAPH_BEFORE, after: GRAPH_AFTER }, listLength: 25, index: 7, itemId: 't_975602314491952' },
    ],
    ['the only edge, no cursor either way', { list: { before: undefined, after: undefined }, listLength: 1, index: 0, itemId: 'm_1' }],
    [
      'Graph cursors that are not base64url',
      { list: { before: 'QVFI+/a==', after: 'plain text, ünïcode' }, listLength: 300, index: 299, itemId: 'ü-😀' },
    ],
    ['a base64url-looking item id', { list: { before: '', after: 'AAAA' }, listLength: 2, index: 1, itemId: 'QUJD' }],
  ])('round-trips %s', (_, place) => {
    expect(roundTrip(place)).toEqual(place);
  });

  it('gives each edge of a page its own cursor, the same one on every read', () => {
    const page = { before: GRAPH_BEFORE, after: GRAPH_AFTER };
    const first = Array.from({ length: 25 }, (_, index) => codec.listEncoder(scope, page, 25)(index, `t_${index}`));
    const again = Array.from({ length: 25 }, (_, index) => codec.listEncoder(scope, page, 25)(index, `t_${index}`));
    expect(new Set(first).size).toBe(25);
    expect(again).toEqual(first);
  });

  it('is compact: about the two Graph cursors it carries, plus a signature', () => {
    const cursor = codec.listEncoder(scope, { before: GRAPH_BEFORE, after: GRAPH_AFTER }, 25)(7, 't_975602314491952');
    expect(GRAPH_BEFORE.length).toBe(88);
    expect(cursor.length).toBeLessThanOrEqual(240);
  });

  it('refuses a cursor under another scope, or signed with another secret', () => {
    const cursor = codec.listEncoder(scope, { before: GRAPH_BEFORE, after: GRAPH_AFTER }, 25)(3, 't_1');
    expect(() => codec.decode(cursorScope({ list: 'conversations', page: '2', viewer: 'a' }), cursor)).toThrow(/another list/);
    expect(() => createCursorCodec('another-secret').decode(scope, cursor)).toThrow(/not issued by this gateway/);
    expect(() => codec.decode(scope, `${cursor}A`)).toThrow(/Malformed|not issued/);
  });
});

describe('the v2 wire format', () => {
  // Pinned: a change here breaks every cursor clients hold. Bump FORMAT_VERSION instead.
  const codec = createCursorCodec('golden-cursor-secret-0123456789abcdef');
  const scope = cursorScope({ list: 'conversations', page: '1000000001', folder: 'inbox', viewer: 'viewer-fingerprint' });
  const GOLDEN = 'AiKuFK8ZAxFBUUhSYWJjZBFBUUhSeHl6MBgTt_1234567890N6Pw4HxUqS_pA7J_NP6ExQ';

  it('writes the last edge of a 25-item Graph page as these exact bytes', () => {
    expect(scope).toBe('UMzAD4VJt6KF9cn4');
    expect(codec.listEncoder(scope, { before: 'QVFIUmFiY2Q', after: 'QVFIUnh5ejA' }, 25)(24, 't_1234567890')).toBe(GOLDEN);
  });

  it('reads them back', () => {
    expect(codec.decode(scope, GOLDEN)).toEqual({
      list: { before: 'QVFIUmFiY2Q', after: 'QVFIUnh5ejA' },
      listLength: 25,
      index: 24,
      itemId: 't_1234567890',
    });
  });
});
