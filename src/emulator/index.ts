/**
 * The embedded Meta Graph API emulator: a strict local stand-in for the Page conversations inbox
 * (conversations, messages, field expansion, cursor paging, batch, tokens and errors), serving a
 * deterministic demo world. Start one with {@link startEmulator}; ids and tokens are in {@link DEMO}.
 */
export { AS_META_TODAY, startEmulator, type ConversationRateLimitOptions, type Emulator, type EmulatorOptions } from './server.js';
export type { LoggedBatchItem, LoggedRequest, RequestLog } from './request-log.js';
export type { ConversationSummary, EmulatorStore } from './store.js';
export { AGENCY, BRAND, createAgencyWorld, createBrandWorld, createScaleWorld, DEMO, SCALE } from './seed.js';
export type { Fault, FaultInjector, FaultMatch } from './faults.js';
export { DEMO_APP_ID, metaWebhookBody, signWebhookBody, signWebhookBodySha1, type EmulatorWebhooks } from './webhooks.js';
