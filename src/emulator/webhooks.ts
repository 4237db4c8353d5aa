/**
 * Meta's webhooks for the inbox, as the emulator plays them: a callback is subscribed with the
 * verification handshake (GET with `hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`: digits, as
 * Meta sends, which the callback must echo), then each new message is POSTed to it as Meta does:
 * `object: "page"` (or `"instagram"`) with `entry[].messaging[]` (or `entry[].standby[]` while another app
 * holds the thread), the body written as Meta writes it (non-ASCII as `\uXXXX`, `/` as `\/`) and signed over
 * exactly those bytes: `X-Hub-Signature-256: sha256=<HMAC-SHA256 keyed by the app secret>` and the legacy
 * `X-Hub-Signature: sha1=<HMAC-SHA1>` (Meta: Webhooks, Getting Started,
 * developers.facebook.com/docs/graph-api/webhooks/getting-started). The business's own messages arrive as
 * echoes (`is_echo`). With {@link EmulatorWebhooks.batch}, several events share one POST, grouped in entries
 * by account, as Meta batches them.
 */
import { createHmac, randomInt } from 'node:crypto';
import type { MessageRecord, ThreadRecord } from './model.js';
import type { WorldStore } from './store.js';

/** The emulator's webhook deliveries. */
export interface EmulatorWebhooks {
  /** Subscribes `callbackUrl` after Meta's handshake; rejects when the callback does not echo the challenge. */
  subscribe(callbackUrl: string, verifyToken: string): Promise<void>;
  /**
   * Adds a message to a conversation (by default from its customer) and delivers its webhook. Resolves
   * with the message, the payload delivered, and the callback's HTTP status (`undefined`: no subscriber).
   */
  sendMessage(
    conversationId: string,
    message: { fromId?: string; text: string; attachment?: { type: string; url: string } },
  ): Promise<{ id: string; createdTime: string; payload: unknown; deliveryStatus: number | undefined }>;
  /**
   * A customer message that arrives while another app holds the thread (Handover Protocol): delivered in
   * `entry[].standby[]` rather than `messaging[]` (Meta: Webhooks `standby`,
   * developers.facebook.com/docs/messenger-platform/reference/webhook-events/standby).
   */
  sendStandby(
    conversationId: string,
    message: { text: string },
  ): Promise<{ id: string; payload: unknown; deliveryStatus: number | undefined }>;
  /**
   * The customer edits a message: reads show the new text, and a `message_edit` event is delivered
   * (Meta: Webhooks `message_edits`, developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-edits).
   */
  editMessage(messageId: string, text: string): Promise<{ payload: unknown; deliveryStatus: number | undefined }>;
  /**
   * The business's messages reached the customer's device (Messenger): a `delivery` event with their `mids` and a
   * `watermark` (Meta: Webhooks `message_deliveries`,
   * developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-deliveries).
   */
  markDelivered(conversationId: string): Promise<{ payload: unknown; deliveryStatus: number | undefined }>;
  /**
   * The customer unsends an Instagram message: reads no longer show it, and a `message` event with `is_deleted`
   * is delivered (Meta: Instagram Messaging webhooks, developers.facebook.com/docs/instagram-platform/webhooks).
   */
  unsend(messageId: string): Promise<{ payload: unknown; deliveryStatus: number | undefined }>;
  /**
   * From now on, `events` events per POST (1: each alone, the default): events wait until that many are
   * queued, or {@link flush}; each call resolves once its POST is answered.
   */
  batch(events: number): void;
  /** POSTs the events waiting for a batch now; resolves with how many there were once answered. */
  flush(): Promise<number>;
  /** The customer saw the conversation: delivers a read receipt (Messenger: a watermark; Instagram: the newest message). */
  markRead(conversationId: string): Promise<{ payload: unknown; deliveryStatus: number | undefined }>;
  /** The customer reacts to a message (or takes the reaction back): delivers a reaction event. */
  react(messageId: string, emoji: string, action?: 'react' | 'unreact'): Promise<{ payload: unknown; deliveryStatus: number | undefined }>;
  /** Delivers a payload (again: Meta retries deliveries it thinks failed); resolves with the HTTP status. */
  deliver(payload: unknown): Promise<number | undefined>;
  /**
   * Resolves once no echo of a Send API message is on its way to the callback: tests await the echo
   * of a send with it instead of sleeping. Held echoes (see {@link holdEchoes}) are not on their way.
   */
  idle(): Promise<void>;
  /**
   * `true`: echoes of Send API messages wait in a queue instead of being delivered, so a test can look
   * at the world between the answer and the echo; `false`: they are delivered again, the queue first.
   */
  holdEchoes(hold: boolean): void;
  /** Delivers the held echoes, oldest first, and resolves with how many there were once they are all delivered. */
  releaseEchoes(): Promise<number>;
}

