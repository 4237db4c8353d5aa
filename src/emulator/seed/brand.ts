/**
 * A brand: one user managing several Pages, each with a linked Instagram account and threads on both platforms, for
 * what an agent's merged inbox costs (`npm run bench`, "an agent's inbox"). Not part of the demo world (its lists and
 * hashes stay as they are): an emulator serves it only when started with `extraWorld: createBrandWorld(n)`.
 */
import { ALL_PAGE_TASKS, ALL_PERMISSIONS, type PageRecord, type TokenRecord, type UserRecord } from '../model.js';
import { Draws } from './draws.js';
import { createThread, type SeedWorld } from './world.js';

/** Ids and tokens of the brand world; Page `n` (from 1) has id `BRAND.pageIdOf(n)` and token `BRAND.pageTokenOf(n)`. */
export const BRAND = {
  user: { id: '4100000001', name: 'Brand Manager' },
  /** User token of the brand's manager; `/me/accounts` lists every brand Page, in order. */
  token: 'EAAGdemoBrandR4tYc8mQw2ZpL7vTn5HsJd9FbYe3Ua6GiRoSxVkCt1NqMh0WlPz',
  pageIdOf: (n: number): string => String(3_100_000_000 + n),
  pageTokenOf: (n: number): string => `EAAGdemoBrandPage${String(n).padStart(5, '0')}Rx7Lm2Vr9Tn4Kc8Hs3Jd6Fb1Ye5Ua0GiRoSxVkCtQ`,
  instagramIdOf: (n: number): string => String(17_841_410_000_000_000n + BigInt(n)),
} as const;

/** Threads of each brand Page's inbox, by platform. */
const THREADS = { messenger: 60, instagram: 40 } as const;
const BRAND_SEED = 0xb4a7d;

/** The brand's manager, its `pageCount` Pages (`Brand Region 1`…, each linking an Instagram account), their threads and tokens. */
export function createBrandWorld(pageCount: number): SeedWorld {
  const numbers = Array.from({ length: pageCount }, (_, i) => i + 1);
  const pages: PageRecord[] = numbers.map((n) => ({
    id: BRAND.pageIdOf(n),
    name: `Brand Region ${n}`,
    category: 'Retail company',
    slug: `brandregion${n}`,
    instagram: { id: BRAND.instagramIdOf(n), username: `brand.region${n}` },
  }));
  const draws = new Draws(BRAND_SEED, new Set(), new Set());
  const usernames = new Set<string>();
  const threads = pages.flatMap((page) =>
    (['messenger', 'instagram'] as const).flatMap((platform) =>
      Array.from({ length: THREADS[platform] }, () => ({ ...createThread(draws, page, platform, 'inbox', usernames), hidden: false })),
    ),
  );
  const user: UserRecord = {
    ...BRAND.user,
    accounts: numbers.map((n) => ({ pageId: BRAND.pageIdOf(n), accessToken: BRAND.pageTokenOf(n), tasks: ALL_PAGE_TASKS })),
  };
  const tokens = new Map<string, TokenRecord>([[BRAND.token, { kind: 'user', userId: BRAND.user.id }]]);
  for (const n of numbers) {
    tokens.set(BRAND.pageTokenOf(n), { kind: 'page', pageId: BRAND.pageIdOf(n), tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS });
  }
  return { pages, threads, users: [user], tokens };
}
