/**
 * The gateway's HTTP server. It reads each request body itself, capped at `MAX_REQUEST_BODY_BYTES`,
 * before handing the request to yoga: yoga's adapter then takes the body as a string (the path it
 * keeps for frameworks that parse bodies first) instead of piping a stream per request, a visible
 * share of a request's CPU under load. This cap replaces yoga's own (off in app.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DEFAULT_CONFIG } from './config.js';
import { gatewayErrorBody } from './gateway-errors.js';
import { WEBHOOK_PATH, type WebhookReceiver } from './webhooks/receiver.js';
import { createGraphQLWebSocketServer, type GraphQLApp, type GraphQLWebSocketOptions } from './websocket.js';

type NodeHandler = (request: IncomingMessage & { body?: string }, response: ServerResponse) => unknown;

function refuseTooLarge(request: IncomingMessage, response: ServerResponse, maxBodyBytes: number): void {
  const body = gatewayErrorBody('REQUEST_TOO_LARGE', `Request body larger than ${maxBodyBytes} bytes (MAX_REQUEST_BODY_BYTES).`, {
    maxBodyBytes,
  });
  // The rest of the body is not read: close the connection once the answer is out.
  response.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  response.end(body, () => request.destroy());
}

/**
 * A POST with no body. Answered here: the body stream is read to its end already, and yoga, handed an
 * empty body, would wait on that stream for data that never comes.
 */
function refuseEmptyBody(response: ServerResponse): void {
  const body = gatewayErrorBody('BAD_REQUEST', 'POST needs a body: {"query": "…", "variables": {…}} as JSON.');
  response.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
  response.end(body);
}

export interface GatewayServer extends Server {
  /**
   * From now on every answer carries `Connection: close` (those not yet started too), and is otherwise served
   * as before: each keep-alive client, a load balancer included, opens its next connection elsewhere. The
   * first step of a shutdown, for SHUTDOWN_DRAIN_SECONDS before {@link drain}.
   */
  closeKeepAlive(): void;
  /**
   * Stops taking connections and lets the requests in flight finish (each answered with
   * `Connection: close`, so keep-alive clients reconnect to another instance); subscription streams
   * are cut at once and WebSockets closed at once (1001), and connections still open after `timeoutMs`.
   * Resolves once every connection is closed.
   */
  drain(timeoutMs: number): Promise<void>;
  /** What is open: answers not yet finished (ordinary requests, and event streams that end only when cut), and WebSockets. */
  inFlight(): { requests: number; eventStreams: number; webSockets: number };
}

export interface GatewayServerOptions {
  /** Meta's webhook callback, served at WEBHOOK_PATH when given. */
  webhooks?: WebhookReceiver | undefined;
  /** GraphQL over WebSocket (graphql-ws) at the GraphQL path; always on, these tune it. */
  webSocket?: Omit<GraphQLWebSocketOptions, 'maxMessageBytes'> | undefined;
  /**
   * Largest request body (or WebSocket message) read; a larger body is answered 413 `REQUEST_TOO_LARGE` unread. @default 524288
   * (MAX_REQUEST_BODY_BYTES)
   */
  maxBodyBytes?: number | undefined;
  /**
   * How long an idle keep-alive connection stays open, in ms; the time allowed for a request's headers is kept a second
   * above it. @default 72000 (KEEP_ALIVE_TIMEOUT_SECONDS)
   */
  keepAliveTimeoutMs?: number | undefined;
}

/**
 * Node closes a keep-alive connection idle for `keepAliveTimeout` (5 s by default), which races a load balancer
 * reusing it after a longer idle time of its own: the balancer's request meets a closed socket (a 502). The headers
 * timeout stays above it, as Node's own docs advise, and the request timeout at least as long as both.
 */
function setKeepAliveTimeout(server: Server, keepAliveTimeoutMs: number): void {
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.headersTimeout = Math.max(server.headersTimeout, keepAliveTimeoutMs + 1_000);
  if (server.requestTimeout > 0) server.requestTimeout = Math.max(server.requestTimeout, server.headersTimeout);
}

/** Whether a request asks for a stream: server-sent events, or Apollo's multipart subscriptions (`subscriptionSpec`). */
const isStreamAccept = (accept: string | undefined): boolean =>
  accept !== undefined && (accept.includes('text/event-stream') || accept.toLowerCase().includes('subscriptionspec'));

const isWebhookPath = (url: string | undefined): boolean =>
  url?.startsWith(WEBHOOK_PATH) === true && (url.length === WEBHOOK_PATH.length || url[WEBHOOK_PATH.length] === '?');

export function createGatewayServer(handler: NodeHandler & GraphQLApp, options: GatewayServerOptions = {}): GatewayServer {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_CONFIG.maxRequestBodyBytes;
  let keepAlive = true;
  const webSockets = createGraphQLWebSocketServer(handler, { ...options.webSocket, maxMessageBytes: maxBodyBytes });
  // Responses not yet finished: answers to mark `Connection: close`, event streams to end, when draining starts.
  const open = new Map<ServerResponse, { eventStream: boolean }>();
  const server = createServer((request: IncomingMessage & { body?: string }, response) => {
    if (!keepAlive) {
      response.setHeader('connection', 'close');
    } else {
      open.set(response, { eventStream: isStreamAccept(request.headers.accept) });
      response.once('close', () => open.delete(response));
    }
    const webhooks = options.webhooks !== undefined && isWebhookPath(request.url) ? options.webhooks : undefined;
    if (request.method !== 'POST') {
      if (webhooks !== undefined) webhooks(request, response, Buffer.alloc(0));
      else void handler(request, response);
      return;
    }
    if (Number(request.headers['content-length'] ?? 0) > maxBodyBytes) {
      refuseTooLarge(request, response, maxBodyBytes);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        // A chunked body (no Content-Length) that grew past the cap.
        request.off('data', onData);
        refuseTooLarge(request, response, maxBodyBytes);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => {
      if (response.headersSent) return;
      if (webhooks !== undefined) {
        // Signatures are over the raw bytes.
        webhooks(request, response, Buffer.concat(chunks));
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      if (body === '') {
        refuseEmptyBody(response);
        return;
      }
      request.body = body;
      void handler(request, response);
    });
    request.on('error', () => response.destroy());
  });
  setKeepAliveTimeout(server, options.keepAliveTimeoutMs ?? DEFAULT_CONFIG.keepAliveTimeoutMs);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => webSockets.handleUpgrade(request, socket, head));
  return Object.assign(server, {
    inFlight() {
      let eventStreams = 0;
      for (const { eventStream } of open.values()) if (eventStream) eventStreams += 1;
      return { requests: open.size - eventStreams, eventStreams, webSockets: webSockets.size };
    },
    closeKeepAlive() {
      keepAlive = false;
      for (const [response, { eventStream }] of open) if (!eventStream && !response.headersSent) response.setHeader('connection', 'close');
    },
    drain(timeoutMs: number): Promise<void> {
      this.closeKeepAlive();
      webSockets.close();
      // A subscription's event stream never finishes by itself: cut it, its client reconnects elsewhere.
      for (const [response, { eventStream }] of open) if (eventStream) response.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => {
        server.closeAllConnections();
        webSockets.terminate();
      }, timeoutMs);
      cut.unref();
      return closed.finally(() => clearTimeout(cut));
    },
  });
}
