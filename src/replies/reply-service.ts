/**
 * Replies through the gateway: a message sent exactly once, and sender actions (seen, typing). The order of a
 * send is what makes it safe: the caller's right to send (known tasks, 0 calls), the conversation as the caller's
 * own token reads it (cached), the key claimed in the ledger (a retry stops here and gets the first outcome), the
 * messaging window (a closed one refused with 0 calls), a place in the Send API's budget, then one write that is
 * never made again once it may have left. What became of it goes to the ledger before anyone is answered.
 */
import { createHash } from 'node:crypto';
import { gatewayCode } from '../gateway-errors.js';
import type { CallBudget } from '../graph-api/call-budget.js';
import { graphErrorRule, type GraphClientCode } from '../graph-api/error-rules.js';
import { GraphApiError, GraphRateLimitError, GraphTransportError, isThrottleCode } from '../graph-api/errors.js';
import type { UpstreamUsage } from '../graph-api/read.js';
import { tokenFingerprint } from '../graph-api/tokens.js';
import type { GraphWriter } from '../graph-api/writer.js';
import { createLruCache } from '../lru-caches.js';
import type { InboxEvent } from '../webhooks/inbox-events.js';
import { knownClosed, type ReplyWindow } from './reply-window.js';
import { readReplyThread, type ReadAs, type ReplyThread } from './reply-thread.js';
import { blockSends, takeSendPlace } from './send-budget.js';
import type { SendLedger, SendOutcome, SendRecord } from './send-ledger.js';

/** `message.metadata` of a send: the ledger key after this prefix, so the echo webhook names the send. */
export const ECHO_KEY_PREFIX = 'gw1:';

/** Why a send was refused: the codes a UI switches on (the gateway's own, or Graph's through the error rules). */
export type RefusalCode =
  | 'REPLY_WINDOW_CLOSED'
  | 'SEND_NOT_PERMITTED'
  | 'MESSAGE_NOT_SENT'
  | Extract<GraphClientCode, 'GRAPH_OUTSIDE_WINDOW' | 'GRAPH_RECIPIENT_UNAVAILABLE' | 'GRAPH_MESSAGING_DISALLOWED' | 'GRAPH_POLICY_BLOCKED'>
  | Extract<GraphClientCode, 'GRAPH_PERMISSION_DENIED'>;

/** A refusal as the ledger keeps it and the schema shows it. */
// A type, not an interface: the ledger keeps it as a JSON record.
export type Refusal = {
  readonly code: RefusalCode;
  readonly message: string;
  /** Window refusals: when the standard window closed, and until when a human agent may reply (epoch ms). */
  readonly closedAt?: number | undefined;
  readonly humanAgentUntil?: number | undefined;
};

/** The Graph codes a send's refusal is told as a typed result; any other failure is an error. */
const TYPED_GRAPH_REFUSALS: ReadonlySet<GraphClientCode> = new Set([
  'GRAPH_OUTSIDE_WINDOW',
  'GRAPH_RECIPIENT_UNAVAILABLE',
  'GRAPH_MESSAGING_DISALLOWED',
  'GRAPH_POLICY_BLOCKED',
  'GRAPH_PERMISSION_DENIED',
]);

/** What a message carries: text, or one attachment by URL. */
export type MessageContent = { readonly text: string } | { readonly attachment: { readonly kind: AttachmentKind; readonly url: string } };
export type AttachmentKind = 'image' | 'video' | 'audio' | 'file';

export interface SendRequest {
  readonly pageId: string;
  readonly threadId: string;
  readonly content: MessageContent;
  /** Graph id of the message replied to. */
  readonly replyTo: string | undefined;
  /** A human agent replying: sent with the `HUMAN_AGENT` tag once the standard window closed. */
  readonly humanAgent: boolean;
  /** Makes retries safe: the same key (per Page) always has one outcome. `undefined`: no protection. */
  readonly idempotencyKey: string | undefined;
}

