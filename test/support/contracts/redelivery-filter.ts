/**
 * The contract of a `RedeliveryFilter` (src/webhooks/redelivery.ts) that every implementation must keep:
 * the first sighting of an event passes, every repeat within the window is dropped, on any instance. The
 * window's length, and what an instance alone remembers while Redis is away, are each implementation's own.
 */
import { describe, expect, it } from 'vitest';
import type { RedeliveryFilter } from '../../../src/webhooks/redelivery.js';
import type { Fleet } from './fleet.js';

let tests = 0;

export function describeRedeliveryFilterContract(name: string, newFleet: () => Fleet<RedeliveryFilter>): void {
  describe(`RedeliveryFilter contract: ${name}`, () => {
    it('lets an event through once, whichever instance sees it first and however often it comes again', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const key = `message\u001f1000000001\u001f7001\u001fm_${++tests}`;
      expect(await a.firstSeen(key)).toBe(true);
      expect(await b.firstSeen(key)).toBe(false);
      expect(await a.firstSeen(key)).toBe(false);
      expect(await b.firstSeen(key)).toBe(false);
      expect(await b.firstSeen(`${key}_next`)).toBe(true);
      expect(await a.firstSeen(`${key}_next`)).toBe(false);
    });

    it('tells events apart by their whole key', async () => {
      const filter = await newFleet()();
      const key = `read\u001f1000000001\u001f7001\u001f\u001f${++tests}`;
      const answers = [];
      for (const k of [key, `${key}0`, key.slice(0, -1), `x${key}`, key]) answers.push(await filter.firstSeen(k));
      expect(answers).toEqual([true, true, true, true, false]);
    });
  });
}
