/**
 * The contract of an `IdentityStore` (src/identity-store.ts) every implementation must keep: an identity stored on one
 * instance is found, equal, on every other with what is left of its TTL until it ends; a fingerprint never stored finds nothing.
 */
import { describe, expect, it } from 'vitest';
import type { IdentityStore, StoredIdentity } from '../../../src/identity-store.js';
import { elapse, type Fleet } from './fleet.js';

const TTL_MS = 60_000;
const SHORT_TTL_MS = 150;

/** A user's identity with a Page of unknown name and tasks: what JSON has no `undefined` for must come back as it went. */
const USER: StoredIdentity = {
  kind: 'user',
  id: '2000000001',
  name: 'Alice Demo',
  pages: [
    { id: '1000000001', name: 'Acme Shop', tasks: ['MESSAGING', 'MODERATE'] },
    { id: '1000000002', name: undefined, tasks: [] },
  ],
  sealedPageTokens: 'c2VhbGVkLWJ5dGVz',
};
const PAGE: StoredIdentity = {
  kind: 'page',
  id: '1000000002',
  name: undefined,
  pages: [{ id: '1000000002', name: undefined, tasks: undefined }],
  sealedPageTokens: undefined,
};

let tests = 0;
const newFingerprint = (): string => `fp${++tests}-identity-contract`;

export function describeIdentityStoreContract(name: string, fleetOf: () => Fleet<IdentityStore>): void {
  describe(`IdentityStore contract: ${name}`, () => {
    it('finds on another instance the identity one stored, equal to it', async () => {
      const fleet = fleetOf();
      const [a, b] = [await fleet(), await fleet()];
      const [user, page] = [newFingerprint(), newFingerprint()];
      await a.set(user, USER, TTL_MS);
      await a.set(page, PAGE, TTL_MS);
      const [gotUser, gotPage] = [await b.get(user), await b.get(page)];
      expect([gotUser?.identity, gotPage?.identity]).toEqual([USER, PAGE]);
      // What is left of the TTL, not a whole TTL more.
      expect([gotUser!.ttlMs > TTL_MS - 5_000 && gotUser!.ttlMs <= TTL_MS, gotPage!.ttlMs <= TTL_MS]).toEqual([true, true]);
      expect(await b.get(newFingerprint())).toBeUndefined();
    });

    it('forgets an identity once its TTL has passed', async () => {
      const fleet = fleetOf();
      const [a, b] = [await fleet(), await fleet()];
      const fingerprint = newFingerprint();
      await a.set(fingerprint, USER, SHORT_TTL_MS);
      await elapse(SHORT_TTL_MS + 100);
      expect(await b.get(fingerprint)).toBeUndefined();
    });
  });
}