/** The outcome a caller is told. */
export type SendResult =
  | { readonly kind: 'sent'; readonly thread: ReplyThread; readonly messageId: string; readonly sentAt: number; readonly replayed: boolean }
  /** `thread` is `undefined` when the refusal was known before reading it (the caller's right to send). */
  | { readonly kind: 'refused'; readonly thread: ReplyThread | undefined; readonly refusal: Refusal }
  | { readonly kind: 'unknown'; readonly thread: ReplyThread; readonly since: number; readonly retryAfterSeconds: number };

/** What a send needs of its caller, bound per operation (context.ts). */
export interface ReplyCaller {
  readonly read: ReadAs;
  /** The token to send to `pageId` with (a user token is exchanged for the Page's). */
  tokenForPage(pageId: string): Promise<string>;
  /** The caller's tasks on the Page when known (a user token's `/me/accounts`); `undefined` for a Page token. */
  tasksOn(pageId: string): Promise<readonly string[] | undefined>;
  readonly usage: UpstreamUsage;
  /** Epoch ms the operation stops waiting. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
}

export interface ReplyServiceOptions {
  readonly writer: GraphWriter;
  /** The Send API budget (per Page; the fleet's with Redis). */
  readonly sendBudget: CallBudget;
  readonly ledger: SendLedger;
  /**
   * Tells the gateway of its own send as Meta's echo webhook would: the read cache drops what it makes stale and
   * `inboxEvents` subscribers hear it, once (the real echo is then a redelivery).
   */
  readonly relayEcho: (event: InboxEvent) => Promise<void>;
  /** The app has the Human Agent feature (HUMAN_AGENT_TAG_APPROVED). */
  readonly humanAgentApproved: boolean;
  /** How long an unknown outcome waits for its echo before it counts as not sent (SEND_ECHO_WAIT_SECONDS). */
  readonly echoWaitMs: number;
  /** How long a Page is left alone after Graph throttles a send, when Graph gives no time. */
  readonly throttleBlockMs: number;
  readonly now?: (() => number) | undefined;
  /** Told the outcome of each send (metrics). */
  readonly onSendResult?: ((outcome: SendResult['kind']) => void) | undefined;
}

/** A client's mistake in the request itself, told as BAD_USER_INPUT by the schema. */
export class SendInputError extends Error {
  override readonly name = 'SendInputError';
}

/** A key reused for a different send (IDEMPOTENCY_KEY_REUSED). */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
}

/** How long a conversation read for a reply serves the same token's next replies in it. */
export const REPLY_THREAD_MEMO_MS = 5 * 60_000;
/** How long Graph's refusal of a token's right to send on a Page is believed without asking again. */
export const SENDER_REFUSAL_MEMO_MS = 30_000;
/** Refusals that judge the token (its tasks, permissions, a policy block): another token may well send. */
const CALLER_REFUSALS: ReadonlySet<RefusalCode> = new Set(['GRAPH_PERMISSION_DENIED', 'GRAPH_POLICY_BLOCKED']);

export class ReplyService {
  readonly #options: ReplyServiceOptions;
  readonly #now: () => number;
  /**
   * Conversations as each token last read them for a reply (`fingerprint|page|thread`): the token's own Graph answer, so
   * serving it again to that token shows nothing Graph would not. A send clears the thread from the read cache; this
   * spares the next reply in the thread a read (the Page's 2 calls per second are the readers'). Trusted only to allow:
   * a window it says is closed is read again, since a newer message of the person may have opened it.
   */
  readonly #threads = createLruCache<string, ReplyThread>(10_000, { ttl: REPLY_THREAD_MEMO_MS });
  /** Graph refused these tokens the right to send on these Pages (`fingerprint|page`): refused again with no call for a while. */
  readonly #refusedSenders = createLruCache<string, Refusal>(10_000, { ttl: SENDER_REFUSAL_MEMO_MS });

