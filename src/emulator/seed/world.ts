/**
 * The demo world: four Pages, two users, their tokens, and about 1,400 threads drawn from seeded PRNGs
 * (never `Math.random`), so every emulator process serves byte-identical data and tests can assert literal values.
 */
import {
  ALL_PAGE_TASKS,
  ALL_PERMISSIONS,
  type Folder,
  type MessageRecord,
  type PageRecord,
  type Participant,
  type Permission,
  type Platform,
  type ThreadRecord,
  type TokenRecord,
  type UserRecord,
} from '../model.js';
import { createMessage, type MessagePlan } from './content.js';
import { DEMO, SEED_NOW } from './demo.js';
import { Draws } from './draws.js';
import { showcaseContent } from './showcase.js';
import { FIRST_NAMES, LAST_NAMES, THREAD_NAMES } from './words.js';

/** Thread times spread over this many days before {@link SEED_NOW}. */
const SEED_SPAN_DAYS = 90;
/** Share of threads hidden by privacy filtering, besides the contiguous run below. */
const HIDDEN_SHARE = 0.04;
/** A run of hidden threads in Acme's Messenger inbox, so a whole 25-item window can come back empty. */
const HIDDEN_RUN_START = 300;
const HIDDEN_RUN_LENGTH = 40;
const MAX_MESSAGES_PER_THREAD = 40;
const SNIPPET_LENGTH = 100;
/** Threads Acme archived before mid-2018, when archiving was a tag and not the Done folder. */
const LEGACY_ARCHIVED_COUNT = 24;
/** Their newest messages lie between 2016-01-01 and the end of May 2018. */
const LEGACY_WINDOW: TimeWindow = { end: Date.UTC(2018, 4, 31, 12) / 1000, days: 880 };
/** The thread of the customer who blocked Acme: older than every other inbox thread, so list positions stay as they were. */
const BLOCKED_WINDOW: TimeWindow = { end: SEED_NOW - (SEED_SPAN_DAYS + 5) * 86_400, days: 5 };
/** Seeds of the PRNGs drawn after the main world, which they leave as it was. */
const EXTRA_SEED = 0x1e6a;
const SHOWCASE_SEED = 0x5c0e;
const OUTLET_SEED = 0x0a7e;
/** Acme Outlet's threads, drawn after everything else: Messenger and Instagram inboxes that interleave with Acme's. */
const OUTLET_THREADS = { messenger: 90, instagram: 60 } as const;

/** Where a thread's newest message falls: within `days` before `end` (Unix seconds). */
interface TimeWindow {
  readonly end: number;
  readonly days: number;
}

/** Counts per (platform, folder), so the proportions in the brief hold exactly, not just on average. */
interface PagePlan {
  readonly page: PageRecord;
  readonly seed: number;
  readonly threads: readonly Readonly<{ platform: Platform; folder: Folder; count: number }>[];
}

/** Everything the store is built from. */
export interface SeedWorld {
  readonly pages: readonly PageRecord[];
  readonly threads: readonly ThreadRecord[];
  readonly users: readonly UserRecord[];
  readonly tokens: ReadonlyMap<string, TokenRecord>;
}

const PAGES: Readonly<Record<'acme' | 'bistro' | 'quiet' | 'outlet', PageRecord>> = {
  acme: {
    id: DEMO.pages.acme.id,
    name: DEMO.pages.acme.name,
    category: 'Shopping & retail',
    slug: 'acmeshop',
    instagram: { id: DEMO.pages.acme.instagramId, username: DEMO.pages.acme.instagramUsername },
  },
  bistro: { id: DEMO.pages.bistro.id, name: DEMO.pages.bistro.name, category: 'Restaurant', slug: 'bistrodemo', instagram: undefined },
  quiet: { id: DEMO.pages.quiet.id, name: DEMO.pages.quiet.name, category: 'Community', slug: 'quietpage', instagram: undefined },
  outlet: {
    id: DEMO.pages.outlet.id,
    name: DEMO.pages.outlet.name,
    category: 'Shopping & retail',
    slug: 'acmeoutlet',
    instagram: { id: DEMO.pages.outlet.instagramId, username: DEMO.pages.outlet.instagramUsername },
  },
};

