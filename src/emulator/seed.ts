/**
 * The emulator's deterministic demo world: three Pages, two users, their tokens, and about
 * 1,250 threads generated from a seeded PRNG (never `Math.random`), so every emulator process
 * serves byte-identical data and tests can assert literal values.
 */
import {
  ALL_PAGE_TASKS,
  ALL_PERMISSIONS,
  formatGraphTime,
  type AttachmentRecord,
  type Folder,
  type MessageRecord,
  type PageRecord,
  type Participant,
  type Permission,
  type Platform,
  type ShareRecord,
  type ThreadRecord,
  type TokenRecord,
  type UserRecord,
} from './model.js';
import { mulberry32 } from './random.js';

/**
 * Ids, names and tokens of the demo world. Use these in tests and local development; the tokens
 * only mean something to the emulator.
 */
export const DEMO = {
  pages: {
    acme: { id: '1000000001', name: 'Acme Shop', instagramId: '17841400000000001', instagramUsername: 'acme.shop' },
    bistro: { id: '1000000002', name: 'Bistro Demo' },
    quiet: { id: '1000000003', name: 'Quiet Page' },
  },
  tokens: {
    /** Page token of Acme with the MESSAGING task. */
    acmePage: 'EAAGdemoJzTYuejIccIUWo94ssmTwmaBGpRfhi48QAkBrNQBPTbjqdmdBEsRJtie',
    /**
     * Page token of Acme whose user has neither the MESSAGING nor the MODERATE task: conversations answer (#200), the Page's name still
     * reads.
     */
    acmePageNoMessaging: 'EAAGdemoOPvghJ4t8MqfTizCuREgXX8qgo90Kx9cvCVRSvzlvf4O6eKkh2ObdsG2',
    /**
     * Page token of Acme from a moderator (MODERATE, no MESSAGING): reads the Messenger inbox; Instagram answers (#200), as it needs
     * MESSAGING.
     */
    acmeModerator: 'EAAGdemoWiL9dv4wtfUQ1VQ3OZRkt4aQng5VP2pv9O5yqeZ1LGKN9bemzYumle29',
    /** Page token of Acme without the `pages_messaging` permission: Messenger answers (#200), Instagram reads. */
    acmePageNoPagesMessaging: 'EAAGdemonmwYfq483XZZLT2trKieN4QrCIu1isc4UxdJDJmATl4GjUQg1AoeaSYe',
    /** Page token of Acme without `instagram_basic` and `instagram_manage_messages`: Messenger reads, Instagram answers (#200). */
    acmePageNoInstagram: 'EAAGdemoUXzENOjqnMD8v0OmeHs4Wmld0WpixpxbB4r6bSr0pFBOPCWBRDFOxEzf',
    /** Page token of Acme whose user is temporarily blocked for policy violations: inbox reads answer (#368). */
    acmePagePolicyBlocked: 'EAAGdemo5FJtRBZRAJyu5BKaCKvsYFJGufE0w6HjwXmDMwmctuUHtirNLU09X0fm',
    bistroPage: 'EAAGdemogFUw3m5MMF2D78Jv2cTQ1SNUX87AgYIr6J6f1aSt2yh6lDly6DL77P11',
    quietPage: 'EAAGdemoPEzrP1SiipFWjjhsKQrqnleLZc7JsyfroGxqs3vHueDRG1HUVnpU4xrP',
    /** User token; `/me/accounts` lists Acme and Bistro. */
    alice: 'EAAGdemoTLpbeiHpEqDp8ZOjU7Pp6QNz6vswbOFcGLp1p7L3aIgp7kAv6auLjAvK',
    /** User token; `/me/accounts` lists Bistro only. */
    bob: 'EAAGdemoMTBUBh0yxzqNgv0D9GJNvPubMAXmepSeTyuAgcyKxdQClQugHVRY9AmV',
    /** Known to the emulator but expired: every call answers 190 / subcode 463. */
    expired: 'EAAGdemoSazed8lcpXR8EfRfcCjAc4HgaeLEYoEbP28evw31TNVJiN9Z7mLO92OH',
  },
  appSecret: 'demo-app-secret-0123456789abcdef',
  users: { alice: { id: '2000000001', name: 'Alice Admin' }, bob: { id: '2000000002', name: 'Bob Moderator' } },
  customers: {
    /** A person who blocked Acme on Messenger: listed in the inbox, but `user_id` lookups answer (#230). */
    blockedAcme: { psid: '6100000000000230', name: 'Nico Varga' },
  },
} as const;

