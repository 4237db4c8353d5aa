/**
 * The read cache's tenancy rules on their own (src/graph-api/read-access.ts): which inbox a read belongs to,
 * what a token's own reads prove, and how a stranger's reads are admitted one probe at a time.
 */
import { describe, expect, it } from 'vitest';
import type { GraphRead, UpstreamUsage } from '../src/graph-api/read.js';
import { GraphApiError, OperationAbortedError } from '../src/graph-api/errors.js';
import { MemoryProofStore } from '../src/graph-api/proof-store.js';
import { type Fetched, ReadAccess } from '../src/graph-api/read-access.js';

const ACME = '1000000001';
const BISTRO = '1000000002';
const list = (token: string, page: string, platform: 'messenger' | 'instagram' = 'messenger', limit = 2): GraphRead => ({
  request: { path: `${page}/conversations`, params: { fields: 'id', limit, platform } },
  token,
  budgetKey: page,
  about: { kind: 'list', platform },
});
const thread = (token: string, claimedPage: string, threadId: string): GraphRead => ({
  request: { path: threadId, params: { fields: 'id' } },
  token,
  budgetKey: claimedPage,
  about: { kind: 'thread', threadId },
});
const keyOf = (read: GraphRead): string => `${read.token} ${read.request.path} ${JSON.stringify(read.request.params)}`;
const access = (): ReadAccess => new ReadAccess({ proofTtlMs: 60_000, keyOf });
const usage = (): UpstreamUsage => ({ requests: 0, calls: 0, coalesced: 0, cached: 0 });
const answer = (body: unknown): Fetched => ({ body, fetchedAt: 1, cached: false, stale: undefined });
const permissionDenied = (): GraphApiError =>
  new GraphApiError(403, { message: '(#200) Permissions error', type: 'OAuthException', code: 200, fbtrace_id: 'A' });

