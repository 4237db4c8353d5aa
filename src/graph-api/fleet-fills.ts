/**
 * Fills shared by a fleet: after a webhook event every instance misses the same entry at once, and each would
 * spend the Page's budget on the same read. So the first to claim the entry's fill (a claim in the shared store,
 * named by the read, its generation and the entry it replaces) reads it; the others wait for it to appear in the
 * store, and read themselves only when it does not come within the fill's lease (that instance failed or died),
 * when the filling instance gives up, or when another event moves the generation meanwhile.
 */
import type { CachedRead, ClaimStore, EntryStore } from './read-cache-store.js';

/** How long the instance filling an entry others miss holds the fill, and they wait for it. */
export const FILL_LEASE_MS = 3_000;
/** How often a waiting instance looks for the entry being filled. */
const FILL_POLL_MS = 20;

/** The entry a read missed: what was there (if anything) and the generation it was looked up under. */
export interface Missed {
  readonly entry: CachedRead | undefined;
  readonly generation: string;
}

export class FleetFills {
  readonly #store: ClaimStore & Pick<EntryStore, 'lookup'>;

  constructor(store: ClaimStore & Pick<EntryStore, 'lookup'>) {
    this.#store = store;
  }

  /** Claims the fill of the entry `key` missed; the claim's name when this instance is to fill it, else `undefined`. */
  async claim(key: string, missed: Missed): Promise<string | undefined> {
    const fill = fillName(key, missed);
    return (await this.#store.claim(fill, FILL_LEASE_MS)) ? fill : undefined;
  }

  /** Gives a fill up at once (its read brought nothing to keep), so that the next instance tries without waiting the lease out. */
  async release(fill: string): Promise<void> {
    await this.#store.release(fill).catch(() => undefined);
  }

  /**
   * Waits for the entry another instance is filling: resolves with it once it is there and `servable` (newer than
   * the one missed, under the same generation), or `undefined` when this instance should read itself.
   */
  async awaitEntry(
    key: string,
    tags: readonly string[],
    missed: Missed,
    servable: (entry: CachedRead | undefined) => entry is CachedRead,
    signal: AbortSignal | undefined,
  ): Promise<CachedRead | undefined> {
    const replaced = missed.entry?.fetchedAt ?? 0;
    for (let waited = 0; waited < FILL_LEASE_MS && signal?.aborted !== true; waited += FILL_POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, FILL_POLL_MS));
      const { entry, generation } = await this.#store.lookup(key, tags);
      if (generation !== missed.generation) return undefined;
      // The filling instance gave up (its read failed): this one tries.
      if (await this.#store.claim(fillName(key, missed), FILL_LEASE_MS)) return undefined;
      if (servable(entry) && entry.generation === missed.generation && entry.fetchedAt > replaced) return entry;
    }
    return undefined;
  }
}

/** Names the fill of an entry: the read, its generation, and the entry it replaces (once filled, the next miss is another fill). */
function fillName(key: string, missed: Missed): string {
  return `fill:${key}#${missed.generation}#${missed.entry?.fetchedAt ?? 0}`;
}