/** The demo world's "now" (2026-11-01T12:00:00Z) in Unix seconds; all seed times lie before it. */
export const SEED_NOW = Date.UTC(2026, 10, 1, 12, 0, 0) / 1000;

/** Thread times spread over this many days before {@link SEED_NOW}. */
const SEED_SPAN_DAYS = 90;
/** Share of threads hidden by privacy filtering, besides the contiguous run below. */
const HIDDEN_SHARE = 0.04;
/** A run of hidden threads in Acme's Messenger inbox, so a whole 25-item window can come back empty. */
const HIDDEN_RUN_START = 300;
const HIDDEN_RUN_LENGTH = 40;
const MAX_MESSAGES_PER_THREAD = 40;
const SNIPPET_LENGTH = 100;
const MEDIA_HOST = 'https://scontent.example.invalid';
/** Threads Acme archived before mid-2018, when archiving was a tag and not the Done folder. */
const LEGACY_ARCHIVED_COUNT = 24;
/** Their newest messages lie between 2016-01-01 and the end of May 2018. */
const LEGACY_WINDOW: TimeWindow = { end: Date.UTC(2018, 4, 31, 12) / 1000, days: 880 };
/** The thread of the customer who blocked Acme: older than every other inbox thread, so list positions stay as they were. */
const BLOCKED_WINDOW: TimeWindow = { end: SEED_NOW - (SEED_SPAN_DAYS + 5) * 86_400, days: 5 };
/** Newest threads of each Acme inbox whose second and third newest messages show every kind of content. */
const SHOWCASE_THREADS = 5;
/** Seeds of the PRNGs drawn after the main world, which they leave as it was. */
const EXTRA_SEED = 0x1e6a;
const SHOWCASE_SEED = 0x5c0e;

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

const PAGES: Readonly<Record<'acme' | 'bistro' | 'quiet', PageRecord>> = {
  acme: {
    id: DEMO.pages.acme.id,
    name: DEMO.pages.acme.name,
    category: 'Shopping & retail',
    slug: 'acmeshop',
    instagram: { id: DEMO.pages.acme.instagramId, username: DEMO.pages.acme.instagramUsername },
  },
  bistro: { id: DEMO.pages.bistro.id, name: DEMO.pages.bistro.name, category: 'Restaurant', slug: 'bistrodemo', instagram: undefined },
  quiet: { id: DEMO.pages.quiet.id, name: DEMO.pages.quiet.name, category: 'Community', slug: 'quietpage', instagram: undefined },
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

const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloe',
  'Dario',
  'Elif',
  'Farah',
  'Gustav',
  'Hana',
  'Ines',
  'Jonas',
  'Kemal',
  'Lena',
  'Marco',
  'Nadia',
  'Oskar',
  'Priya',
  'Quentin',
  'Rosa',
  'Sven',
  'Tara',
  'Umar',
  'Vera',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoe',
  'Amir',
  'Bea',
  'Carlos',
  'Dana',
  'Emil',
  'Fatima',
  'Gita',
  'Hugo',
  'Ivy',
  'Jamal',
  'Kira',
  'Luca',
  'Maya',
  'Noah',
];
const LAST_NAMES = [
  'Andersen',
  'Bianchi',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lindqvist',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quispe',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Ueda',
  'Varga',
  'Wagner',
  'Xu',
  'Yilmaz',
  'Zhang',
  'Almeida',
  'Berg',
  'Castillo',
  'Dimitrov',
];
const CUSTOMER_LINES = [
  'Hi! Is this still in stock?',
  'Do you ship to Portugal?',
  'What are your opening hours on Sunday?',
  'My order has not arrived yet, can you check?',
  'Thanks a lot!',
  'Can I change the size of my order?',
  'Is there a discount for students?',
  'The package arrived damaged.',
  'Perfect, see you then.',
  'Do you have this in blue?',
  'How long does delivery take?',
  'Can I pay on delivery?',
  'Great, thank you 🙏',
  'I would like to return an item.',
  'Is the table for four still free tonight?',
  'Any vegan options?',
  'Where can I find the invoice?',
  'Ok',
  'Hello?',
  'Could you send me the tracking number please?',
];
const PAGE_LINES = [
  'Hello! Thanks for reaching out.',
  'Yes, it is in stock in all sizes.',
  'We ship to all EU countries.',
  'Our opening hours are 9:00 to 18:00, Monday to Saturday.',
  'Let me check that for you.',
  'Your order left our warehouse yesterday.',
  'Sure, I have updated your order.',
  'You are welcome!',
  'Here is your tracking number: ZX-4471-09.',
  'We have booked a table for you.',
  'Sorry to hear that, we will send a replacement right away.',
  'Delivery usually takes 2 to 4 working days.',
];
/** Appended to some lines so that snippets longer than 100 characters exist and get truncated. */
const LONG_TAIL = ' Also, could you tell me whether the gift wrapping option is available for orders placed this week, and what it costs?';
const THREAD_NAMES = ['Order #4471', 'Wedding party booking', 'Wholesale enquiry', 'Team lunch'];
const REACTIONS = ['❤️', '😂', '😮', '👍'];

