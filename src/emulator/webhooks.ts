/**
 * Meta's webhooks for the inbox, as the emulator plays them: a callback is subscribed with the
 * verification handshake (GET with `hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`, which
 * the callback must echo), then each new message is POSTed to it as Meta does: `object: "page"` (or
 * `"instagram"`) with `entry[].messaging[]`, signed `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
 * raw body, keyed by the app secret>`. The business's own messages arrive as echoes (`is_echo`).
 */
import { createHmac, randomBytes } from 'node:crypto';
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
    message: { fromId?: string; text: string },
  ): Promise<{ id: string; createdTime: string; payload: unknown; deliveryStatus: number | undefined }>;
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

/** The demo app's id, carried by echoes as `app_id`. */
const ECHO_APP_ID = 1234567890;

export function signWebhookBody(appSecret: string, body: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

export function createEmulatorWebhooks(store: WorldStore, appSecret: string): EmulatorWebhookDeliveries {
  let callback: string | undefined;

  const deliver = async (payload: unknown): Promise<number | undefined> =>
    callback === undefined ? undefined : postSigned(callback, appSecret, payload);
  const echoes = new EchoQueue(deliver);

  /** Delivers one `messaging` event of a thread's inbox. */
  const deliverEvent = async (
    thread: ThreadRecord,
    route: MessagingRoute,
    timestamp: number,
    event: Record<string, unknown>,
  ): Promise<{ payload: unknown; deliveryStatus: number | undefined }> => {
    const payload = messagingPayload(thread, route, timestamp, event);
    return { payload, deliveryStatus: await deliver(payload) };
  };

  return {
    async markRead(conversationId) {
      const node = store.node(conversationId);
      if (node?.kind !== 'thread') throw new Error(`markRead: unknown conversation "${conversationId}"`);
      const newest = node.thread.messages[0];
      if (newest === undefined) throw new Error(`markRead: conversation "${conversationId}" has no message`);
      const timestamp = (newest.createdTime + 1) * 1000;
      return deliverEvent(node.thread, fromCustomer(node.thread), timestamp, {
        read: node.thread.platform === 'instagram' ? { mid: newest.id } : { watermark: newest.createdTime * 1000 },
      });
    },

    async react(messageId, emoji, action = 'react') {
      const node = store.node(messageId);
      if (node?.kind !== 'message') throw new Error(`react: unknown message "${messageId}"`);
      const timestamp = (node.message.createdTime + 2) * 1000;
      return deliverEvent(node.thread, fromCustomer(node.thread), timestamp, {
        reaction: { mid: messageId, action, ...(action === 'react' ? { emoji, reaction: 'other' } : {}) },
      });
    },

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
      const delivered = await deliverEvent(thread, { sender: message.from.id, recipient: message.to.id }, message.createdTime * 1000, {
        message: { mid: message.id, text: message.text, ...(echo ? { is_echo: true, app_id: ECHO_APP_ID } : {}) },
      });
      return { ...added, ...delivered };
    },

    deliver,
    echoSent: (thread, message) => echoes.push(echoPayload(thread, message, store.messageMetadata(message.id))),
    idle: () => echoes.idle(),
    holdEchoes: (hold) => echoes.hold(hold),
    releaseEchoes: () => echoes.release(),
  };
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
function echoPayload(thread: ThreadRecord, message: MessageRecord, metadata: string | undefined): unknown {
  const attachments = message.attachments?.map((attachment) => ({
    type: attachmentTypeOf(attachment.mime_type),
    payload: { url: attachment.image_data?.url ?? attachment.file_url },
  }));
  return messagingPayload(thread, { sender: message.from.id, recipient: message.to.id }, message.createdTime * 1000, {
    message: {
      mid: message.id,
      ...(message.text === '' ? {} : { text: message.text }),
      ...(attachments === undefined ? {} : { attachments }),
      is_echo: true,
      app_id: ECHO_APP_ID,
      ...(metadata === undefined ? {} : { metadata }),
    },
  });
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
  const body = JSON.stringify(payload);
  const response = await fetch(callback, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(appSecret, body) },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** Meta's verification handshake: the callback must echo the challenge; rejects otherwise. */
async function verifyCallback(callbackUrl: string, verifyToken: string): Promise<void> {
  const challenge = randomBytes(8).toString('hex');
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
