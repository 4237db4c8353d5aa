/**
 * The contract of an `InboxEventStream` (src/webhooks/inbox-events.ts) that every implementation must
 * keep: a subscriber hears the events of its accounts published by any instance, once and in order, and
 * nothing after `return()`. What only a fleet has (each instance counting its own listeners, nothing
 * relayed while away from Redis) stays in test/redis-inbox-events.test.ts and test/redis-degraded.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { InboxEvent, InboxEventStream } from '../../../src/webhooks/inbox-events.js';
import type { Fleet } from './fleet.js';
import { messageEvent as event } from '../inbox-events.js';

const ACME = '1000000001';
const BISTRO = '1000000002';

/** The next `count` events of `stream`. */
async function take(stream: AsyncIterableIterator<InboxEvent>, count: number): Promise<InboxEvent[]> {
  const events: InboxEvent[] = [];
  while (events.length < count) {
    const next = await stream.next();
    if (next.done === true) throw new Error(`the stream ended after ${events.length} of ${count} events`);
    events.push(next.value);
  }
  return events;
}

export function describeInboxEventStreamContract(name: string, newFleet: () => Fleet<InboxEventStream>): void {
  describe(`InboxEventStream contract: ${name}`, () => {
    it('delivers the events any instance publishes to the subscribers of every instance, once each and in order', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const [onA, onB] = [a.subscribe([ACME]), b.subscribe([ACME])];
      await a.publish(event('m_1'));
      await b.publish(event('m_2'));
      await a.publish(event('m_3'));
      expect(await take(onA, 3)).toEqual([event('m_1'), event('m_2'), event('m_3')]);
      expect(await take(onB, 3)).toEqual([event('m_1'), event('m_2'), event('m_3')]);
      // Once: the next event heard is the next one published, not a second copy.
      await b.publish(event('m_4'));
      expect(await take(onA, 1)).toEqual([event('m_4')]);
      expect(await take(onB, 1)).toEqual([event('m_4')]);
      await onA.return!();
      await onB.return!();
    });

    it("never delivers another account's events; a subscriber of several accounts hears each of them", async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const onAcme = a.subscribe([ACME]);
      const onBoth = a.subscribe([BISTRO, ACME]);
      await b.publish(event('m_bistro', BISTRO));
      await b.publish(event('m_acme'));
      // Published first, the Bistro event would come first had it been delivered.
      expect(await take(onAcme, 1)).toEqual([event('m_acme')]);
      expect(await take(onBoth, 2)).toEqual([event('m_bistro', BISTRO), event('m_acme')]);
      await onAcme.return!();
      await onBoth.return!();
    });

    it('return() ends that subscription at once and drops it from listenerCount; the others keep listening', async () => {
      const stream = await newFleet()();
      expect(stream.listenerCount(ACME)).toBe(0);
      const first = stream.subscribe([ACME, BISTRO]);
      const second = stream.subscribe([ACME]);
      expect([stream.listenerCount(ACME), stream.listenerCount(BISTRO)]).toEqual([2, 1]);

      expect(await first.return!()).toEqual({ value: undefined, done: true });
      expect([stream.listenerCount(ACME), stream.listenerCount(BISTRO)]).toEqual([1, 0]);
      await stream.publish(event('m_after'));
      expect(await first.next()).toEqual({ value: undefined, done: true });
      expect(await take(second, 1)).toEqual([event('m_after')]);
      await second.return!();
      expect(stream.listenerCount(ACME)).toBe(0);
    });

    it('delivers the events published between subscribe() and the first read', async () => {
      const fleet = newFleet();
      const [a, b] = [await fleet(), await fleet()];
      const stream = a.subscribe([ACME]);
      await b.publish(event('m_early'));
      await b.publish(event('m_later'));
      expect(await take(stream, 2)).toEqual([event('m_early'), event('m_later')]);
      await stream.return!();
    });
  });
}