/** Digits drawn per PRNG call; 10^9 stays well inside a double's exact integers. */
const DIGIT_CHUNK = 9;

/** Random draws plus uniqueness bookkeeping shared across all Pages of the world. */
class Draws {
  readonly #next: () => number;
  constructor(
    seed: number,
    private readonly usedIds: Set<string>,
    private readonly usedTimes: Set<number>,
  ) {
    this.#next = mulberry32(seed);
  }
  float(): number {
    return this.#next();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }
  chance(probability: number): boolean {
    return this.#next() < probability;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#next() * items.length)]!;
  }
  /** `length` digits, no leading zero, never drawn before in this world. */
  digits(length: number): string {
    return this.#unique(() => {
      let out = String(1 + Math.floor(this.#next() * 9));
      while (out.length < length) {
        const chunk = Math.min(DIGIT_CHUNK, length - out.length);
        out += String(Math.floor(this.#next() * 10 ** chunk)).padStart(chunk, '0');
      }
      return out;
    });
  }
  /** About `length` base64url characters after `prefix`, never drawn before in this world. */
  opaque(prefix: string, length: number): string {
    return this.#unique(() => {
      const bytes = Buffer.allocUnsafe(Math.ceil((length * 3) / 4));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(this.#next() * 256);
      return prefix + bytes.toString('base64url').slice(0, length);
    });
  }
  /** A Unix second not used by any other message in the world, at or before `wanted`. */
  time(wanted: number): number {
    let t = Math.floor(wanted);
    while (this.usedTimes.has(t)) t -= 1;
    this.usedTimes.add(t);
    return t;
  }
  #unique(draw: () => string): string {
    for (;;) {
      const value = draw();
      if (!this.usedIds.has(value)) {
        this.usedIds.add(value);
        return value;
      }
    }
  }
}

type MutableThread = { -readonly [K in keyof ThreadRecord]: ThreadRecord[K] };

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
    [DEMO.tokens.alice, { kind: 'user', userId: DEMO.users.alice.id }],
    [DEMO.tokens.bob, { kind: 'user', userId: DEMO.users.bob.id }],
    [DEMO.tokens.expired, { kind: 'expired' }],
  ]);
}

const RECENT_WINDOW: TimeWindow = { end: SEED_NOW - 60, days: SEED_SPAN_DAYS };

