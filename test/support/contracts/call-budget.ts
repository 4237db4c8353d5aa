/**
 * The contract of a `CallBudget` (src/graph-api/call-budget.ts) that every implementation must keep: the
 * rule the scheduler relies on, whichever process counts. What only a fleet has (a line shared across
 * instances, polling for places in flight elsewhere, dead instances' places) stays in
 * test/redis-call-budget.test.ts; what only a process alone has (its scheduler's own line) in the scheduler's.
 */
import { describe, expect, it } from 'vitest';
import type { BudgetClaim, CallBudget } from '../../../src/graph-api/call-budget.js';
import { elapse, type Fleet, newPage } from './fleet.js';

/**
 * Redis converts the caller's times to its own clock and back, by the offset between the two seen at each
 * call: the latency of each call moves a time by it (a ms or two; tens of ms on a loaded machine).
 */
const CLOCK_SLACK_MS = 50;

const claim = (ticket: string, queuedAt: number, calls = 1): BudgetClaim => ({ ticket, calls, queuedAt, deadline: queuedAt + 60_000 });
const tickets = (granted: ReadonlyMap<string, readonly string[]>): string[] => [...granted.keys()];

export function describeCallBudgetContract(name: string, newFleet: (callsPerSecond: number) => Fleet<CallBudget>): void {
  describe(`CallBudget contract: ${name}`, () => {
    it('grants N calls per window, then refuses until a window after the first answer; a place given back unused frees', async () => {
      const budget = await newFleet(2)();
      expect([budget.callsPerSecond, budget.limit, budget.windowMs]).toEqual([2, 2, 1_000]);
      const page = newPage();
      const now = Date.now();
      const first = await budget.acquire(page, [claim('c1', now), claim('c2', now + 1), claim('c3', now + 2)], now);
      expect(tickets(first.granted)).toEqual(['c1', 'c2']);
      expect(first.granted.get('c1')).toHaveLength(1);
      expect(first).toMatchObject({ busy: 2, waitingCalls: 1, blockedUntil: undefined });
      expect(first.retryAt).toBeGreaterThan(now);

      const answeredAt = Date.now();
      await budget.release(page, first.granted.get('c1')!, answeredAt);
      const full = await budget.acquire(page, [claim('c3', now + 2)], Date.now());
      expect(full).toMatchObject({ busy: 2, waitingCalls: 1, blockedUntil: undefined });
      expect(full.granted.size).toBe(0);
      expect(Math.abs(full.retryAt! - (answeredAt + 1_000))).toBeLessThanOrEqual(CLOCK_SLACK_MS);

      await budget.release(page, first.granted.get('c2')!, 0);
      const next = await budget.acquire(page, [claim('c3', now + 2)], Date.now());
      expect(tickets(next.granted)).toEqual(['c3']);
      expect(next).toMatchObject({ busy: 2, waitingCalls: 0, retryAt: undefined, blockedUntil: undefined });
    });

    it('never grants a claim past its deadline (its operation stopped waiting): the next claim takes the place', async () => {
      const budget = await newFleet(1)();
      const page = newPage();
      const now = Date.now();
      const grant = await budget.acquire(
        page,
        [{ ticket: 'void', calls: 1, queuedAt: now - 10, deadline: now - 1 }, claim('live', now)],
        now,
      );
      expect(tickets(grant.granted)).toEqual(['live']);
    });

    it('lets a claim withdrawn leave nothing behind: the status then counts only the places held', async () => {
      const budget = await newFleet(1)();
      const page = newPage();
      const now = Date.now();
      const held = await budget.acquire(page, [claim('held', now), claim('left', now + 1, 2)], now);
      expect(tickets(held.granted)).toEqual(['held']);
      expect(held.waitingCalls).toBe(2);
      await budget.withdraw(page, ['left']);
      expect(await budget.status(page, Date.now())).toEqual({ busy: 1, waitingCalls: 0, blockedUntil: undefined });
    });

    it('grants a claim needing more places than a window holds alone, into an empty window only', async () => {
      const fleet = newFleet(2);
      const [a, b] = [await fleet(), await fleet()];
      const page = newPage();
      const now = Date.now();
      const big = await a.acquire(page, [claim('big', now, 3)], now);
      expect(big.granted.get('big')).toHaveLength(3);
      expect(big.busy).toBe(3);
      expect((await b.acquire(page, [claim('b1', now + 1)], now)).granted.size).toBe(0);

      const other = newPage();
      expect(tickets((await a.acquire(other, [claim('one', now)], now)).granted)).toEqual(['one']);
      const refused = await b.acquire(other, [claim('big', now + 1, 3)], now);
      expect(refused).toMatchObject({ busy: 1, waitingCalls: 3 });
      expect(refused.granted.size).toBe(0);
    });

    it('counts the places taken through one instance for every instance, and frees them for all when released', async () => {
      const fleet = newFleet(2);
      const [a, b] = [await fleet(), await fleet()];
      const page = newPage();
      const now = Date.now();
      const held = await a.acquire(page, [claim('a1', now), claim('a2', now + 1)], now);
      expect(held.busy).toBe(2);
      expect((await b.status(page, Date.now())).busy).toBe(2);
      const refused = await b.acquire(page, [claim('b1', now + 2)], Date.now());
      expect(refused.granted.size).toBe(0);
      expect(refused.busy).toBe(2);
      await b.withdraw(page, ['b1']);

      await a.release(page, [...held.granted.values()].flat(), 0);
      expect(await b.status(page, Date.now())).toEqual({ busy: 0, waitingCalls: 0, blockedUntil: undefined });
      expect(tickets((await b.acquire(page, [claim('b1', now + 2)], Date.now())).granted)).toEqual(['b1']);
      // Each Page has its own window.
      expect((await b.acquire(newPage(), [claim('b2', now)], Date.now())).busy).toBe(1);
    });

    it('gives a background read only an idle window, leaving a place free after it', async () => {
      const fleet = newFleet(2);
      const [a, b] = [await fleet(), await fleet()];
      const page = newPage();
      const idle = await a.acquireIdle(page, 1, Date.now());
      expect(idle).toHaveLength(1);
      expect(await b.acquireIdle(page, 1, Date.now())).toBeUndefined();
      await a.release(page, idle!, 0);
      expect(await b.acquireIdle(page, 2, Date.now())).toBeUndefined();
      expect(await b.acquireIdle(page, 1, Date.now())).toHaveLength(1);
    });

    it('a throttle block refuses every instance until its end; a shorter block does not shorten it', async () => {
      const fleet = newFleet(2);
      const [a, b] = [await fleet(), await fleet()];
      const page = newPage();
      const until = Date.now() + 60_000;
      await a.block(page, until);
      const refused = await b.acquire(page, [claim('b1', Date.now())], Date.now());
      expect(refused.granted.size).toBe(0);
      expect(refused.retryAt).toBeUndefined();
      expect(Math.abs(refused.blockedUntil! - until)).toBeLessThanOrEqual(CLOCK_SLACK_MS);
      expect(Math.abs((await b.status(page, Date.now())).blockedUntil! - until)).toBeLessThanOrEqual(CLOCK_SLACK_MS);
      expect(await b.acquireIdle(page, 1, Date.now())).toBeUndefined();
      await b.block(page, Date.now() + 1_000);
      expect(Math.abs((await a.status(page, Date.now())).blockedUntil! - until)).toBeLessThanOrEqual(CLOCK_SLACK_MS);
      // Other Pages are not blocked.
      expect(tickets((await a.acquire(newPage(), [claim('a1', Date.now())], Date.now())).granted)).toEqual(['a1']);

      const brief = newPage();
      await b.block(brief, Date.now() + 300);
      const during = await a.acquire(brief, [claim('a2', Date.now())], Date.now());
      expect(during.granted.size).toBe(0);
      await elapse(during.blockedUntil! - Date.now() + CLOCK_SLACK_MS);
      const after = await a.acquire(brief, [claim('a2', Date.now())], Date.now());
      expect(tickets(after.granted)).toEqual(['a2']);
      expect(after.blockedUntil).toBeUndefined();
      expect((await b.status(brief, Date.now())).blockedUntil).toBeUndefined();
    });

    it('holds a block where the scheduler asks without a round trip: at once where it was met, elsewhere once heard', async () => {
      const fleet = newFleet(2);
      const [a, b] = [await fleet(), await fleet()];
      const page = newPage();
      const until = Date.now() + 60_000;
      expect(a.blockedUntil(page, Date.now())).toBeUndefined();
      const blocking = a.block(page, until);
      // Known before the promise settles: the scheduler refuses the Page's next read at once.
      expect(a.blockedUntil(page, Date.now())).toBe(until);
      await blocking;
      // Another instance learns of it from the budget (a grant or a status), then holds it too.
      await b.acquire(page, [claim('after', Date.now())], Date.now());
      expect(Math.abs(b.blockedUntil(page, Date.now())! - until)).toBeLessThanOrEqual(CLOCK_SLACK_MS);
      expect(a.blockedUntil(page, until + 1)).toBeUndefined();
    });

    it('a fraction of a call per second is one call per 1/rate seconds', async () => {
      const budget = await newFleet(0.5)();
      expect([budget.callsPerSecond, budget.limit, budget.windowMs]).toEqual([0.5, 1, 2_000]);
      const page = newPage();
      const now = Date.now();
      const first = await budget.acquire(page, [claim('c1', now), claim('c2', now + 1)], now);
      expect(tickets(first.granted)).toEqual(['c1']);
      expect(first).toMatchObject({ busy: 1, waitingCalls: 1 });
      const answeredAt = Date.now();
      await budget.release(page, first.granted.get('c1')!, answeredAt);
      const waiting = await budget.acquire(page, [claim('c2', now + 1)], Date.now());
      expect(waiting.granted.size).toBe(0);
      expect(Math.abs(waiting.retryAt! - (answeredAt + 2_000))).toBeLessThanOrEqual(CLOCK_SLACK_MS);
    });

    it('0 calls per second is no limit: every claim granted, nothing counted; a throttle block still holds', async () => {
      const fleet = newFleet(0);
      const [a, b] = [await fleet(), await fleet()];
      expect([a.callsPerSecond, a.limit]).toEqual([0, 0]);
      const page = newPage();
      const now = Date.now();
      const claims = Array.from({ length: 10 }, (_, i) => claim(`c${i}`, now + i, 3));
      const all = await a.acquire(page, claims, now);
      expect(tickets(all.granted)).toEqual(claims.map((c) => c.ticket));
      expect([...all.granted.values()].every((places) => places.length === 3)).toBe(true);
      expect(all).toMatchObject({ busy: 0, waitingCalls: 0, retryAt: undefined, blockedUntil: undefined });
      expect(await b.acquireIdle(page, 5, now)).toHaveLength(5);
      expect(await b.status(page, Date.now())).toEqual({ busy: 0, waitingCalls: 0, blockedUntil: undefined });

      const until = Date.now() + 60_000;
      await a.block(page, until);
      const refused = await b.acquire(page, [claim('late', Date.now())], Date.now());
      expect(refused.granted.size).toBe(0);
      expect(Math.abs(refused.blockedUntil! - until)).toBeLessThanOrEqual(CLOCK_SLACK_MS);
    });
  });
}
