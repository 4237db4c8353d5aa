/** The README's example operations work as the README says. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../src/emulator/index.js';
import {
  InboxExampleDocument,
  NextPageExampleDocument,
  OlderMessagesExampleDocument,
  PageCallBudgetExampleDocument,
  ViewerExampleDocument,
} from './generated/graphql.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  // As `npm start` runs: the demo user's token, which reaches both demo Pages with an inbox.
  h = await startHarness({ emulator: { privacyFiltering: false }, defaultAccessToken: DEMO.tokens.alice });
});
afterAll(() => h.close());

it('runs the inbox, next-page, older-messages, viewer and call-budget examples', async () => {
  h.emulator.log.clear();
  const inbox = await h.run(InboxExampleDocument, {});
  expect(inbox.errors).toBeUndefined();
  expect(h.emulator.log.requestCount).toBe(1);
  const conversations = inbox.data!.page!.conversations;
  expect(conversations.edges).toHaveLength(20);

  const next = await h.run(NextPageExampleDocument, { after: conversations.pageInfo.endCursor! });
  expect(next.errors).toBeUndefined();
  expect(next.data!.page!.conversations.edges).toHaveLength(20);

  const withOlder = conversations.edges.find((edge) => edge.node.messages.pageInfo.hasNextPage)!.node;
  const older = await h.run(OlderMessagesExampleDocument, { id: withOlder.id, after: withOlder.messages.pageInfo.endCursor! });
  expect(older.errors).toBeUndefined();

  const viewer = await h.run(ViewerExampleDocument, {});
  expect(viewer.data!.viewer.pages.map((page) => page.graphApiId)).toEqual([
    DEMO.pages.acme.id,
    DEMO.pages.bistro.id,
    DEMO.pages.outlet.id,
  ]);

  const requests = h.emulator.log.requestCount;
  const budget = await h.run(PageCallBudgetExampleDocument, {});
  expect(budget).toEqual({ data: { page: { callBudget: { availableCalls: null, queuedReads: 0, blockedUntil: null, pageUsage: null } } } });
  expect(h.emulator.log.requestCount).toBe(requests);
});