  constructor(options: ReplyServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Sends a message, exactly once per idempotency key; never rejects for a refusal Graph or the window gives. */
  async send(caller: ReplyCaller, request: SendRequest): Promise<SendResult> {
    const result = await this.#send(caller, request);
    this.#options.onSendResult?.(result.kind);
    return result;
  }

  async #send(caller: ReplyCaller, request: SendRequest): Promise<SendResult> {
    const permission = await this.#permission(caller, request.pageId, request.humanAgent);
    if (permission !== undefined) return { kind: 'refused', thread: undefined, refusal: permission };
    const thread = await this.#thread(caller, request.pageId, request.threadId, request.humanAgent);
    const key = request.idempotencyKey === undefined ? undefined : ledgerKey(request.pageId, request.idempotencyKey);
    if (key !== undefined) {
      // A key belongs to the token that first used it: another token's retry with it is refused, never told the outcome.
      const fingerprint = fingerprintOf(request, await caller.tokenForPage(request.pageId));
      const claim = await this.#options.ledger.claim(key, fingerprint, this.#now());
      if (!claim.claimed) return this.#replay(caller, thread, key, fingerprint, claim.record);
    }
    const closed = this.#closedRefusal(thread, request.humanAgent);
    if (closed !== undefined) return this.#settled(key, thread, { kind: 'refused', refusal: closed });
    return this.#sendNow(caller, request, thread, key);
  }

  /**
   * The conversation's messaging window as the caller's token reads it (one cached read); a human agent's reply
   * counts as open only when the app has the feature.
   */
  async windowOf(caller: ReplyCaller, pageId: string, threadId: string): Promise<ReplyWindow> {
    const { window } = await readReplyThread(caller.read, pageId, threadId, this.#now());
    return this.#options.humanAgentApproved ? window : { ...window, humanAgentOpen: false, humanAgentUntil: undefined };
  }

  /** Marks the conversation seen, or shows or hides the typing indicator, for its customer. */
  async senderAction(caller: ReplyCaller, pageId: string, threadId: string, action: 'mark_seen' | 'typing_on' | 'typing_off') {
    const permission = await this.#permission(caller, pageId, false);
    if (permission !== undefined) return { thread: undefined, refusal: permission };
    const thread = await this.#thread(caller, pageId, threadId, false);
    const closed = this.#closedRefusal(thread, false);
    if (closed !== undefined) return { thread, refusal: closed };
    const params = { recipient: JSON.stringify({ id: thread.customer.id }), sender_action: action };
    const answer = await this.#write(caller, pageId, params);
    if (answer instanceof GraphApiError && TYPED_GRAPH_REFUSALS.has(graphErrorRule(answer.code, answer.subcode).clientCode)) {
      const refusal = this.#graphRefusal(answer, thread);
      await this.#rememberRefusal(caller, pageId, refusal);
      return { thread, refusal };
    }
    if (answer instanceof Error) throw answer;
    return { thread, refusal: undefined };
  }

  /** The conversation for a reply: as this token last read it when that allows the reply, else read now (cached reads first). */
  async #thread(caller: ReplyCaller, pageId: string, threadId: string, humanAgent: boolean): Promise<ReplyThread> {
    const key = `${await this.#senderKey(caller, pageId)}|${threadId}`;
    const known = this.#threads.get(key);
    if (known !== undefined && !knownClosed(known.window, humanAgent, known.oldestReadAt, this.#now())) return known;
    const thread = await readReplyThread(caller.read, pageId, threadId, this.#now());
    this.#threads.set(key, thread);
    return thread;
  }

  async #senderKey(caller: ReplyCaller, pageId: string): Promise<string> {
    return `${tokenFingerprint(await caller.tokenForPage(pageId))}|${pageId}`;
  }

  /** Remembers Graph's refusal of the caller's right to send on the Page. */
  async #rememberRefusal(caller: ReplyCaller, pageId: string, refusal: Refusal): Promise<void> {
    if (CALLER_REFUSALS.has(refusal.code)) this.#refusedSenders.set(await this.#senderKey(caller, pageId), refusal);
  }

  /** The typed refusal of a Graph error a send met; a window refusal says when it closed, when that is known. */
  #graphRefusal(error: GraphApiError, thread: ReplyThread): Refusal {
    const code = graphErrorRule(error.code, error.subcode).clientCode as RefusalCode;
    if (code !== 'GRAPH_OUTSIDE_WINDOW') return { code, message: error.message };
    const humanAgentOpen = this.#options.humanAgentApproved && thread.window.humanAgentUntil !== undefined && thread.window.humanAgentOpen;
    return {
      code,
      message: error.message,
      closedAt: thread.window.closesAt,
      humanAgentUntil: humanAgentOpen ? thread.window.humanAgentUntil : undefined,
    };
  }

