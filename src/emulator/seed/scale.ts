/**
 * A world for sizing runs (`npm run scale`): `pageCount` Pages, each with its own inbox of Messenger threads drawn as the
 * demo world's are (names, texts, attachments, times) and several Page tokens, one per agent. Not part of the demo world
 * (its lists and hashes stay as they are): an emulator serves it only when started with `extraWorld: createScaleWorld(n)`.
 */
import { ALL_PAGE_TASKS, ALL_PERMISSIONS, type PageRecord, type ThreadRecord, type TokenRecord } from '../model.js';
import { Draws } from './draws.js';
import { createThread, type SeedWorld } from './world.js';

/** Ids and tokens of the scale world: Page `n` (from 1) has id `SCALE.pageIdOf(n)`, its agent `a` (from 1) `SCALE.agentTokenOf(n, a)`. */
export const SCALE = {
  pageIdOf: (n: number): string => String(5_000_000_000 + n),
  agentTokenOf: (n: number, agent: number): string =>
    `EAAGdemoScalePage${String(n).padStart(6, '0')}Agent${String(agent).padStart(3, '0')}Lm2Vr9Tn4Kc8Hs3Jd6Fb1Ye5Ua0GiRoSx`,
} as const;

export interface ScaleWorldOptions {
  /** Threads in each Page's Messenger inbox. @default 25 */
  readonly threadsPerPage?: number;
  /** Page tokens of each Page, one per agent. @default 10 */
  readonly agentsPerPage?: number;
  /** Messages kept per thread, newest first (the demo world draws up to 40; an inbox screen shows 5). @default 6 */
  readonly messagesPerThread?: number;
}

/** Its own seed, so the scale world never draws what the demo world did. */
const SCALE_SEED = 0x5ca1e;

/** The scale world's Pages, their threads and their agents' tokens, to add to the demo world. */
export function createScaleWorld(pageCount: number, options: ScaleWorldOptions = {}): SeedWorld {
  const { threadsPerPage = 25, agentsPerPage = 10, messagesPerThread = 6 } = options;
  const draws = new Draws(SCALE_SEED, new Set(), new Set());
  const usernames = new Set<string>();
  const pages: PageRecord[] = [];
  const threads: ThreadRecord[] = [];
  const tokens = new Map<string, TokenRecord>();
  for (let n = 1; n <= pageCount; n += 1) {
    const page: PageRecord = {
      id: SCALE.pageIdOf(n),
      name: `Scale Shop ${n}`,
      category: 'Shopping & retail',
      slug: `scaleshop${n}`,
      instagram: undefined,
    };
    pages.push(page);
    for (let i = 0; i < threadsPerPage; i += 1) {
      const thread = createThread(draws, page, 'messenger', 'inbox', usernames);
      thread.messages = thread.messages.slice(0, messagesPerThread);
      thread.hidden = false;
      threads.push(thread);
    }
    for (let agent = 1; agent <= agentsPerPage; agent += 1) {
      tokens.set(SCALE.agentTokenOf(n, agent), { kind: 'page', pageId: page.id, tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS });
    }
  }
  return { pages, threads, users: [], tokens };
}
