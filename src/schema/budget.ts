/**
 * `Page.callBudget`: what this gateway instance knows of a Page's Graph API budget, so that a UI can
 * pace itself (poll less, show when the inbox will answer again) instead of learning it from
 * `GRAPH_RATE_LIMITED` errors. Reading it costs no Graph call.
 */
import { builder } from '../builder.js';
import type { PageBudgetView } from '../graph-api/scheduler.js';
import type { UsagePercentages } from '../graph-api/usage.js';
import { PageRef } from './page.js';

const GraphUsageRef = builder.objectRef<UsagePercentages>('GraphUsage').implement({
  description: 'Usage of one Graph allowance, in percent (it can exceed 100). A value Graph did not report is null.',
  fields: (t) => ({
    callCount: t.float({ nullable: true, resolve: (usage) => usage.callCount ?? null }),
    totalCputime: t.float({ nullable: true, resolve: (usage) => usage.totalCputime ?? null }),
    totalTime: t.float({ nullable: true, resolve: (usage) => usage.totalTime ?? null }),
  }),
});

const PageCallBudgetRef = builder.objectRef<PageBudgetView>('PageCallBudget').implement({
  description:
    "A Page's Graph API call budget as this gateway instance sees it. Meta allows about 2 conversation calls per second per Page; " +
    'every batch item counts.',
  fields: (t) => ({
    callsPerSecond: t.float({
      nullable: true,
      description: 'Calls per second this instance spends on the Page at most (GRAPH_PAGE_CALLS_PER_SECOND); null: no limit.',
      resolve: (budget) => budget.callsPerSecond ?? null,
    }),
    availableCalls: t.int({
      nullable: true,
      description: 'Calls that could leave for the Page right now; 0 while reads wait or the Page is blocked. Null: no limit.',
      resolve: (budget) => budget.availableCalls ?? null,
    }),
    queuedReads: t.int({ description: 'Reads waiting for the Page’s call window.', resolve: (budget) => budget.queuedReads }),
    blockedUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'Graph throttled the Page: no call is made for it until then, and reads of it fail with GRAPH_RATE_LIMITED. Null when not blocked.',
      resolve: (budget) => (budget.blockedUntil === undefined ? null : new Date(budget.blockedUntil)),
    }),
    pageUsage: t.field({
      type: GraphUsageRef,
      nullable: true,
      description: 'The Page’s usage Graph last reported (X-Page-Usage); null until it reports any (Graph omits it at low usage).',
      resolve: (budget) => budget.usage?.page ?? null,
    }),
    businessUseCaseUsage: t.field({
      type: GraphUsageRef,
      nullable: true,
      description: 'The highest business-use-case usage Graph last reported for the Page (X-Business-Use-Case-Usage).',
      resolve: (budget) => budget.usage?.businessUseCase ?? null,
    }),
    appUsage: t.field({
      type: GraphUsageRef,
      nullable: true,
      description: 'The app’s usage Graph last reported on a call for this Page (X-App-Usage).',
      resolve: (budget) => budget.usage?.app ?? null,
    }),
    usageReportedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When Graph sent the usage above.',
      resolve: (budget) => (budget.usageAt === undefined ? null : new Date(budget.usageAt)),
    }),
  }),
});

builder.objectField(PageRef, 'callBudget', (t) =>
  t.field({
    type: PageCallBudgetRef,
    description: 'The Page’s Graph API call budget on this gateway instance. Costs no Graph call; the caller must reach the Page.',
    resolve: async (page, _args, context) => {
      // A budget is not for anyone to watch: only for callers who reach the Page.
      await context.checkReach(page.pageId);
      // Changes with every call made, not with a read: an answer holding it is never served again.
      context.answer.volatile = true;
      return context.pageBudget(page.pageId);
    },
  }),
);