  /** A refusal known without calling Graph: the caller's user token lacks MESSAGING, or the app the Human Agent feature. */
  async #permission(caller: ReplyCaller, pageId: string, humanAgent: boolean): Promise<Refusal | undefined> {
    const remembered = this.#refusedSenders.get(await this.#senderKey(caller, pageId));
    if (remembered !== undefined) return remembered;
    const tasks = await caller.tasksOn(pageId);
    if (tasks !== undefined && !tasks.includes('MESSAGING')) {
      return {
        code: gatewayCode('SEND_NOT_PERMITTED'),
        message: `The caller has no MESSAGING task on Page ${pageId}: it cannot reply there.`,
      };
    }
    if (humanAgent && !this.#options.humanAgentApproved) {
      return {
        code: gatewayCode('SEND_NOT_PERMITTED'),
        message: 'This app has no Human Agent feature (HUMAN_AGENT_TAG_APPROVED is off): send without `humanAgent`.',
      };
    }
    return undefined;
  }

  /** The window refusal, when the window is known to be closed for this reply. */
  #closedRefusal(thread: ReplyThread, humanAgent: boolean): Refusal | undefined {
    const now = this.#now();
    if (!knownClosed(thread.window, humanAgent, thread.oldestReadAt, now)) return undefined;
    const { closesAt, humanAgentUntil } = thread.window;
    const humanAgentOpen = this.#options.humanAgentApproved && thread.window.humanAgentOpen;
    return {
      code: gatewayCode('REPLY_WINDOW_CLOSED'),
      message:
        `The messaging window of this conversation is closed${closesAt === undefined ? '' : ` since ${new Date(closesAt).toISOString()}`}` +
        (humanAgentOpen && !humanAgent ? ': a human agent may still reply with `humanAgent: true`.' : '.'),
      closedAt: closesAt,
      humanAgentUntil: humanAgentOpen ? humanAgentUntil : undefined,
    };
  }

  async #sendNow(caller: ReplyCaller, request: SendRequest, thread: ReplyThread, key: string | undefined): Promise<SendResult> {
    // The tag only once the standard window closed (judged now: the thread may have been read a while ago).
    const tagged = request.humanAgent && knownClosed(thread.window, false, thread.oldestReadAt ?? Number.NEGATIVE_INFINITY, this.#now());
    const message =
      'text' in request.content
        ? { text: request.content.text }
        : { attachment: { type: request.content.attachment.kind, payload: { url: request.content.attachment.url } } };
    const params: Record<string, string> = {
      recipient: JSON.stringify({ id: thread.customer.id }),
      messaging_type: tagged ? 'MESSAGE_TAG' : 'RESPONSE',
      ...(tagged ? { tag: 'HUMAN_AGENT' } : {}),
      message: JSON.stringify({ ...message, ...(key === undefined ? {} : { metadata: `${ECHO_KEY_PREFIX}${key}` }) }),
      ...(request.replyTo === undefined ? {} : { reply_to: JSON.stringify({ mid: request.replyTo }) }),
    };
    let answer: unknown;
    try {
      answer = await this.#write(caller, request.pageId, params);
    } catch (error) {
      // Nothing left (no place in the budget, a token exchange that failed): the key is free again.
      if (key !== undefined) await this.#options.ledger.release(key);
      throw error;
    }
    return this.#outcomeOf(caller, answer, request, thread, key);
  }

  /** One write with a place in the Send API budget; resolves with Graph's answer or the Error it failed with. */
  async #write(caller: ReplyCaller, pageId: string, params: Record<string, string>): Promise<unknown> {
    const token = await caller.tokenForPage(pageId);
    // The budget runs on the wall clock, as the operation's deadline does (`now` is the window's clock, which tests move).
    const place = await takeSendPlace(this.#options.sendBudget, pageId, caller.deadline, Date.now);
    const answer = await this.#options.writer.write(
      { path: `${pageId}/messages`, params, token },
      { usage: caller.usage, ...(caller.signal === undefined ? {} : { signal: caller.signal }) },
    );
    await place.release(Date.now());
    if (answer instanceof GraphApiError && isThrottleCode(answer.code)) {
      // Graph refused the send (nothing left): the caller is told when the Page's sends may try again.
      await blockSends(this.#options.sendBudget, pageId, Date.now() + this.#options.throttleBlockMs);
      return new GraphRateLimitError(pageId, Math.ceil(this.#options.throttleBlockMs / 1000), answer);
    }
    return answer;
  }

  /** What the answer to a send means, recorded in the ledger before it is told. */
  async #outcomeOf(
    caller: ReplyCaller,
    answer: unknown,
    request: SendRequest,
    thread: ReplyThread,
    key: string | undefined,
  ): Promise<SendResult> {
    if (answer instanceof GraphRateLimitError) return this.#released(key, answer);
    if (answer instanceof GraphApiError) {
      const rule = graphErrorRule(answer.code, answer.subcode);
      if (TYPED_GRAPH_REFUSALS.has(rule.clientCode)) {
        const refusal = this.#graphRefusal(answer, thread);
        await this.#rememberRefusal(caller, request.pageId, refusal);
        return this.#settled(key, thread, { kind: 'refused', refusal });
      }
      // Graph's own "unknown error" may hide a send that took effect; any other code is a send Graph refused.
      if (rule.clientCode !== 'GRAPH_UNAVAILABLE') return this.#released(key, answer);
    } else if (answer instanceof GraphTransportError && answer.unsent) {
      return this.#released(key, answer);
    } else if (!(answer instanceof Error)) {
      const sent = answer as { message_id?: unknown };
      if (typeof sent.message_id === 'string') return this.#delivered(request, thread, key, sent.message_id);
    }
    // The echo may have come before the answer was lost: then the message arrived.
    const echoed = key === undefined ? undefined : (await this.#options.ledger.get(key))?.echoedMessageId;
    if (echoed !== undefined) {
      return this.#settled(key, thread, { kind: 'sent', messageId: echoed, sentAt: this.#now(), recipientId: thread.customer.id });
    }
    return this.#settled(key, thread, { kind: 'unknown', since: this.#now() });
  }

  async #delivered(request: SendRequest, thread: ReplyThread, key: string | undefined, messageId: string): Promise<SendResult> {
    const sentAt = this.#now();
    const result = await this.#settled(key, thread, { kind: 'sent', messageId, sentAt, recipientId: thread.customer.id });
    await this.#options.relayEcho({
      accountId: thread.business.id,
      platform: thread.platform,
      kind: 'echo',
      customerId: thread.customer.id,
      messageId,
      text: 'text' in request.content ? request.content.text : undefined,
      hasAttachments: 'attachment' in request.content,
      readUpTo: undefined,
      reaction: undefined,
      timestamp: sentAt,
    });
    return result;
  }

  async #released(key: string | undefined, error: Error): Promise<never> {
    if (key !== undefined) await this.#options.ledger.release(key);
    throw error;
  }

  /** Records `outcome` under `key` (when there is one) and tells it. */
  async #settled(key: string | undefined, thread: ReplyThread, outcome: SendOutcome): Promise<SendResult> {
    if (key !== undefined) await this.#options.ledger.settle(key, outcome);
    return this.#resultOf(thread, outcome, false);
  }

  #resultOf(thread: ReplyThread, outcome: SendOutcome, replayed: boolean): SendResult {
    switch (outcome.kind) {
      case 'sent':
        return { kind: 'sent', thread, messageId: outcome.messageId, sentAt: outcome.sentAt, replayed };
      case 'refused':
        return { kind: 'refused', thread, refusal: outcome.refusal as unknown as Refusal };
      case 'unknown': {
        const waitMs = outcome.since + this.#options.echoWaitMs - this.#now();
        return { kind: 'unknown', thread, since: outcome.since, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
      }
    }
  }

  /**
   * A retry of a claimed key: the first send's outcome, once it has one (waiting while it is in flight). An unknown
   * outcome becomes `sent` when the echo shows the message arrived, and `MESSAGE_NOT_SENT` once the echo wait passed.
   */
  async #replay(caller: ReplyCaller, thread: ReplyThread, key: string, fingerprint: string, first: SendRecord): Promise<SendResult> {
    if (first.fingerprint !== fingerprint) {
      throw new IdempotencyKeyReusedError(
        'This idempotency key was used for another message, or by another token: use a new key for a new message.',
      );
    }
    let record: SendRecord | undefined = first;
    if (record.outcome === undefined && record.echoedMessageId === undefined) {
      record = await this.#options.ledger.whenSettled(key, caller.deadline);
      if (record === undefined) throw new SendInputError('The send under this idempotency key was abandoned: send again.');
    }
    const outcome: SendOutcome = record.outcome ?? { kind: 'unknown', since: record.claimedAt };
    // Only an open outcome learns from the echo: a settled one (sent, refused, or given up on as not sent) is final, so
    // a key never has two answers. The send left right after its claim: that is when it was sent.
    if (record.echoedMessageId !== undefined && outcome.kind === 'unknown') {
      const sent: SendOutcome = {
        kind: 'sent',
        messageId: record.echoedMessageId,
        sentAt: record.claimedAt,
        recipientId: thread.customer.id,
      };
      await this.#options.ledger.settle(key, sent);
      return this.#resultOf(thread, sent, true);
    }
    if (outcome.kind === 'unknown' && this.#now() >= outcome.since + this.#options.echoWaitMs) {
      const refusal: Refusal = {
        code: gatewayCode('MESSAGE_NOT_SENT'),
        message:
          'No echo of this message came within the wait: it is taken as not delivered, and this key keeps that answer. ' +
          'Send the message again with a new key.',
      };
      const notSent: SendOutcome = { kind: 'refused', refusal };
      await this.#options.ledger.settle(key, notSent);
      return this.#resultOf(thread, notSent, true);
    }
    return this.#resultOf(thread, outcome, true);
  }
}

/** The ledger key of a client's idempotency key: per Page, hashed (the client's key is never stored or sent to Meta). */
export function ledgerKey(pageId: string, idempotencyKey: string): string {
  return createHash('sha256').update(`${pageId}\n${idempotencyKey}`).digest('base64url');
}

/** What a key promises to send, and by whose token: the same key for anything else, or by another token, is refused. */
function fingerprintOf(request: SendRequest, token: string): string {
  const { threadId, content, replyTo, humanAgent } = request;
  const sender = tokenFingerprint(token);
  return createHash('sha256').update(JSON.stringify({ sender, threadId, content, replyTo, humanAgent })).digest('base64url');
}
