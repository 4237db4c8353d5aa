/** The demo fixture: the ids, names and tokens tests and local development use, and the demo world's clock. */
/**
 * Ids, names and tokens of the demo world. Use these in tests and local development; the tokens
 * only mean something to the emulator.
 */
export const DEMO = {
  pages: {
    acme: { id: '1000000001', name: 'Acme Shop', instagramId: '17841400000000001', instagramUsername: 'acme.shop' },
    bistro: { id: '1000000002', name: 'Bistro Demo' },
    quiet: { id: '1000000003', name: 'Quiet Page' },
    /** Acme's second shop, with its own Instagram account: Alice's third Page, so that her merged inbox interleaves six sources. */
    outlet: { id: '1000000004', name: 'Acme Outlet', instagramId: '17841400000000004', instagramUsername: 'acme.outlet' },
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
    outletPage: 'EAAGdemoQm7RvX2cTnY8pLw4KsZ9hJd3FgB6eUa1NiPoSxVkCt5qMh0WlTzAr3Ey',
    /** User token; `/me/accounts` lists Acme, Bistro and Acme Outlet. */
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
    /**
     * A person on Acme's Messenger inbox who cannot receive messages now: sends answer (#551). Flagged by the
     * store (`customerUnavailable`) rather than by the seed, whose pinned hashes it leaves as they were.
     */
    unavailableAcme: { psid: '9099668428957631', name: 'Amir Ivanova', threadId: 't_975141695012666' },
  },
  /**
   * Acme threads whose messaging window `demoReplyWindows` sets at start-up, with the emulator's clock: a
   * customer message 2 hours ago (`open`, and `instagram` on Instagram), 3 days ago (`humanAgent`: only
   * `HUMAN_AGENT` replies), none (`closed`: its last customer message is weeks old). `open` and `humanAgent`
   * are the 4th and 5th threads of the Messenger inbox's first page, `instagram` the 4th of Instagram's: they move
   * to the top, and the first five still show every kind of message content (GraphiQL's default query reads each
   * thread's three newest); `open` becomes the first conversation, the one the README's curl names.
   */
  replyWindows: {
    open: 't_473707567380661',
    humanAgent: 't_774427106300123',
    closed: 't_928161276831077',
    instagram: 'aWdfZAGKLAhIJ1qnCFgoi02kB8G8QFPZ3MOGWBMumosEMIhr0O3K9A_8sMNY0Xsq7sw',
  },
} as const;

/** The demo world's "now" (2026-11-01T12:00:00Z) in Unix seconds; all seed times lie before it. */
export const SEED_NOW = Date.UTC(2026, 10, 1, 12, 0, 0) / 1000;