const PLANS: readonly PagePlan[] = [
  {
    page: PAGES.acme,
    seed: 0xac3e,
    threads: [
      { platform: 'messenger', folder: 'inbox', count: 468 },
      { platform: 'messenger', folder: 'other', count: 117 },
      { platform: 'messenger', folder: 'page_done', count: 156 },
      { platform: 'messenger', folder: 'spam', count: 39 },
      { platform: 'instagram', folder: 'inbox', count: 378 },
      { platform: 'instagram', folder: 'spam', count: 42 },
    ],
  },
  {
    page: PAGES.bistro,
    seed: 0xb157,
    threads: [
      { platform: 'messenger', folder: 'inbox', count: 38 },
      { platform: 'messenger', folder: 'other', count: 4 },
      { platform: 'messenger', folder: 'page_done', count: 3 },
    ],
  },
  { page: PAGES.quiet, seed: 0x9e1, threads: [] },
];

export type MutableThread = { -readonly [K in keyof ThreadRecord]: ThreadRecord[K] };

/** Builds the demo world. Pure: every call returns equal data. */
export function createSeedWorld(): SeedWorld {
  const usedIds = new Set<string>();
  const usedTimes = new Set<number>();
  const usedUsernames = new Set<string>();
  const threads: ThreadRecord[] = [];

  for (const plan of PLANS) {
    const draws = new Draws(plan.seed, usedIds, usedTimes);
    const pageThreads: MutableThread[] = [];
    for (const group of plan.threads) {
      for (let i = 0; i < group.count; i++) {
        pageThreads.push(createThread(draws, plan.page, group.platform, group.folder, usedUsernames));
      }
    }
    if (plan.page.id === DEMO.pages.acme.id) {
      const inbox = pageThreads
        .filter((thread) => thread.platform === 'messenger' && thread.folder === 'inbox')
        .sort((a, b) => b.updatedTime - a.updatedTime);
      for (const thread of inbox.slice(HIDDEN_RUN_START, HIDDEN_RUN_START + HIDDEN_RUN_LENGTH)) thread.hidden = true;
    }
    threads.push(...pageThreads);
  }
  threads.push(...createExtraThreads(new Draws(EXTRA_SEED, usedIds, usedTimes), usedUsernames));
  showcaseContent(threads, new Draws(SHOWCASE_SEED, usedIds, usedTimes));
  threads.push(...createOutletThreads(new Draws(OUTLET_SEED, usedIds, usedTimes), usedUsernames));
  return { pages: Object.values(PAGES), threads, users: createUsers(), tokens: createTokens() };
}

/** The demo users and the Pages each manages. */
function createUsers(): UserRecord[] {
  return [
    {
      ...DEMO.users.alice,
      accounts: [
        { pageId: DEMO.pages.acme.id, accessToken: DEMO.tokens.acmePage, tasks: ALL_PAGE_TASKS },
        { pageId: DEMO.pages.bistro.id, accessToken: DEMO.tokens.bistroPage, tasks: ALL_PAGE_TASKS },
        { pageId: DEMO.pages.outlet.id, accessToken: DEMO.tokens.outletPage, tasks: ALL_PAGE_TASKS },
      ],
    },
    {
      ...DEMO.users.bob,
      accounts: [{ pageId: DEMO.pages.bistro.id, accessToken: DEMO.tokens.bistroPage, tasks: ['MODERATE', 'MESSAGING', 'ANALYZE'] }],
    },
  ];
}

/** What each demo token grants. */
function createTokens(): Map<string, TokenRecord> {
  const acme = DEMO.pages.acme.id;
  const allBut = (...missing: Permission[]): Permission[] => ALL_PERMISSIONS.filter((permission) => !missing.includes(permission));
  return new Map<string, TokenRecord>([
    [DEMO.tokens.acmePage, { kind: 'page', pageId: acme, tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS }],
    [
      DEMO.tokens.acmePageNoMessaging,
      { kind: 'page', pageId: acme, tasks: ['ANALYZE', 'ADVERTISE', 'CREATE_CONTENT'], permissions: ALL_PERMISSIONS },
    ],
    [DEMO.tokens.acmeModerator, { kind: 'page', pageId: acme, tasks: ['MODERATE', 'ANALYZE'], permissions: ALL_PERMISSIONS }],
    [DEMO.tokens.acmePageNoPagesMessaging, { kind: 'page', pageId: acme, tasks: ALL_PAGE_TASKS, permissions: allBut('pages_messaging') }],
    [
      DEMO.tokens.acmePageNoInstagram,
      { kind: 'page', pageId: acme, tasks: ALL_PAGE_TASKS, permissions: allBut('instagram_basic', 'instagram_manage_messages') },
    ],
    [
      DEMO.tokens.acmePagePolicyBlocked,
      { kind: 'page', pageId: acme, tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS, policyBlocked: true },
    ],
    [DEMO.tokens.bistroPage, { kind: 'page', pageId: DEMO.pages.bistro.id, tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS }],
    [DEMO.tokens.quietPage, { kind: 'page', pageId: DEMO.pages.quiet.id, tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS }],
    [DEMO.tokens.outletPage, { kind: 'page', pageId: DEMO.pages.outlet.id, tasks: ALL_PAGE_TASKS, permissions: ALL_PERMISSIONS }],
    [DEMO.tokens.alice, { kind: 'user', userId: DEMO.users.alice.id }],
    [DEMO.tokens.bob, { kind: 'user', userId: DEMO.users.bob.id }],
    [DEMO.tokens.expired, { kind: 'expired' }],
  ]);
}

