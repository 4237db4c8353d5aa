/**
 * The contract of a `SendLedger` (src/replies/send-ledger.ts) that every implementation must keep: of all the
 * claims of a key, on any instance, one sends; every other claim, and every waiter, learns that send's
 * outcome; an echo proves the send arrived; a key is kept for the ledger's TTL and no longer. What a ledger
 * does when its store is unreachable is its own (the Redis ledger's is in test/redis-send-ledger.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { SendLedger, SendOutcome } from '../../../src/replies/send-ledger.js';
import { until } from '../wait.js';
import type { Fleet } from './fleet.js';

/** The TTL of every test but the one on expiry: long enough that nothing expires during a test. */
const TTL_MS = 60_000;
/** The TTL of the test on expiry. */
const SHORT_TTL_MS = 200;
const CLAIMED_AT = 1_790_000_000_000;

const SENT: SendOutcome = { kind: 'sent', messageId: 'm_sent_1', sentAt: CLAIMED_AT + 150, recipientId: '7001' };
/** A refusal as Graph words it: nested, with an empty list that must stay a list. */
const REFUSED: SendOutcome = {
  kind: 'refused',
  refusal: { error: { code: 551, error_subcode: 1545041, message: 'This person isn’t available right now.' }, blame: [], ratio: 0.25 },
};

let tests = 0;
/** A key of its own per test, shaped like the gateway's (a digest of the caller's idempotency key and Page). */
const newKey = (): string => `send\u001f1000000001\u001fidem-${++tests}`;