describe('ReadAccess', () => {
  it('places a list in the Page whose id was read, and a thread in the inbox whose list showed it, whatever Page is claimed', () => {
    const rules = access();
    expect(rules.inboxOf(list('a', ACME))).toEqual({ page: ACME, platform: 'messenger' });
    expect(rules.inboxOf({ ...list('a', ACME), request: { path: 'me/conversations', params: {} } })).toBeUndefined();
    expect(rules.inboxOf(thread('a', BISTRO, 't_1'))).toBeUndefined();
    rules.remember(list('a', ACME, 'instagram'), { data: [{ id: 't_1' }, { id: 't_2' }] });
    expect(rules.inboxOf(thread('b', BISTRO, 't_1'))).toEqual({ page: ACME, platform: 'instagram' });
  });

  it('proves a token for the inbox it read (that platform only) and for threads it read, and forgets on a refusal', () => {
    const rules = access();
    rules.remember(list('a', ACME), { data: [{ id: 't_1' }] });
    const messenger = { page: ACME, platform: 'messenger' } as const;
    expect(rules.proven(list('a', ACME), messenger, undefined)).toBe(true);
    expect(rules.proven(list('a', ACME), { page: ACME, platform: 'instagram' }, undefined)).toBe(false);
    expect(rules.proven(list('b', ACME), messenger, undefined)).toBe(false);
    // `me` proves nothing: it names another Page for every token.
    rules.remember({ ...list('c', ACME), request: { path: 'me/conversations', params: {} } }, { data: [] });
    expect(rules.proven(list('c', ACME), messenger, undefined)).toBe(false);
    // A thread read proves that thread only.
    rules.remember(thread('d', BISTRO, 't_9'), { id: 't_9' });
    expect(rules.proven(thread('d', BISTRO, 't_9'), { page: BISTRO, platform: 'messenger' }, 't_9')).toBe(true);
    expect(rules.proven(thread('d', BISTRO, 't_8'), { page: BISTRO, platform: 'messenger' }, 't_8')).toBe(false);
    rules.forget(list('a', ACME));
    expect(rules.proven(list('a', ACME), messenger, undefined)).toBe(false);
  });

  it('shares proofs through its store: made here, they count there once refreshed; a refusal ends them everywhere', async () => {
    const store = new MemoryProofStore();
    const [here, there] = [new ReadAccess({ proofTtlMs: 60_000, keyOf, store }), new ReadAccess({ proofTtlMs: 60_000, keyOf, store })];
    const messenger = { page: ACME, platform: 'messenger' } as const;
    await here.remember(list('a', ACME), { data: [{ id: 't_1' }] });
    expect(there.proven(list('a', ACME), messenger, undefined)).toBe(false);
    await there.refresh([list('a', ACME)]);
    expect(there.proven(list('a', ACME), messenger, undefined)).toBe(true);
    expect(there.provenForPageNode(list('a', ACME), ACME)).toBe(true);
    expect(await there.hasProof('a', messenger)).toBe(true);
    await there.forget(list('a', ACME));
    expect(here.proven(list('a', ACME), messenger, undefined)).toBe(true);
    await here.refresh([list('a', ACME)]);
    expect(here.proven(list('a', ACME), messenger, undefined)).toBe(false);
  });

  it('serves an entry only of the inbox it recorded, to a proven token; an entry without an inbox never', () => {
    const rules = access();
    rules.remember(list('a', ACME), { data: [] });
    const inbox = { page: ACME, platform: 'messenger' } as const;
    const entry = { body: {}, fetchedAt: 1, generation: 'g', inbox };
    expect(rules.mayServe(list('a', ACME), inbox, undefined, entry)).toBe(true);
    expect(rules.mayServe(list('a', ACME), inbox, undefined, { ...entry, inbox: { page: BISTRO, platform: 'messenger' } })).toBe(false);
    expect(rules.mayServe(list('a', ACME), inbox, undefined, { body: {}, fetchedAt: 1, generation: 'g' })).toBe(false);
    expect(rules.mayServe(list('b', ACME), inbox, undefined, entry)).toBe(false);
  });

  it("sends a stranger's reads of an inbox one probe at a time: a refusal answers them all, and the next ones without a call", async () => {
    const rules = access();
    const sent: string[][] = [];
    const refuse = async (reads: readonly GraphRead[]): Promise<Fetched[]> => {
      sent.push(reads.map((read) => String(read.request.params.limit)));
      return reads.map(() => answer(permissionDenied()));
    };
    const burst = [1, 2, 3, 4].map((limit) => list('stranger', ACME, 'messenger', limit));
    const results = await rules.admit(burst, usage(), refuse);
    expect(sent).toEqual([['1']]);
    expect(results.map((result) => (result.body as GraphApiError).code)).toEqual([200, 200, 200, 200]);
    await rules.admit(burst, usage(), refuse);
    expect(sent).toEqual([['1']]);
    // Another inbox of the same Page is another probe.
    await rules.admit([list('stranger', ACME, 'instagram')], usage(), refuse);
    expect(sent).toEqual([['1'], ['2']]);
  });

  it('lets the others go together once the probe succeeds; the same read takes the probe’s answer', async () => {
    const rules = access();
    const sent: string[][] = [];
    // As the read cache does: a successful read from Graph is remembered.
    const serve = async (reads: readonly GraphRead[]): Promise<Fetched[]> => {
      sent.push(reads.map((read) => String(read.request.params.limit)));
      return reads.map((read) => {
        const body = { data: [{ id: `t_${read.request.params.limit}` }] };
        rules.remember(read, body);
        return answer(body);
      });
    };
    const counted = usage();
    const results = await rules.admit(
      [list('agent', ACME, 'messenger', 1), list('agent', ACME, 'messenger', 1), list('agent', ACME)],
      counted,
      serve,
    );
    // The probe proved the token: the one other read goes at once.
    expect(sent).toEqual([['1'], ['2']]);
    expect(results.map((result) => result.body)).toEqual([{ data: [{ id: 't_1' }] }, { data: [{ id: 't_1' }] }, { data: [{ id: 't_2' }] }]);
    expect(counted.coalesced).toBe(1);
    // Proven now: no probe at all.
    await rules.admit([list('agent', ACME, 'messenger', 5), list('agent', ACME, 'messenger', 6)], usage(), serve);
    expect(sent).toEqual([['1'], ['2'], ['5', '6']]);
  });

  it('shares a probe with concurrent operations of the same token, but not an abort of the probe’s own operation', async () => {
    const rules = access();
    const sent: string[][] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const aborted = async (reads: readonly GraphRead[]): Promise<Fetched[]> => {
      sent.push(reads.map((read) => String(read.request.params.limit)));
      await held;
      return reads.map(() => answer(new OperationAbortedError('disconnected')));
    };
    const serve = async (reads: readonly GraphRead[]): Promise<Fetched[]> => {
      sent.push(reads.map((read) => String(read.request.params.limit)));
      return reads.map(() => answer({ data: [] }));
    };
    const first = rules.admit([list('agent', ACME, 'messenger', 1)], usage(), aborted);
    const second = rules.admit([list('agent', ACME, 'messenger', 2)], usage(), serve);
    await new Promise(setImmediate);
    expect(sent).toEqual([['1']]);
    release();
    expect((await first)[0]!.body).toBeInstanceOf(OperationAbortedError);
    expect((await second)[0]!.body).toEqual({ data: [] });
    expect(sent).toEqual([['1'], ['2']]);
  });
});
