/**
 * The callback URL Meta's webhooks call (`/webhooks/meta`):
 *   - `GET` is the subscription handshake: with `hub.mode=subscribe` and our verify token, answer
 *     `hub.challenge` as is; anything else is refused (403);
 *   - `POST` is a delivery: its `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body keyed by
 *     the app secret, checked on the bytes as received, before the body is parsed (Meta signs its escaped
 *     form, `\uXXXX` and `\/`: re-serializing the parsed JSON would not match; 403 otherwise, nothing published); then its
 *     inbox events are published, each once (Meta redelivers what it thinks failed), and
 *     the answer is 200 at once, as Meta asks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { eventKey, inboxEventsOf, type InboxEvent, type InboxEventStream } from './inbox-events.js';
import { MemoryRedeliveryFilter, type RedeliveryFilter } from './redelivery.js';

export const WEBHOOK_PATH = '/webhooks/meta';

/** What became of a call to the callback (`gateway_webhook_deliveries_total`'s `result`). */
export type WebhookResult = 'accepted' | 'bad_signature' | 'bad_body' | 'handshake_ok' | 'handshake_refused';

/** Where refusals are told: pino's logger fits. */
export interface WebhookLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Why each refusal matters to an operator: a wrong secret or verify token drops every event, silently to Meta's side. */
const REFUSAL_LINES: Partial<Record<WebhookResult, string>> = {
  bad_signature: 'Webhook delivery refused: bad or missing X-Hub-Signature-256 (is GRAPH_APP_SECRET the app secret Meta signs with?)',
  bad_body: 'Webhook delivery refused: its body is not JSON',
  handshake_refused:
    'Webhook handshake refused: wrong hub.mode or hub.verify_token, or no challenge ' +
    '(is WEBHOOK_VERIFY_TOKEN the one set in the app dashboard?)',
};

export interface WebhookReceiverOptions {
  /** Signs every delivery (the app's secret, GRAPH_APP_SECRET). */
  appSecret: string;
  /** What the handshake must present (WEBHOOK_VERIFY_TOKEN); without it no handshake succeeds. */
  verifyToken: string | undefined;
  bus: InboxEventStream;
  /** Drops what Meta delivers again. @default one process's memory */
  redeliveries?: RedeliveryFilter | undefined;
  /**
   * Told of each delivery's new events before it is answered (and before they are published): the read
   * cache drops what they make stale, so a read that starts after the answer never shows the older state.
   */
  onEvents?: ((events: readonly InboxEvent[]) => Promise<void>) | undefined;
  /**
   * Told of every echo carrying `metadata`, redelivered or not, before anything is relayed: an echo of this
   * gateway's own send resolves that send in the ledger (src/replies/).
   */
  onEcho?: ((event: InboxEvent & { readonly metadata: string }) => Promise<void>) | undefined;
  /** Where each refused delivery and handshake gets a warning, with how many of its kind so far (never the body). @default nowhere */
  log?: WebhookLog | undefined;
  /** Told what became of each call (metrics). */
  onResult?: ((result: WebhookResult) => void) | undefined;
}

/** Relays inbox events: each new one once (the cache told first, then subscribers), echoes to `onEcho` first. */
export type InboxEventRelay = (events: readonly InboxEvent[]) => Promise<void>;

/** The relay behind the webhook callback, which the gateway's own sends use too (their echoes, told at once). */
export function createInboxEventRelay(options: Omit<WebhookReceiverOptions, 'appSecret' | 'verifyToken'>): InboxEventRelay {
  const redeliveries = options.redeliveries ?? new MemoryRedeliveryFilter();
  return async (events) => {
    for (const event of events) {
      if (event.kind === 'echo' && event.metadata !== undefined) await options.onEcho?.({ ...event, metadata: event.metadata });
    }
    const seen = await Promise.all(events.map((event) => redeliveries.firstSeen(eventKey(event))));
    const fresh = events.filter((_event, i) => seen[i]);
    if (fresh.length === 0) return;
    await options.onEvents?.(fresh);
    // All at once, in order: each publish is issued before the next (Redis runs them in that order on its one connection),
    // so a batch of a hundred events costs one round trip's wait, not a hundred, and Meta's answer is not held up.
    await Promise.all(fresh.map((event) => options.bus.publish(event)));
  };
}

/** Handles a request to {@link WEBHOOK_PATH}; `body` is the raw request body (POST). */
export type WebhookReceiver = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

export function createWebhookReceiver(options: WebhookReceiverOptions & { relay?: InboxEventRelay | undefined }): WebhookReceiver {
  const { appSecret, verifyToken } = options;
  const relay = options.relay ?? createInboxEventRelay(options);

  const counts = new Map<WebhookResult, number>();
  const answer = (response: ServerResponse, status: number, text: string): void => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
  };
  const tell = (result: WebhookResult): void => {
    const count = (counts.get(result) ?? 0) + 1;
    counts.set(result, count);
    options.onResult?.(result);
    const line = REFUSAL_LINES[result];
    if (line !== undefined) options.log?.warn({ webhookResult: result, count }, line);
  };

  return (request, response, body) => {
    if (request.method === 'GET') {
      const query = new URL(request.url ?? '/', 'http://gateway').searchParams;
      const challenge = query.get('hub.challenge');
      const given = query.get('hub.verify_token');
      if (
        query.get('hub.mode') === 'subscribe' &&
        verifyToken !== undefined &&
        given !== null &&
        safeEqual(given, verifyToken) &&
        challenge !== null
      ) {
        tell('handshake_ok');
        answer(response, 200, challenge);
      } else {
        tell('handshake_refused');
        answer(response, 403, 'Verification failed.');
      }
      return;
    }
    if (request.method !== 'POST') {
      response.setHeader('allow', 'GET, POST');
      answer(response, 405, 'GET (verification) or POST (deliveries) only.');
      return;
    }
    const signature = request.headers['x-hub-signature-256'];
    const expected = `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
    if (typeof signature !== 'string' || !safeEqual(signature, expected)) {
      tell('bad_signature');
      answer(response, 403, 'Bad or missing X-Hub-Signature-256.');
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      tell('bad_body');
      answer(response, 400, 'The body is not JSON.');
      return;
    }
    tell('accepted');
    void relay(inboxEventsOf(payload)).then(
      () => answer(response, 200, 'EVENT_RECEIVED'),
      // Meta delivers again what was not answered 200.
      () => answer(response, 500, 'The delivery could not be relayed.'),
    );
  };
}

function safeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
