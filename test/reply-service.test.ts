/**
 * The reply service's rules that need no emulator: the window's edges, and what is refused before anything is read
 * or sent (a user token's tasks, the Human Agent feature). End to end: test/replies.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCallBudget } from '../src/graph-api/call-budget.js';
import type { GraphWrite } from '../src/graph-api/read.js';
import { GraphWriter } from '../src/graph-api/writer.js';
import { type ReplyCaller, ReplyService } from '../src/replies/reply-service.js';
import { HUMAN_AGENT_WINDOW_MS, knownClosed, replyWindowOf, STANDARD_WINDOW_MS } from '../src/replies/reply-window.js';
import { MemorySendLedger } from '../src/replies/send-ledger.js';

const AT = Date.parse('2026-12-01T10:00:00Z');
const customer = { id: '7001' };
const page = { id: '1000000001' };
const message = (from: { id: string }, iso: string) => ({ from, created_time: iso.replace('Z', '+0000') });

describe('the messaging window', () => {
  const messages = [
    message(page, '2026-12-01T12:00:00Z'),
    message(customer, '2026-12-01T10:00:00Z'),
    message(page, '2026-11-30T09:00:00Z'),
  ];

  it("opens at the person's last message, for 24 h, and 7 days for a human agent", () => {
    expect(replyWindowOf(messages, customer.id, AT + STANDARD_WINDOW_MS - 1)).toEqual({
      open: true,
      closesAt: AT + STANDARD_WINDOW_MS,
      humanAgentUntil: AT + HUMAN_AGENT_WINDOW_MS,
      humanAgentOpen: true,
      lastCustomerMessageAt: AT,
    });
    expect(replyWindowOf(messages, customer.id, AT + STANDARD_WINDOW_MS)).toMatchObject({ open: false, humanAgentOpen: true });
    expect(replyWindowOf(messages, customer.id, AT + HUMAN_AGENT_WINDOW_MS)).toMatchObject({ open: false, humanAgentOpen: false });
  });

  it("is known closed only when the person's last message is known, or every message read is older than the window", () => {
    const window = replyWindowOf(messages, customer.id, AT + STANDARD_WINDOW_MS);
    expect([
      knownClosed(window, false, undefined, AT + STANDARD_WINDOW_MS),
      knownClosed(window, true, undefined, AT + STANDARD_WINDOW_MS),
    ]).toEqual([true, false]);
    // Only the Page wrote among the newest read: the person's message is older than the oldest one read.
    const businessOnly = replyWindowOf([message(page, '2026-12-01T10:00:00Z')], customer.id, AT);
    expect(businessOnly).toEqual({
      open: false,
      closesAt: undefined,
      humanAgentUntil: undefined,
      humanAgentOpen: false,
      lastCustomerMessageAt: undefined,
    });
    expect(knownClosed(businessOnly, false, AT, AT + 1_000)).toBe(false);
    expect(knownClosed(businessOnly, false, AT, AT + STANDARD_WINDOW_MS)).toBe(true);
    // The whole thread was read and the person never wrote.
    expect(knownClosed(businessOnly, true, Number.NEGATIVE_INFINITY, AT)).toBe(true);
  });
});

describe('refused before any read or send', () => {
  function service(humanAgentApproved: boolean) {
    const writes: GraphWrite[] = [];
    const transport = {
      write: async (write: GraphWrite) => {
        writes.push(write);
        return { message_id: 'm_1' };
      },
    };
    const writer = new GraphWriter({ transport, maxAttempts: 1 });
    const replies = new ReplyService({
      writer,
      sendBudget: new MemoryCallBudget(300),
      ledger: new MemorySendLedger(60_000),
      relayEcho: async () => undefined,
      humanAgentApproved,
      echoWaitMs: 60_000,
      throttleBlockMs: 60_000,
    });
    return { replies, writes };
  }
  const reads: string[] = [];
  const caller = (tasks: readonly string[] | undefined): ReplyCaller => ({
    read: async (request) => {
      reads.push(request.path);
      throw new Error('no read expected');
    },
    tokenForPage: async () => 'EAAGpagetoken',
    tasksOn: async () => tasks,
    usage: { requests: 0, calls: 0, coalesced: 0, cached: 0 },
    deadline: Date.now() + 5_000,
    signal: undefined,
  });
  const request = { pageId: page.id, threadId: 't_1', content: { text: 'hi' }, replyTo: undefined, humanAgent: false, idempotencyKey: 'k' };

  it("refuses a user token with no MESSAGING task on the Page (a moderator's) with no call", async () => {
    const { replies, writes } = service(true);
    const result = await replies.send(caller(['MODERATE', 'ANALYZE']), request);
    expect(result).toMatchObject({ kind: 'refused', thread: undefined, refusal: { code: 'SEND_NOT_PERMITTED' } });
    expect(await replies.senderAction(caller(['MODERATE']), page.id, 't_1', 'mark_seen')).toMatchObject({
      refusal: { code: 'SEND_NOT_PERMITTED' },
    });
    expect([reads, writes]).toEqual([[], []]);
  });

  it('refuses a human agent reply when the app lacks the Human Agent feature, with no call', async () => {
    const { replies, writes } = service(false);
    const result = await replies.send(caller(['MESSAGING']), { ...request, humanAgent: true });
    expect(result).toMatchObject({
      kind: 'refused',
      refusal: { code: 'SEND_NOT_PERMITTED', message: expect.stringContaining('HUMAN_AGENT_TAG_APPROVED') },
    });
    expect([reads, writes]).toEqual([[], []]);
  });
});