export function describeSendLedgerContract(name: string, fleetOf: (ttlMs: number) => Fleet<SendLedger>): void {
  describe(`SendLedger contract: ${name}`, () => {
    it('lets the first claim send; every later claim, on any instance, gets its record', async () => {
      const fleet = fleetOf(TTL_MS);
      const [a, b] = [await fleet(), await fleet()];
      expect(a.ttlMs).toBe(TTL_MS);
      const key = newKey();
      expect(await a.claim(key, 'fp-first', CLAIMED_AT)).toEqual({ claimed: true });
      const record = { fingerprint: 'fp-first', claimedAt: CLAIMED_AT, outcome: undefined, echoedMessageId: undefined };
      expect(await b.claim(key, 'fp-second', CLAIMED_AT + 10)).toEqual({ claimed: false, record });
      expect(await a.claim(key, 'fp-first', CLAIMED_AT + 20)).toEqual({ claimed: false, record });
      expect(await b.get(key)).toEqual(record);
    });

    it('of 20 concurrent claims of one key on 2 instances, exactly one is claimed', async () => {
      const fleet = fleetOf(TTL_MS);
      const instances = [await fleet(), await fleet()];
      const key = newKey();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => instances[i % 2]!.claim(key, `fp-${i}`, CLAIMED_AT + i)));
      const winners = results.flatMap((result, i) => (result.claimed ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      for (const result of results.filter((r) => !r.claimed))
        expect(result).toEqual({
          claimed: false,
          record: expect.objectContaining({ fingerprint: `fp-${winner}`, claimedAt: CLAIMED_AT + winner }),
        });
    });

    it('shows an outcome settled on one instance on every other, its claim unchanged', async () => {
      const fleet = fleetOf(TTL_MS);
      const [a, b] = [await fleet(), await fleet()];
      const [sent, refused] = [newKey(), newKey()];
      await a.claim(sent, 'fp-sent', CLAIMED_AT);
      await a.settle(sent, SENT);
      expect(await b.get(sent)).toEqual({ fingerprint: 'fp-sent', claimedAt: CLAIMED_AT, outcome: SENT, echoedMessageId: undefined });
      await b.claim(refused, 'fp-refused', CLAIMED_AT);
      await b.settle(refused, REFUSED);
      expect((await a.claim(refused, 'fp-refused', CLAIMED_AT + 1)) as unknown).toEqual({
        claimed: false,
        record: { fingerprint: 'fp-refused', claimedAt: CLAIMED_AT, outcome: REFUSED, echoedMessageId: undefined },
      });
      // Settling a key nobody holds records nothing.
      const unheld = newKey();
      await a.settle(unheld, SENT);
      expect(await b.get(unheld)).toBeUndefined();
    });

    it('frees a released key for every instance: the next claim sends afresh', async () => {
      const fleet = fleetOf(TTL_MS);
      const [a, b] = [await fleet(), await fleet()];
      const key = newKey();
      await a.claim(key, 'fp-1', CLAIMED_AT);
      await a.release(key);
      expect(await b.get(key)).toBeUndefined();
      expect(await b.claim(key, 'fp-2', CLAIMED_AT + 5)).toEqual({ claimed: true });
      expect(await a.get(key)).toEqual({ fingerprint: 'fp-2', claimedAt: CLAIMED_AT + 5, outcome: undefined, echoedMessageId: undefined });
    });

    it('wakes a waiter when another instance settles the send', async () => {
      const fleet = fleetOf(TTL_MS);
      const [a, b] = [await fleet(), await fleet()];
      const key = newKey();
      await a.claim(key, 'fp', CLAIMED_AT);
      const deadline = Date.now() + 10_000;
      const waiting = b.whenSettled(key, deadline);
      await a.settle(key, SENT);
      expect(await waiting).toEqual({ fingerprint: 'fp', claimedAt: CLAIMED_AT, outcome: SENT, echoedMessageId: undefined });
      expect(Date.now()).toBeLessThan(deadline);
    });

    it('answers a waiter at its deadline with the record still in flight, and at once for a key not held', async () => {
      const fleet = fleetOf(TTL_MS);
      const [a, b] = [await fleet(), await fleet()];
      const key = newKey();
      await a.claim(key, 'fp', CLAIMED_AT);
      const deadline = Date.now() + 100;
      expect(await b.whenSettled(key, deadline)).toEqual({
        fingerprint: 'fp',
        claimedAt: CLAIMED_AT,
        outcome: undefined,
        echoedMessageId: undefined,
      });
      expect(Date.now()).toBeGreaterThanOrEqual(deadline);
      expect(await b.whenSettled(newKey(), Date.now() + 10_000)).toBeUndefined();
    });

    it('keeps an echo noted before the claim or after it, and wakes a waiter with it', async () => {
      const fleet = fleetOf(TTL_MS);
      const [a, b] = [await fleet(), await fleet()];
      const early = newKey();
      await b.noteEcho(early, 'm_echo_early');
      // An echo alone holds no key.
      expect(await a.get(early)).toBeUndefined();
      expect(await a.claim(early, 'fp', CLAIMED_AT)).toEqual({ claimed: true });
      expect((await b.get(early))?.echoedMessageId).toBe('m_echo_early');

      const late = newKey();
      await a.claim(late, 'fp', CLAIMED_AT);
      const waiting = a.whenSettled(late, Date.now() + 10_000);
      await b.noteEcho(late, 'm_echo_late');
      expect(await waiting).toEqual({ fingerprint: 'fp', claimedAt: CLAIMED_AT, outcome: undefined, echoedMessageId: 'm_echo_late' });
      expect(await a.claim(late, 'fp', CLAIMED_AT + 1)).toEqual({
        claimed: false,
        record: { fingerprint: 'fp', claimedAt: CLAIMED_AT, outcome: undefined, echoedMessageId: 'm_echo_late' },
      });
    });

    it('forgets a key after its TTL, and an echo after its own: the key may be claimed again', async () => {
      const fleet = fleetOf(SHORT_TTL_MS);
      const [a, b] = [await fleet(), await fleet()];
      const key = newKey();
      await b.noteEcho(key, 'm_echo');
      const claimedAt = Date.now();
      await a.claim(key, 'fp', claimedAt);
      await a.settle(key, SENT);
      expect(await b.get(key)).toMatchObject({ outcome: SENT, echoedMessageId: 'm_echo' });
      await until(async () => (await b.get(key)) === undefined, 'the key to expire', 5_000);
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(SHORT_TTL_MS - 5);
      // The echo was noted before the claim, so it expired first.
      expect(await a.claim(key, 'fp-again', Date.now())).toEqual({ claimed: true });
      expect(await b.get(key)).toMatchObject({ fingerprint: 'fp-again', outcome: undefined, echoedMessageId: undefined });
    });

    it('tells keys apart by their whole string', async () => {
      const ledger = await fleetOf(TTL_MS)();
      const key = newKey();
      const answers = [];
      for (const k of [key, `${key}0`, key.slice(0, -1), `x${key}`, key.toUpperCase(), key])
        answers.push((await ledger.claim(k, k, CLAIMED_AT)).claimed);
      expect(answers).toEqual([true, true, true, true, true, false]);
    });
  });
}