const RECENT_WINDOW: TimeWindow = { end: SEED_NOW - 60, days: SEED_SPAN_DAYS };

// Every helper below draws from the PRNG in a fixed order: reordering their calls changes the whole world.
/** Draws one thread of `page` (its id, its two sides, its messages newest first), for the demo world and the worlds
 * served besides it (seed/brand.ts, seed/scale.ts). */
export function createThread(
  draws: Draws,
  page: PageRecord,
  platform: Platform,
  folder: Folder | undefined,
  usedUsernames: Set<string>,
  window: TimeWindow = RECENT_WINDOW,
  knownCustomer?: Readonly<{ psid: string; name: string }>,
): MutableThread {
  const { id, customer, business } = createParticipants(draws, page, platform, usedUsernames, knownCustomer);
  const messages = createMessages(draws, { id, platform, customer, business }, window);
  const newestMessage = messages[0]!;
  const businessReplied = messages.some((message) => message.from === business);
  const unreadCount = unreadCountOf(draws, messages, customer);
  const tags = tagsOf(draws, platform, folder, businessReplied);
  const thread: MutableThread = {
    id,
    pageId: page.id,
    platform,
    folder,
    customer,
    business,
    hidden: draws.chance(HIDDEN_SHARE),
    tags,
    messages,
    updatedTime: newestMessage.createdTime,
    updatedTimeText: newestMessage.createdTimeText,
    unreadCount,
    link: `/${page.slug}/inbox/${draws.digits(15)}/?section=messages`,
    scopedThreadKey: `t_${customer.id}`,
    canReply: !draws.chance(0.03),
    isSubscribed: !draws.chance(0.05),
  };
  if (platform === 'messenger' && draws.chance(0.02)) thread.name = draws.pick(THREAD_NAMES);
  if (platform === 'messenger' && draws.chance(0.01)) {
    const psid = draws.digits(16);
    thread.formerParticipants = [{ name: `${draws.pick(FIRST_NAMES)} ${draws.pick(LAST_NAMES)}`, email: `${psid}@facebook.com`, id: psid }];
  }
  return thread;
}

/** A thread's id and its two sides; Instagram usernames are unique across the world. */
function createParticipants(
  draws: Draws,
  page: PageRecord,
  platform: Platform,
  usedUsernames: Set<string>,
  knownCustomer: Readonly<{ psid: string; name: string }> | undefined,
): { id: string; customer: Participant; business: Participant } {
  const first = draws.pick(FIRST_NAMES);
  const last = draws.pick(LAST_NAMES);
  if (platform === 'instagram') {
    if (page.instagram === undefined) throw new Error(`seed: Page ${page.id} has no Instagram account`);
    let username = `${first}.${last}`.toLowerCase();
    while (usedUsernames.has(username)) username = `${first}.${last}${draws.int(1, 999)}`.toLowerCase();
    usedUsernames.add(username);
    const customer = { username, id: draws.digits(17) };
    const business = { username: page.instagram.username, id: page.instagram.id };
    return { customer, business, id: draws.opaque('aWdfZAG', 60) };
  }
  const psid = knownCustomer?.psid ?? draws.digits(16);
  const customer = { name: knownCustomer?.name ?? `${first} ${last}`, email: `${psid}@facebook.com`, id: psid };
  const business = { name: page.name, email: `${page.id}@facebook.com`, id: page.id };
  return { customer, business, id: `t_${draws.digits(15)}` };
}

