/**
 * The contract of a `ProofStore` (src/graph-api/proof-store.ts) every implementation must keep: a proof made on one
 * instance is live on every other with what is left of its TTL, until its TTL ends or it is revoked (on any
 * instance); names never proven are not live. What a store does while unreachable is its own.
 */
import { describe, expect, it } from 'vitest';
import type { ProofStore } from '../../../src/graph-api/proof-store.js';
import { elapse, type Fleet } from './fleet.js';

const TTL_MS = 60_000;
const SHORT_TTL_MS = 150;

let tests = 0;
/** Names shaped like read-access.ts's, of a fingerprint of their own per test. */
const namesOf = () => {
  const caller = `fp${++tests}xxxxxxxxxxxxxxxxx`;
  return { inbox: `${caller}|1000000001|messenger`, thread: `${caller}|thread|t_1`, node: `${caller}|node|1000000001` };
};

export function describeProofStoreContract(name: string, fleetOf: () => Fleet<ProofStore>): void {
  describe(`ProofStore contract: ${name}`, () => {
    it('shows a proof made on one instance on another, with what is left of its TTL', async () => {
      const fleet = fleetOf();
      const [a, b] = [await fleet(), await fleet()];
      const { inbox, thread, node } = namesOf();
      await a.prove([inbox, node], TTL_MS);
      const left = await b.lookup([inbox, thread, node]);
      expect(left?.map((ms) => ms !== undefined && ms > TTL_MS - 5_000 && ms <= TTL_MS)).toEqual([true, false, true]);
      expect(left?.[1]).toBeUndefined();
    });

    it('ends a proof revoked on any instance, for every instance, and leaves the others', async () => {
      const fleet = fleetOf();
      const [a, b] = [await fleet(), await fleet()];
      const { inbox, thread, node } = namesOf();
      await a.prove([inbox, thread, node], TTL_MS);
      await b.revoke([inbox, thread]);
      expect((await a.lookup([inbox, thread, node]))?.map((ms) => ms !== undefined)).toEqual([false, false, true]);
    });

    it('ends a proof when its TTL has passed; proving it again starts the TTL over', async () => {
      const fleet = fleetOf();
      const [a, b] = [await fleet(), await fleet()];
      const { inbox, node } = namesOf();
      await a.prove([inbox, node], SHORT_TTL_MS);
      await b.prove([node], TTL_MS);
      await elapse(SHORT_TTL_MS + 100);
      expect((await b.lookup([inbox, node]))?.map((ms) => ms !== undefined)).toEqual([false, true]);
    });

    it('answers an empty lookup, and an empty proof or revocation does nothing', async () => {
      const a = await fleetOf()();
      await a.prove([], TTL_MS);
      await a.revoke([]);
      expect(await a.lookup([])).toEqual([]);
    });
  });
}
