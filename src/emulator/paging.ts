/**
 * Cursor paging as Graph does it (Meta: Paginated Results, developers.facebook.com/docs/graph-api/results): a window of `limit` items is
 * cut from
 * the full ordered list (hidden items included) after the `after` anchor or before the `before`
 * anchor, and only then are hidden items removed. So pages can be short or empty mid-stream;
 * only a missing `next` ends the list.
 */
import type { BatchLinkSigner } from './batch-links.js';
import type { CursorAnchor, CursorCodec } from './cursors.js';
import { invalidCursor, invalidParameter } from './errors.js';

/** An ordered list to page through: sorted by `keyOf` descending, then id descending. */
export interface PagedList<T> {
  readonly items: readonly T[];
  /** The list kind, owner and filter set; cursors only verify within the same scope. */
  readonly scope: string;
  idOf(item: T): string;
  keyOf(item: T): number;
  /** Whether an anchor's item still exists; a cursor dies with its item. */
  exists(id: string): boolean;
  /** Items removed after the window is cut (privacy filtering); all are visible when absent. */
  visible?(item: T): boolean;
}

/** `limit` (already validated and capped) and at most one cursor. */
export interface WindowRequest {
  readonly limit: number;
  readonly after: string | undefined;
  readonly before: string | undefined;
}

/** Where the `next`/`previous` links of a list point. */
export interface LinkTemplate {
  /** Origin plus version, e.g. `http://127.0.0.1:4010/v25.0`. */
  readonly root: string;
  /** Path below the version, e.g. `1000000001/conversations`. */
  readonly path: string;
  /** Leading parameters in order (`access_token`, `fields`, filters); `limit` and the cursor follow. */
  readonly params: readonly (readonly [string, string])[];
  /** Set inside a batch: the links carry its expiring signature (`_fb_batch_expires`, `_fb_batch_sig`). */
  readonly signer?: BatchLinkSigner | undefined;
}

export interface GraphPaging {
  cursors: { before: string; after: string };
  previous?: string;
  next?: string;
}

/** A list answer: `{"data":[…],"paging":{…}}`, with `paging` left out when the window is empty. */
export interface GraphList {
  data: unknown[];
  paging?: GraphPaging;
}

/**
 * Cuts one page of `list` and renders its visible items. Throws code 100 for a cursor that does not
 * verify in this scope or whose item is gone, and for `after` together with `before`.
 */
export function pageOf<T>(
  list: PagedList<T>,
  request: WindowRequest,
  codec: CursorCodec,
  links: LinkTemplate,
  render: (item: T) => unknown,
): GraphList {
  const { items } = list;
  let start = 0;
  let end = Math.min(items.length, request.limit);
  if (request.after !== undefined && request.before !== undefined) throw invalidParameter('Cannot specify both after and before cursors');
  if (request.after !== undefined) {
    start = boundary(list, anchorOf(list, request.after, codec), true);
    end = Math.min(items.length, start + request.limit);
  } else if (request.before !== undefined) {
    end = boundary(list, anchorOf(list, request.before, codec), false);
    start = Math.max(0, end - request.limit);
  }
  if (start >= end) return { data: [] };

  const data: unknown[] = [];
  for (let i = start; i < end; i++) {
    const item = items[i]!;
    if (list.visible === undefined || list.visible(item)) data.push(render(item));
  }
  const first = items[start]!;
  const last = items[end - 1]!;
  const paging: GraphPaging = {
    cursors: {
      before: codec.encode(list.scope, { id: list.idOf(first), key: list.keyOf(first) }),
      after: codec.encode(list.scope, { id: list.idOf(last), key: list.keyOf(last) }),
    },
  };
  if (start > 0) paging.previous = linkTo(links, request.limit, 'before', paging.cursors.before);
  if (end < items.length) paging.next = linkTo(links, request.limit, 'after', paging.cursors.after);
  return { data, paging };
}

/**
 * An absolute paging URL: the token is in it, `appsecret_proof` never is (Meta: Paginated Results,
 * developers.facebook.com/docs/graph-api/results).
 */
function linkTo(links: LinkTemplate, limit: number, cursorName: 'after' | 'before', cursor: string): string {
  const search = new URLSearchParams(links.params as [string, string][]);
  search.append('limit', String(limit));
  search.append(cursorName, cursor);
  links.signer?.sign(links.path, search);
  return `${links.root}/${links.path}?${search.toString()}`;
}

function anchorOf<T>(list: PagedList<T>, cursor: string, codec: CursorCodec): CursorAnchor {
  const anchor = codec.decode(list.scope, cursor);
  if (anchor === undefined || !list.exists(anchor.id)) throw invalidCursor();
  return anchor;
}

/**
 * Index of the first item after the anchor (`strictlyAfter`), or of the first item not before it.
 * Binary search on (key desc, id desc); the anchor need not still sit where it was when the cursor
 * was minted (a thread that got a new message moved to the top).
 */
function boundary<T>(list: PagedList<T>, anchor: CursorAnchor, strictlyAfter: boolean): number {
  const { items } = list;
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const item = items[middle]!;
    const key = list.keyOf(item);
    const id = list.idOf(item);
    const comesFirst = key > anchor.key || (key === anchor.key && (strictlyAfter ? id >= anchor.id : id > anchor.id));
    if (comesFirst) low = middle + 1;
    else high = middle;
  }
  return low;
}