/** A thread's messages, newest first, the newest within `window`; the first (oldest) is the customer's. */
function createMessages(
  draws: Draws,
  thread: Readonly<{ id: string; platform: Platform; customer: Participant; business: Participant }>,
  window: TimeWindow,
): MessageRecord[] {
  const { customer, business } = thread;
  const roll = draws.float();
  const messageCount = roll < 0.03 ? 1 : roll < 0.06 ? MAX_MESSAGES_PER_THREAD : 2 + Math.floor(draws.float() ** 1.7 * 30);
  const newest = draws.time(window.end - draws.float() * window.days * 86_400);

  const times: number[] = [newest];
  for (let i = 1; i < messageCount; i++) {
    const gap = 30 + Math.floor(-Math.log(1 - draws.float()) * 3 * 3600);
    times.push(draws.time(times[i - 1]! - gap));
  }
  times.reverse();
  const oldestFirst: MessageRecord[] = [];
  let fromCustomer = true;
  for (let i = 0; i < messageCount; i++) {
    if (i > 0 && draws.chance(0.55)) fromCustomer = !fromCustomer;
    const isNewest = i === messageCount - 1;
    const [from, to] = fromCustomer ? [customer, business] : [business, customer];
    const plan: MessagePlan = { threadId: thread.id, platform: thread.platform, createdTime: times[i]!, from, to, fromCustomer, isNewest };
    oldestFirst.push(createMessage(draws, plan, oldestFirst));
  }
  return oldestFirst.reverse();
}

/** Unread: some of the customer's messages since the business last wrote, in a quarter of the threads that end with the customer. */
function unreadCountOf(draws: Draws, newestFirst: readonly MessageRecord[], customer: Participant): number {
  let trailingFromCustomer = 0;
  while (trailingFromCustomer < newestFirst.length && newestFirst[trailingFromCustomer]!.from === customer) trailingFromCustomer++;
  return trailingFromCustomer > 0 && draws.chance(0.25) ? Math.min(draws.int(1, 5), trailingFromCustomer) : 0;
}

function tagsOf(draws: Draws, platform: Platform, folder: Folder | undefined, businessReplied: boolean): string[] {
  // Since mid-2018 archiving moves a thread to the Done folder (page_done) and tags it no more; before,
  // it was the `action:archived` tag (the v5.0 reference's `folder` and `tags` parameters).
  const tags = folder === undefined ? ['action:archived'] : folder === 'page_done' ? [] : [folder];
  if (businessReplied) tags.push('sent');
  else if (folder === 'other') tags.push('pending');
  if (platform === 'messenger' && folder === 'other' && draws.chance(0.05)) tags.push('marketplace_folder');
  return tags;
}

/**
 * Threads drawn from their own PRNG after the main world (whose data they leave as it was): Acme's
 * threads archived before mid-2018, and the thread of a customer who blocked Acme.
 */
function createExtraThreads(draws: Draws, usedUsernames: Set<string>): MutableThread[] {
  const legacy = Array.from({ length: LEGACY_ARCHIVED_COUNT }, () =>
    createThread(draws, PAGES.acme, 'messenger', undefined, usedUsernames, LEGACY_WINDOW),
  );
  const blocked = createThread(draws, PAGES.acme, 'messenger', 'inbox', usedUsernames, BLOCKED_WINDOW, DEMO.customers.blockedAcme);
  blocked.hidden = false;
  blocked.canReply = false;
  blocked.customerBlockedPage = true;
  return [...legacy, blocked];
}

/** Acme Outlet's inbox threads on both platforms, from their own PRNG after the rest of the world (which they leave as it was). */
function createOutletThreads(draws: Draws, usedUsernames: Set<string>): MutableThread[] {
  return (['messenger', 'instagram'] as const).flatMap((platform) =>
    Array.from({ length: OUTLET_THREADS[platform] }, () => createThread(draws, PAGES.outlet, platform, 'inbox', usedUsernames)),
  );
}

/**
 * The thread snippet: its latest message's text, truncated as Graph does (Meta: Conversation,
 * developers.facebook.com/docs/graph-api/reference/conversation).
 */
export function snippetOf(thread: ThreadRecord): string {
  return thread.messages[0]?.text.slice(0, SNIPPET_LENGTH) ?? '';
}