// Every helper below draws from the PRNG in a fixed order: reordering their calls changes the whole world.
function createThread(
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

type MutableMessage = { -readonly [K in keyof MessageRecord]: MessageRecord[K] };

/** One kind of content, and who may have sent it. */
interface ShowcaseKind {
  readonly sender: 'customer' | 'business' | 'anyone';
  /** The message's content; `older` is the message before it, `draws` the showcase's PRNG. */
  readonly content: (message: MessageRecord, older: MessageRecord | undefined, draws: Draws) => Partial<MutableMessage> | undefined;
}

const replyKind: ShowcaseKind = {
  sender: 'anyone',
  content: (message, older) =>
    older === undefined
      ? undefined
      : { text: 'Yes, that one please.', replyTo: { mid: older.id, is_self_reply: older.from === message.from } },
};

/** What an inbox UI must render on Messenger (https://developers.facebook.com/docs/graph-api/reference/message). */
const MESSENGER_SHOWCASE: readonly ShowcaseKind[] = [
  { sender: 'anyone', content: () => ({ text: '', sticker: `${MEDIA_HOST}/v/t39.1997-6/851557_369239266556155_759568595_n.png` }) },
  {
    sender: 'anyone',
    content: (_message, _older, draws) => ({
      text: 'Is this the one?',
      shares: [
        {
          id: draws.digits(16),
          link: 'https://shop.example.invalid/p/204817',
          name: 'Linen shirt',
          description: 'Relaxed fit, 100% linen',
          picture: `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`,
        },
      ],
    }),
  },
  {
    sender: 'business',
    content: (_message, _older, draws) => {
      const product = (name: string, retailerId: string, price: string) => ({
        id: draws.digits(16),
        retailer_id: retailerId,
        image_url: `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`,
        name,
        price,
      });
      const elements = [product('Canvas tote bag', 'TOTE-NAT-01', '€24.00'), product('Linen shirt', 'SHIRT-LIN-M', '€59.00')];
      return {
        text: '',
        // The product template as the Message reference describes its share.
        shares: [{ id: draws.digits(16), name: elements[0]!.name, template: { payload: { product: { elements: { data: elements } } } } }],
      };
    },
  },
  {
    sender: 'business',
    content: (_message, _older, draws) => {
      const url = 'https://shop.example.invalid/spring';
      const image = `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`;
      return {
        text: '',
        // [I] A generic template read back as the payload the Send API took, with the card's title as the share's name.
        shares: [
          {
            id: draws.digits(16),
            link: url,
            name: 'Spring collection',
            description: 'New linen pieces are in',
            picture: image,
            template: {
              payload: {
                template_type: 'generic',
                elements: [
                  {
                    title: 'Spring collection',
                    subtitle: 'New linen pieces are in',
                    image_url: image,
                    default_action: { type: 'web_url', url },
                    buttons: [
                      { type: 'web_url', url, title: 'Shop now' },
                      { type: 'postback', title: 'Talk to us' },
                    ],
                  },
                ],
              },
            },
          },
        ],
      };
    },
  },
  { sender: 'customer', content: () => ({ text: '', isUnsupported: true }) },
  replyKind,
  { sender: 'anyone', content: (_message, _older, draws) => ({ text: '', attachments: [createAttachment(draws)] }) },
];

/** What an inbox UI must render on Instagram (https://developers.facebook.com/docs/graph-api/reference/message). */
const INSTAGRAM_SHOWCASE: readonly ShowcaseKind[] = [
  {
    sender: 'customer',
    content: (_message, _older, draws) => ({
      text: '',
      story: { mention: { link: `https://lookaside.example.invalid/story/${draws.digits(12)}`, id: draws.digits(17) } },
    }),
  },
  {
    sender: 'customer',
    content: (_message, _older, draws) => ({
      text: 'Love this look!',
      story: { reply_to: { link: `https://lookaside.example.invalid/story/${draws.digits(12)}`, id: draws.digits(17) } },
    }),
  },
  { sender: 'anyone', content: (message) => ({ reactions: { data: [{ reaction: '❤️', users: [message.to] }] } }) },
  replyKind,
];

/**
 * Puts every kind of content in the second and third newest messages of the first threads a reader
 * of Acme's inboxes sees (privacy filtering on), so the first page shows them all. The newest
 * message keeps its text: it is the thread's snippet.
 */
function showcaseContent(threads: readonly ThreadRecord[], draws: Draws): void {
  for (const [platform, kinds] of [
    ['messenger', MESSENGER_SHOWCASE],
    ['instagram', INSTAGRAM_SHOWCASE],
  ] as const) {
    const pending = [...kinds];
    const first = threads
      .filter(
        (thread) => thread.pageId === DEMO.pages.acme.id && thread.platform === platform && thread.folder === 'inbox' && !thread.hidden,
      )
      .sort((a, b) => b.updatedTime - a.updatedTime)
      .slice(0, SHOWCASE_THREADS);
    for (const thread of first) {
      for (const index of [1, 2]) {
        const message = thread.messages[index];
        if (message === undefined) continue;
        const sender = message.from === thread.customer ? 'customer' : 'business';
        for (const [at, kind] of pending.entries()) {
          if (kind.sender !== 'anyone' && kind.sender !== sender) continue;
          const content = kind.content(message, thread.messages[index + 1], draws);
          if (content === undefined) continue;
          const { id, threadId, createdTime, createdTimeText, from, to, text } = message;
          thread.messages[index] = { id, threadId, createdTime, createdTimeText, from, to, text, ...content };
          pending.splice(at, 1);
          break;
        }
      }
    }
    if (pending.length > 0) throw new Error(`seed: ${pending.length} ${platform} content kinds found no message to show them`);
  }
}

interface MessagePlan {
  readonly threadId: string;
  readonly platform: Platform;
  readonly createdTime: number;
  readonly from: Participant;
  readonly to: Participant;
  readonly fromCustomer: boolean;
  /** The newest message always has text, so every thread has a snippet. */
  readonly isNewest: boolean;
}

function createMessage(draws: Draws, plan: MessagePlan, earlier: readonly MessageRecord[]): MessageRecord {
  const { threadId, platform, createdTime, from, to, fromCustomer } = plan;
  const lines = fromCustomer ? CUSTOMER_LINES : PAGE_LINES;
  let text = draws.pick(lines);
  if (draws.chance(0.05)) text += LONG_TAIL;

  const message: { -readonly [K in keyof MessageRecord]: MessageRecord[K] } = {
    id: platform === 'instagram' ? draws.opaque('aWdGGi', 70) : draws.opaque('m_', 60),
    threadId,
    createdTime,
    createdTimeText: formatGraphTime(createdTime),
    from,
    to,
    text,
  };
  if (plan.isNewest) return message;

  const roll = draws.float();
  if (roll < 0.1) {
    message.attachments = [createAttachment(draws)];
    if (draws.chance(0.5)) message.text = '';
  } else if (roll < 0.105) {
    message.sticker = `${MEDIA_HOST}/v/t39.1997-6/${draws.digits(15)}_n.png`;
    message.text = '';
  } else if (roll < 0.108) {
    message.isUnsupported = true;
    message.text = '';
  } else if (roll < 0.118) {
    const share: ShareRecord = {
      id: draws.digits(16),
      link: `https://shop.example.invalid/p/${draws.digits(6)}`,
      name: 'Linen shirt',
      description: 'Relaxed fit, 100% linen',
      picture: `${MEDIA_HOST}/v/t45.5328-4/${draws.digits(15)}_n.jpg`,
    };
    message.shares = [share];
  }
  if (platform === 'instagram') {
    const previous = earlier[earlier.length - 1];
    if (previous !== undefined && draws.chance(0.03)) message.replyTo = { mid: previous.id, is_self_reply: previous.from === from };
    if (draws.chance(0.03)) message.reactions = { data: [{ reaction: draws.pick(REACTIONS), users: [to] }] };
    if (fromCustomer && draws.chance(0.01)) {
      message.story = {
        [draws.chance(0.5) ? 'reply_to' : 'mention']: {
          link: `https://lookaside.example.invalid/story/${draws.digits(12)}`,
          id: draws.digits(17),
        },
      };
    }
  }
  return message;
}

function createAttachment(draws: Draws): AttachmentRecord {
  const id = draws.digits(16);
  const kind = draws.float();
  if (kind < 0.7) {
    const width = draws.pick([640, 960, 1080, 1440]);
    const height = draws.pick([480, 720, 1080, 1920]);
    return {
      id,
      mime_type: 'image/jpeg',
      name: `image-${id}.jpg`,
      size: draws.int(40_000, 2_500_000),
      image_data: {
        width,
        height,
        max_width: width,
        max_height: height,
        url: `${MEDIA_HOST}/v/t1.15752-9/${id}_n.jpg`,
        preview_url: `${MEDIA_HOST}/v/t1.15752-9/s280x280/${id}_n.jpg`,
      },
    };
  }
  if (kind < 0.92) {
    return {
      id,
      mime_type: 'application/pdf',
      name: `invoice-${draws.int(1000, 9999)}.pdf`,
      size: draws.int(20_000, 900_000),
      file_url: `${MEDIA_HOST}/v/t59.2708-21/${id}_n.pdf`,
    };
  }
  return {
    id,
    mime_type: 'video/mp4',
    name: `video-${id}.mp4`,
    size: draws.int(500_000, 20_000_000),
    video_data: {
      width: 720,
      height: 1280,
      length: draws.int(3, 60),
      video_type: 0,
      rotation: 0,
      url: `${MEDIA_HOST}/v/t42.3356-2/${id}_n.mp4`,
      preview_url: `${MEDIA_HOST}/v/t15.3394-10/${id}_n.jpg`,
    },
  };
}

/**
 * The thread snippet: its latest message's text, truncated as Graph does (Meta: Conversation,
 * developers.facebook.com/docs/graph-api/reference/conversation).
 */
export function snippetOf(thread: ThreadRecord): string {
  return thread.messages[0]?.text.slice(0, SNIPPET_LENGTH) ?? '';
}
