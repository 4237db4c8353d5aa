/**
 * The emulator's own routes, beside the Graph API: `/_emulator/…`, for demos and for a gateway started
 * apart from the emulator. They are not Graph calls: not logged, not counted, not faulted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readSendMessage, SEND_MESSAGE_USAGE } from './demo-messages.js';
import { isJson, readBody } from './request-body.js';
import type { WorldStore } from './store.js';
import type { EmulatorWebhooks } from './webhooks.js';

/** A new message, delivered by webhook. */
const SEND_MESSAGE_PATH = '/_emulator/messages';
/** Subscribes a webhook callback. */
const SUBSCRIBE_PATH = '/_emulator/subscriptions';

/** What the demo routes act on. */
export interface DemoWorld {
  readonly store: WorldStore;
  readonly webhooks: EmulatorWebhooks;
}

/** Answers the request when `path` is a demo route and resolves `true`; resolves `false`, the request untouched, otherwise. */
export async function serveDemoRoute(world: DemoWorld, path: string, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  if (path === SEND_MESSAGE_PATH) {
    await sendMessage(world, request, response);
    return true;
  }
  if (path === SUBSCRIBE_PATH) {
    await subscribeCallback(world, request, response);
    return true;
  }
  return false;
}

/**
 * `POST /_emulator/messages {"conversationId", "text", "from"?: "customer" | "business"}`: a new
 * message in a conversation (named by the gateway's `id` or its `graphApiId`), delivered to the
 * subscribed webhook. For demos (curl while a GraphiQL subscription listens).
 */
async function sendMessage({ store, webhooks }: DemoWorld, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST' || !isJson(request)) {
    request.resume();
    replyJson(response, request.method === 'POST' ? 415 : 405, {
      error: `Send a POST with Content-Type: application/json. ${SEND_MESSAGE_USAGE}`,
    });
    return;
  }
  const read = readSendMessage(store, await readParams(request));
  if (!read.ok) {
    replyJson(response, read.status, { error: read.error });
    return;
  }
  const sent = await webhooks.sendMessage(read.thread.id, { fromId: read.fromId, text: read.text });
  replyJson(response, 200, { id: sent.id, createdTime: sent.createdTime, deliveryStatus: sent.deliveryStatus ?? null });
}

/**
 * `POST /_emulator/subscriptions {"callbackUrl", "verifyToken"}`: subscribes a webhook callback, as
 * an app's webhook settings do (the handshake runs first), for a gateway started apart from the
 * emulator (`npm run emulator`).
 */
async function subscribeCallback({ webhooks }: DemoWorld, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const params = await readParams(request);
  if (typeof params?.callbackUrl !== 'string' || typeof params.verifyToken !== 'string') {
    replyJson(response, 400, { error: 'POST a JSON body {"callbackUrl": "http://…/webhooks/meta", "verifyToken": "…"}' });
    return;
  }
  try {
    await webhooks.subscribe(params.callbackUrl, params.verifyToken);
    replyJson(response, 200, { subscribed: params.callbackUrl });
  } catch (error) {
    replyJson(response, 502, { error: (error as Error).message });
  }
}

/** The body of a POST to a demo route; `undefined` for another method or a bad body. */
async function readParams(request: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  if (request.method !== 'POST') {
    request.resume();
    return undefined;
  }
  const params: Record<string, unknown> = {};
  return (await readBody(request, (key, value) => (params[key] = value))) === undefined ? params : undefined;
}

function replyJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
}
