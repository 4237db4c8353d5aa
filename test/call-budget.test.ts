/**
 * `Page.callBudget`: what the gateway knows of a Page's Graph budget, read without any Graph call,
 * and only by callers who reach the Page.
 */
import { describe, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import { ConversationIdsDocument, PageCallBudgetDocument } from './generated/graphql.js';
import { ACME, BISTRO, startHarness } from './support/harness.js';

const CONVERSATIONS = /^\d+\/conversations$/;

describe('Page.callBudget', () => {
  it('shows the rate, the calls available now and nothing blocked, at no upstream cost', async () => {
    const h = await startHarness({ emulator: { privacyFiltering: false }, scheduler: { pageCallsPerSecond: 2 } });
    try {
      const fresh = await h.run(PageCallBudgetDocument, { pageId: ACME });
      expect(fresh).toEqual({
        data: {
          page: {
            callBudget: {
              callsPerSecond: 2,
              availableCalls: 2,
              queuedReads: 0,
              blockedUntil: null,
              pageUsage: null,
              businessUseCaseUsage: null,
              appUsage: null,
              usageReportedAt: null,
            },
          },
        },
      });
      expect(h.emulator.log.requestCount).toBe(0);

      // A call holds its place in the window until a second after its answer.
      await h.run(ConversationIdsDocument, { pageId: ACME, first: 2 });
      const after = await h.run(PageCallBudgetDocument, { pageId: ACME });
      expect(after.data!.page!.callBudget).toMatchObject({ availableCalls: 1, queuedReads: 0 });
      expect(h.emulator.log.requestCount).toBe(1);
      // Each Page has its own budget. (A token seen for the first time is identified first: /me.)
      const other = await h.run(PageCallBudgetDocument, { pageId: BISTRO }, { token: DEMO.tokens.bistroPage });
      expect(other.data!.page!.callBudget).toMatchObject({ availableCalls: 2 });
      expect(h.emulator.log.entries.map((entry) => entry.path)).toEqual(['/v25.0/1000000001/conversations', '/v25.0/']);
    } finally {
      await h.close();
    }
  });

  it('after a throttle: blocked until Graph says, with the usage it reported', async () => {
    const h = await startHarness({ emulator: { privacyFiltering: false } });
    try {
      h.emulator.faults.inject({ kind: 'throttle', code: 80006, regainMinutes: 2 }, { times: 1, match: { path: CONVERSATIONS } });
      const before = Date.now();
      const throttled = await h.run(ConversationIdsDocument, { pageId: ACME, first: 5 });
      expect(throttled.errors![0]!.extensions).toMatchObject({ code: 'GRAPH_RATE_LIMITED', retryAfterSeconds: 120 });

      const { data, errors } = await h.run(PageCallBudgetDocument, { pageId: ACME });
      expect(errors).toBeUndefined();
      const budget = data!.page!.callBudget;
      // No per-Page rate in this harness, but the block holds.
      expect(budget).toMatchObject({ callsPerSecond: null, availableCalls: null, queuedReads: 0 });
      const blockedFor = Date.parse(budget.blockedUntil as string) - before;
      expect(blockedFor).toBeGreaterThanOrEqual(119_000);
      expect(blockedFor).toBeLessThanOrEqual(121_000);
      // A BUC throttle reports in X-Business-Use-Case-Usage only (Meta: Rate Limiting).
      expect(budget.pageUsage).toBeNull();
      expect(budget.businessUseCaseUsage).toMatchObject({ callCount: 100 });
      expect(budget.appUsage).toBeNull();
      expect(Date.parse(budget.usageReportedAt as string)).toBeGreaterThanOrEqual(before);
      expect(h.emulator.log.requestCount).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('is shown to callers who reach the Page, and refused to others', async () => {
    const h = await startHarness();
    try {
      // A Page token reaches its own Page only (Graph would answer for another Page's public fields).
      const result = await h.run(PageCallBudgetDocument, { pageId: BISTRO });
      expect(result.data).toEqual({ page: null });
      expect(result.errors![0]!.extensions!.code).toBe('PAGE_NOT_ACCESSIBLE');
      expect(result.errors![0]!.path).toEqual(['page', 'callBudget']);
      // A user token reaches the Pages it manages.
      const managed = await h.run(PageCallBudgetDocument, { pageId: ACME }, { token: DEMO.tokens.alice });
      expect(managed.errors).toBeUndefined();
      expect(managed.data!.page!.callBudget.queuedReads).toBe(0);
    } finally {
      await h.close();
    }
  });
});