/** The webhooks as the emulator itself drives them: {@link EmulatorWebhooks} plus the echo of each Send API message. */
export interface EmulatorWebhookDeliveries extends EmulatorWebhooks {
  /**
   * Delivers the echo of a message the Page sent through the Send API, in the background (fire and
   * forget, failures logged), as Meta delivers it after answering the send.
   */
  echoSent(thread: ThreadRecord, message: MessageRecord): void;
}

/** The demo app's id, carried by echoes as `app_id` unless {@link EmulatorWebhookOptions.appId} says otherwise. */
export const DEMO_APP_ID = 1234567890;

export function signWebhookBody(appSecret: string, body: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** The legacy `X-Hub-Signature` Meta still sends beside `X-Hub-Signature-256`: HMAC-SHA1 of the same bytes. */
export function signWebhookBodySha1(appSecret: string, body: string): string {
  return `sha1=${createHmac('sha1', appSecret).update(body).digest('hex')}`;
}

/**
 * A payload as Meta writes a webhook body: JSON with every non-ASCII character escaped as `\uXXXX` (UTF-16
 * units, lower-case hex) and `/` as `\/`, so the signature covers these bytes, not the UTF-8 of the text
 * (Meta: Webhooks, Getting Started, "Validate payloads": the signature is of the escaped unicode payload).
 */
export function metaWebhookBody(payload: unknown): string {
  return JSON.stringify(payload).replace(/[\u0080-\uffff/]/g, (char) =>
    char === '/' ? '\\/' : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export interface EmulatorWebhookOptions {
  /** The app id echoes carry as `app_id` (Meta sends the sending app's id). @default DEMO_APP_ID */
  appId?: number | undefined;
  /** Events per POST at start (see {@link EmulatorWebhooks.batch}). @default 1 */
  batchSize?: number | undefined;
}

/** One event waiting for its batch. */
interface PendingEvent {
  readonly object: 'page' | 'instagram';
  readonly accountId: string;
  readonly field: 'messaging' | 'standby';
  readonly item: Record<string, unknown>;
  readonly done: (delivered: Delivered) => void;
  readonly failed: (error: unknown) => void;
}

export function createEmulatorWebhooks(
  store: WorldStore,
  appSecret: string,
  options: EmulatorWebhookOptions = {},
): EmulatorWebhookDeliveries {
  let callback: string | undefined;
  const appId = options.appId ?? DEMO_APP_ID;
  const deliver = async (payload: unknown): Promise<number | undefined> =>
    callback === undefined ? undefined : postSigned(callback, appSecret, payload);
  const echoes = new EchoQueue(deliver);
  const batches = new BatchQueue(deliver, options.batchSize ?? 1);

  /** Delivers one event of a thread's inbox, alone or in the next batch. */
  const deliverEvent: DeliverEvent = (thread, route, timestamp, event, field = 'messaging') =>
    batches.push({
      object: thread.platform === 'instagram' ? 'instagram' : 'page',
      accountId: thread.business.id,
      field,
      item: { sender: { id: route.sender }, recipient: { id: route.recipient }, timestamp, ...event },
    });

  return {
    ...customerEvents(store, deliverEvent),
    batch: (events) => batches.resize(events),
    flush: () => batches.flush(),

    async subscribe(callbackUrl, verifyToken) {
      await verifyCallback(callbackUrl, verifyToken);
      callback = callbackUrl;
    },

    async sendMessage(conversationId, input) {
      const added = store.addMessage(conversationId, input);
      const node = store.node(added.id);
      if (node?.kind !== 'message') throw new Error(`sendMessage: message ${added.id} not found after adding it`);
      const { thread, message } = node;
      const echo = message.from.id === thread.business.id;
      const attachments = attachmentsOf(message);
      const delivered = await deliverEvent(thread, { sender: message.from.id, recipient: message.to.id }, message.createdTime * 1000, {
        message: {
          mid: message.id,
          ...(message.text === '' ? {} : { text: message.text }),
          ...(attachments === undefined ? {} : { attachments }),
          ...(echo ? { is_echo: true, app_id: appId } : {}),
        },
      });
      return { ...added, ...delivered };
    },

    deliver,
    echoSent: (thread, message) => echoes.push(echoPayload(thread, message, store.messageMetadata(message.id), appId)),
    idle: () => echoes.idle(),
    holdEchoes: (hold) => echoes.hold(hold),
    releaseEchoes: () => echoes.release(),
  };
}

type Delivered = { payload: unknown; deliveryStatus: number | undefined };
type DeliverEvent = (
  thread: ThreadRecord,
  route: MessagingRoute,
  timestamp: number,
  event: Record<string, unknown>,
  field?: 'messaging' | 'standby',
) => Promise<Delivered>;

/** What the customer does besides writing: reads, reactions, edits, unsends, delivery receipts, standby messages. */
function customerEvents(
  store: WorldStore,
  deliverEvent: DeliverEvent,
): Pick<EmulatorWebhooks, 'sendStandby' | 'editMessage' | 'markDelivered' | 'unsend' | 'markRead' | 'react'> {
  const editCounts = new Map<string, number>();
  const messageNode = (messageId: string, what: string) => {
    const node = store.node(messageId);
    if (node?.kind !== 'message') throw new Error(`${what}: unknown message "${messageId}"`);
    return node;
  };
  const threadNode = (conversationId: string, what: string) => {
    const node = store.node(conversationId);
    if (node?.kind !== 'thread') throw new Error(`${what}: unknown conversation "${conversationId}"`);
    return node.thread;
  };
  return {
    async sendStandby(conversationId, input) {
      const added = store.addMessage(conversationId, { text: input.text });
      const { thread, message } = messageNode(added.id, 'sendStandby');
      const event = { message: { mid: message.id, text: message.text } };
      return { id: added.id, ...(await deliverEvent(thread, fromCustomer(thread), message.createdTime * 1000, event, 'standby')) };
    },

    async editMessage(messageId, text) {
      const { thread, message } = messageNode(messageId, 'editMessage');
      const edits = (editCounts.get(messageId) ?? 0) + 1;
      editCounts.set(messageId, edits);
      store.editMessage(messageId, text);
      const timestamp = Math.max(store.now(), (message.createdTime + 3) * 1000);
      return deliverEvent(thread, { sender: message.from.id, recipient: message.to.id }, timestamp, {
        message_edit: { mid: messageId, text, num_edit: edits },
      });
    },

    async markDelivered(conversationId) {
      const thread = threadNode(conversationId, 'markDelivered');
      const newestOwn = thread.messages.find((message) => message.from.id === thread.business.id);
      if (newestOwn === undefined) throw new Error(`markDelivered: conversation "${conversationId}" has no business message`);
      const watermark = newestOwn.createdTime * 1000;
      return deliverEvent(thread, fromCustomer(thread), watermark + 1000, { delivery: { mids: [newestOwn.id], watermark } });
    },

    async unsend(messageId) {
      const { thread, message } = messageNode(messageId, 'unsend');
      if (thread.platform !== 'instagram') throw new Error('unsend: Meta delivers unsends on Instagram only');
      if (message.from.id !== thread.customer.id) throw new Error('unsend: only the customer’s messages are unsent this way');
      store.unsendMessage(messageId);
      const timestamp = Math.max(store.now(), (message.createdTime + 4) * 1000);
      return deliverEvent(thread, fromCustomer(thread), timestamp, { message: { mid: messageId, is_deleted: true } });
    },

    async markRead(conversationId) {
      const thread = threadNode(conversationId, 'markRead');
      const newest = thread.messages[0];
      if (newest === undefined) throw new Error(`markRead: conversation "${conversationId}" has no message`);
      const timestamp = (newest.createdTime + 1) * 1000;
      return deliverEvent(thread, fromCustomer(thread), timestamp, {
        read: thread.platform === 'instagram' ? { mid: newest.id } : { watermark: newest.createdTime * 1000 },
      });
    },

    async react(messageId, emoji, action = 'react') {
      const { thread, message } = messageNode(messageId, 'react');
      const timestamp = (message.createdTime + 2) * 1000;
      return deliverEvent(thread, fromCustomer(thread), timestamp, {
        reaction: { mid: messageId, action, ...(action === 'react' ? { emoji, reaction: 'other' } : {}) },
      });
    },
  };
}

/** Events waiting for a batch: POSTed once `size` are queued, or on {@link flush}. */
class BatchQueue {
  readonly #pending: PendingEvent[] = [];
  #size: number;

  constructor(
    private readonly deliver: (payload: unknown) => Promise<number | undefined>,
    size: number,
  ) {
    this.#size = checkBatchSize(size);
  }

  push(event: Omit<PendingEvent, 'done' | 'failed'>): Promise<Delivered> {
    return new Promise((done, failed) => {
      this.#pending.push({ ...event, done, failed });
      if (this.#pending.length >= this.#size) void this.flush();
    });
  }

  resize(size: number): void {
    this.#size = checkBatchSize(size);
    if (this.#pending.length >= this.#size) void this.flush();
  }

  /** POSTs the waiting events, one POST per object, entries grouped by account in arrival order. */
  async flush(): Promise<number> {
    const taken = this.#pending.splice(0);
    for (const object of ['page', 'instagram'] as const) {
      const events = taken.filter((event) => event.object === object);
      if (events.length === 0) continue;
      const entries = new Map<string, { id: string; time: number } & Partial<Record<'messaging' | 'standby', unknown[]>>>();
      for (const { accountId, field, item } of events) {
        const entry = entries.get(accountId) ?? { id: accountId, time: 0 };
        entries.set(accountId, entry);
        entry.time = Math.max(entry.time, item.timestamp as number);
        (entry[field] ??= []).push(item);
      }
      const payload = { object, entry: [...entries.values()] };
      try {
        const deliveryStatus = await this.deliver(payload);
        for (const event of events) event.done({ payload, deliveryStatus });
      } catch (error) {
        for (const event of events) event.failed(error);
      }
    }
    return taken.length;
  }
}

/** Echoes on their way, and those held back by a test; {@link idle} waits for the former. */
class EchoQueue {
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  #held: unknown[] | undefined;

  constructor(private readonly deliver: (payload: unknown) => Promise<number | undefined>) {}

  push(payload: unknown): void {
    if (this.#held !== undefined) this.#held.push(payload);
    else void this.#send(payload);
  }

  hold(hold: boolean): void {
    if (hold) this.#held ??= [];
    else void this.release();
  }

  async release(): Promise<number> {
    const held = this.#held ?? [];
    this.#held = undefined;
    await Promise.all(held.map((payload) => this.#send(payload)));
    return held.length;
  }

  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #send(payload: unknown): Promise<void> {
    this.#inFlight += 1;
    try {
      // After the send's answer is written (the request handler writes it in the same tick), as Meta answers first.
      await new Promise((resolve) => setImmediate(resolve));
      await this.deliver(payload);
    } catch (error) {
      console.error('graph emulator: echo webhook delivery failed', error);
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) for (const resolve of this.#waiters.splice(0)) resolve();
    }
  }
}

/**
 * The echo of a Send API message (Meta: Webhooks `message_echoes`,
 * developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-echoes): from the business to the
 * customer, `is_echo`, the app's id and the send's `metadata`.
 */
function echoPayload(thread: ThreadRecord, message: MessageRecord, metadata: string | undefined, appId: number): unknown {
  const attachments = attachmentsOf(message);
  return messagingPayload(thread, { sender: message.from.id, recipient: message.to.id }, message.createdTime * 1000, {
    message: {
      mid: message.id,
      ...(message.text === '' ? {} : { text: message.text }),
      ...(attachments === undefined ? {} : { attachments }),
      is_echo: true,
      app_id: appId,
      ...(metadata === undefined ? {} : { metadata }),
    },
  });
}

/**
 * A message's attachments as webhooks carry them: `type` and `payload.url` (Meta: Webhooks `messages`,
 * developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages).
 */
function attachmentsOf(message: MessageRecord): { type: string; payload: { url: unknown } }[] | undefined {
  return message.attachments?.map((attachment) => ({
    type: attachmentTypeOf(attachment.mime_type),
    payload: { url: attachment.image_data?.url ?? attachment.file_url },
  }));
}

function checkBatchSize(events: number): number {
  if (!Number.isInteger(events) || events < 1) throw new TypeError(`webhook batch size must be an integer of at least 1, got ${events}`);
  return events;
}

/** The Send API `type` of an attachment's mime type. */
function attachmentTypeOf(mimeType: string): string {
  const major = mimeType.split('/')[0];
  return major === 'image' || major === 'video' || major === 'audio' ? major : 'file';
}

/** Who a `messaging` event is from and to. */
interface MessagingRoute {
  readonly sender: string;
  readonly recipient: string;
}

const fromCustomer = (thread: ThreadRecord): MessagingRoute => ({ sender: thread.customer.id, recipient: thread.business.id });

/** A webhook payload of one `messaging` event, as Meta words it for the thread's platform. */
function messagingPayload(thread: ThreadRecord, route: MessagingRoute, timestamp: number, event: Record<string, unknown>): unknown {
  return {
    object: thread.platform === 'instagram' ? 'instagram' : 'page',
    entry: [
      {
        id: thread.business.id,
        time: timestamp,
        messaging: [{ sender: { id: route.sender }, recipient: { id: route.recipient }, timestamp, ...event }],
      },
    ],
  };
}

/** POSTs the payload to the callback, signed with the app secret; resolves with the HTTP status. */
async function postSigned(callback: string, appSecret: string, payload: unknown): Promise<number> {
  const body = metaWebhookBody(payload);
  const response = await fetch(callback, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': signWebhookBodySha1(appSecret, body),
      'x-hub-signature-256': signWebhookBody(appSecret, body),
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** Meta's verification handshake: the callback must echo the challenge; rejects otherwise. */
async function verifyCallback(callbackUrl: string, verifyToken: string): Promise<void> {
  // Meta's challenge is an integer-looking string (e.g. "1158201444").
  const challenge = String(randomInt(1_000_000_000, 2_147_483_647));
  const url = new URL(callbackUrl);
  url.searchParams.set('hub.mode', 'subscribe');
  url.searchParams.set('hub.verify_token', verifyToken);
  url.searchParams.set('hub.challenge', challenge);
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200 || text !== challenge) {
    throw new Error(`webhook verification failed: ${callbackUrl} answered ${response.status} "${text.slice(0, 100)}"`);
  }
}
