/**
 * The k-way merge of schema/graph-connection.ts over fake sources: what each source is asked for, call by call.
 */
import { describe, expect, it } from 'vitest';
import { createCursorCodec } from '../src/cursors.js';
import type { GraphList } from '../src/graph-api/wire-types.js';
import { type MergeSource, planMergedConnection, resolveMergedConnection } from '../src/schema/merged-connection.js';

interface Item {
  id: string;
  time: number;
}

/**
 * A source serving at most `pageSize` items per Graph page (1: as privacy filtering can leave them), and the requests
 * it got (`start` or the `after` cursor, with the limit when it is not 1).
 */
function createSource(name: string, times: readonly number[], pageSize = 1): [MergeSource<Item>, string[]] {
  const calls: string[] = [];
  const items = times.map((time) => ({ id: `${name}${time}`, time }));
  const page = (at: number, limit: number): GraphList<Item> => {
    const data = items.slice(at, at + Math.min(limit, pageSize));
    const end = at + data.length;
    return {
      data,
      paging: {
        cursors: { before: `c${at}`, after: `c${end}` },
        ...(end < items.length ? { next: `https://graph.example/${name}?after=c${end}` } : {}),
      },
    };
  };
  const source: MergeSource<Item> = {
    reads: {
      fetchList: (request) => {
        calls.push((request.after ?? 'start') + (pageSize === 1 ? '' : `/${request.limit}`));
        const at = request.after === undefined ? 0 : Number(request.after.slice(1));
        return Promise.resolve({ value: page(at, request.limit), fetchedAt: 0, stale: undefined });
      },
    },
  };
  return [source, calls];
}

const cursors = createCursorCodec('test-secret');

async function mergedPage(sources: MergeSource<Item>[], first: number, after?: string, backward = false) {
  const args = backward ? { last: first, before: after } : { first, after };
  const plan = planMergedConnection(args, cursors, 'scope', sources.length);
  return resolveMergedConnection<Item, string>({
    plan,
    scope: 'scope',
    cursors,
    sources,
    keyOf: (item) => ({ time: item.time, id: item.id }),
    precedes: (a, b) => a.key.time > b.key.time || (a.key.time === b.key.time && a.source < b.source),
    toNode: (_source, item) => item.id,
  });
}

