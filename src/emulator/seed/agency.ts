/**
 * An agency: one user managing many Pages, each with no threads, for tests of what a token reaching more than one page of
 * `/me/accounts` sees. Not part of the demo world (its lists and hashes stay as they are): an emulator serves it only when
 * started with `extraWorld: createAgencyWorld(n)`.
 */
import { ALL_PAGE_TASKS, ALL_PERMISSIONS, type PageRecord, type TokenRecord, type UserRecord } from '../model.js';
import type { SeedWorld } from './world.js';

/** Ids and tokens of the agency world; Page `n` (from 1) has id `AGENCY.pageIdOf(n)` and token `AGENCY.pageTokenOf(n)`. */
export const AGENCY = {
  user: { id: '4000000001', name: 'Agency Owner' },
  /** User token of the agency's owner; `/me/accounts` lists every agency Page, in order. */
  token: 'EAAGdemoAgencyK7rXc2mQw9ZpL4vTn8HsJd3FbYe6Ua1GiRoSxVkCt5NqMh0WlPz',
  pageIdOf: (n: number): string => String(3_000_000_000 + n),
  pageTokenOf: (n: number): string => `EAAGdemoAgencyPage${String(n).padStart(5, '0')}Qx7Lm2Vr9Tn4Kc8Hs3Jd6Fb1Ye5Ua0GiRoSxVkCt`,
} as const;

/** The agency's owner, its `pageCount` Pages (`Agency Page 1`…) and their tokens, to add to the demo world. */
export function createAgencyWorld(pageCount: number): Omit<SeedWorld, 'threads'> {
  const numbers = Array.from({ length: pageCount }, (_, i) => i + 1);
  const pages: PageRecord[] = numbers.map((n) => ({
    id: AGENCY.pageIdOf(n),
    name: `Agency Page ${n}`,
    category: 'Marketing agency',
    slug: `agencypage${n}`,
    instagram: undefined,
  }));
  const user: UserRecord = {
    ...AGENCY.user,
    accounts: numbers.map((n) => ({ pageId: AGENCY.pageIdOf(n), accessToken: AGENCY.pageTokenOf(n), tasks: ALL_PAGE_TASKS })),
  };
  const tokens = new Map<string, TokenRecord>([[AGENCY.token, { kind: 'user', userId: AGENCY.user.id }]]);
  for (const n of numbers) {
    tokens.set(AGENCY.pageTokenOf(n), { kind: 'page', pageId: AGENCY.pageIdOf(n), tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS });
  }
  return { pages, users: [user], tokens };
}
