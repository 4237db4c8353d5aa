/**
 * What every shared-state contract is run with: a fleet, handing out instances that share one fresh
 * state. In memory, each instance is the same object (one process); in Redis, each is a connection of
 * its own under one key prefix no other fleet uses (several processes).
 */

/** Another instance sharing the fleet's state. */
export type Fleet<Port> = () => Promise<Port>;

/** A Page id of its own per test, so that nothing a test leaves behind is seen by another. */
let pages = 0;
export const newPage = (): string => `9${String(++pages).padStart(9, '0')}`;

/** Resolves after `ms`: only for what no event announces (a block running out, a TTL passing). */
export const elapse = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