describe('resolveMergedConnection', () => {
  it('a source whose last item read has `first` items before it is not read further', async () => {
    const [newer, newerCalls] = createSource('a', [10, 9, 8, 7, 6]);
    const [older, olderCalls] = createSource('b', [5, 4, 3, 2, 1]);
    const page = await mergedPage([newer, older], 3);
    expect(page.edges.map((edge) => edge.node)).toEqual(['a10', 'a9', 'a8']);
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(newerCalls).toEqual(['start', 'c1', 'c2']);
    // b decides once a's second page is in: a10 and a9 come before b5.
    expect(olderCalls).toEqual(['start']);
  });

  it('paging on resumes each source where its last taken item was, and an untouched source from its start', async () => {
    const [newer, newerCalls] = createSource('a', [10, 9, 8, 7, 6]);
    const [older, olderCalls] = createSource('b', [9, 5, 1]);
    const first = await mergedPage([newer, older], 3);
    expect(first.edges.map((edge) => edge.node)).toEqual(['a10', 'a9', 'b9']);
    newerCalls.length = 0;
    olderCalls.length = 0;
    const second = await mergedPage([newer, older], 3, first.pageInfo.endCursor!);
    expect(second.edges.map((edge) => edge.node)).toEqual(['a8', 'a7', 'a6']);
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    expect(newerCalls).toEqual(['c2', 'c3', 'c4']);
    // When b reads its second page, a has given only a8: b cannot know yet that a7 and a6 come before b5.
    expect(olderCalls).toEqual(['c1', 'c2']);
    const third = await mergedPage([newer, older], 3, second.pageInfo.endCursor!);
    expect(third.edges.map((edge) => edge.node)).toEqual(['b5', 'b1']);
    expect(third.pageInfo.hasNextPage).toBe(false);
  });

  it('a failing source is reported and keeps its position; the others answer', async () => {
    const [newer] = createSource('a', [10, 9]);
    const failure = new Error('blocked');
    const failing: MergeSource<Item> = { reads: { fetchList: () => Promise.reject(failure) } };
    const page = await mergedPage([newer, failing], 5);
    expect(page.edges.map((edge) => edge.node)).toEqual(['a10', 'a9']);
    expect(page.failures).toEqual([{ source: 1, error: failure }]);
    // The failing source keeps its position: it may have more.
    expect(page.pageInfo.hasNextPage).toBe(true);
  });

  it('a source whose next item is known to be older than the page is not read; one read past the page repeats its read', async () => {
    const [newer, newerCalls] = createSource('a', [10, 9, 8, 7, 6, 5], 3);
    const [older, olderCalls] = createSource('b', [4, 3, 2, 1], 3);
    const first = await mergedPage([newer, older], 3);
    expect(first.edges.map((edge) => edge.node)).toEqual(['a10', 'a9', 'a8']);
    expect([newerCalls.splice(0), olderCalls.splice(0)]).toEqual([['start/3'], ['start/3']]);
    // a8 ended its Graph page: a goes on from its cursor; b's next item (b4) has a7, a6, a5 before it.
    const second = await mergedPage([newer, older], 3, first.pageInfo.endCursor!);
    expect(second.edges.map((edge) => edge.node)).toEqual(['a7', 'a6', 'a5']);
    expect([newerCalls.splice(0), olderCalls.splice(0)]).toEqual([['c3/3'], []]);
    // a is at its end; b, untouched, is read from its start.
    const third = await mergedPage([newer, older], 2, second.pageInfo.endCursor!);
    expect(third.edges.map((edge) => edge.node)).toEqual(['b4', 'b3']);
    expect([newerCalls.splice(0), olderCalls.splice(0)]).toEqual([[], ['start/2']]);
    const fourth = await mergedPage([newer, older], 2, third.pageInfo.endCursor!);
    expect(fourth.edges.map((edge) => edge.node)).toEqual(['b2', 'b1']);
    expect(fourth.pageInfo.hasNextPage).toBe(false);
    expect([newerCalls.splice(0), olderCalls.splice(0)]).toEqual([[], ['c2/2']]);
  });

  it('a source read past the page goes on by repeating the read of its last item (which a cache serves), dropping through it', async () => {
    const [newer, newerCalls] = createSource('a', [10, 9, 7, 6, 5], 3);
    const [older, olderCalls] = createSource('b', [8, 4, 3, 2, 1], 3);
    const first = await mergedPage([newer, older], 3);
    expect(first.edges.map((edge) => edge.node)).toEqual(['a10', 'a9', 'b8']);
    expect([newerCalls.splice(0), olderCalls.splice(0)]).toEqual([['start/3'], ['start/3']]);
    const second = await mergedPage([newer, older], 3, first.pageInfo.endCursor!);
    expect(second.edges.map((edge) => edge.node)).toEqual(['a7', 'a6', 'a5']);
    expect([newerCalls.splice(0), olderCalls.splice(0)]).toEqual([['start/3', 'c3/2'], ['start/3']]);
  });

  it('backward from a cursor: each source read from its start up to the cursor, the last items of their merge', async () => {
    const [newer, newerCalls] = createSource('a', [10, 8, 6, 4, 2], 2);
    const [older, olderCalls] = createSource('b', [9, 7, 5, 3, 1], 2);
    const forward = await mergedPage([newer, older], 7);
    expect(forward.edges.map((edge) => edge.node)).toEqual(['a10', 'b9', 'a8', 'b7', 'a6', 'b5', 'a4']);
    newerCalls.length = 0;
    olderCalls.length = 0;
    const back = await mergedPage([newer, older], 3, forward.edges[5]!.cursor, true);
    expect(back.edges.map((edge) => edge.node)).toEqual(['a8', 'b7', 'a6']);
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    // Pages of GRAPH_LIST_CAP: a up to and including a6 (the last taken from it before b5); b up to b5, excluded (the cursor's edge).
    expect([newerCalls, olderCalls]).toEqual([
      ['start/100', 'c2/100'],
      ['start/100', 'c2/100'],
    ]);
    const before = await mergedPage([newer, older], 3, back.pageInfo.startCursor!, true);
    expect(before.edges.map((edge) => edge.node)).toEqual(['a10', 'b9']);
    expect(before.pageInfo.hasPreviousPage).toBe(false);
    // Any cursor of a backward page resumes forward.
    const onward = await mergedPage([newer, older], 3, back.pageInfo.endCursor!);
    expect(onward.edges.map((edge) => edge.node)).toEqual(['b5', 'a4', 'b3']);
  });
});
