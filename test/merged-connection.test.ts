/**
 * The k-way merge of schema/graph-connection.ts over fake sources: what each source is asked for, call by call.
 */
import { describe, expect, it } from 'vitest';
import { createCursorCodec } from '../src/cursors.js';
import type { GraphList } from '../src/graph-api/wire-types.js';
import { type MergeSource, planMergedConnection, resolveMergedConnection } from '../src/schema/graph-connection.js';

interface Item {
  id: string;
  time: number;
}

/** A source serving one item per Graph page (as privacy filtering can leave them), and the requests it got. */
function createSource(name: string, times: readonly number[]): [MergeSource<Item>, string[]] {
  const calls: string[] = [];
  const items = times.map((time) => ({ id: `${name}${time}`, time }));
  const page = (at: number): GraphList<Item> => ({
    data: items.slice(at, at + 1),
    paging: {
      cursors: { before: `c${at}`, after: `c${at + 1}` },
      ...(at + 1 < items.length ? { next: `https://graph.example/${name}?after=c${at + 1}` } : {}),
    },
  });
  const source: MergeSource<Item> = {
    reads: {
      fetchList: (request) => {
        calls.push(request.after ?? 'start');
        const at = request.after === undefined ? 0 : Number(request.after.slice(1));
        return Promise.resolve({ value: page(at), fetchedAt: 0, stale: undefined });
      },
    },
  };
  return [source, calls];
}

const cursors = createCursorCodec('test-secret');

async function mergedPage(sources: MergeSource<Item>[], first: number, after?: string) {
  const plan = planMergedConnection({ first, after }, cursors, 'scope', sources.length);
  return resolveMergedConnection<Item, string>({
    plan,
    scope: 'scope',
    cursors,
    sources,
    idOf: (item) => item.id,
    precedes: (a, b) => a.item.time > b.item.time || (a.item.time === b.item.time && a.source < b.source),
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
    expect(olderCalls).toEqual(['start', 'c1']);
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
    expect(page.pageInfo.hasNextPage).toBe(false);
  });
});
