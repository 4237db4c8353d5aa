/**
 * GraphQL over WebSocket: the graphql-ws protocol (`graphql-transport-ws`, what Apollo Client's
 * `GraphQLWsLink` and urql's `subscriptionExchange` over graphql-ws speak) on the gateway's own HTTP
 * server, at the GraphQL path, beside server-sent events. Every operation goes through yoga's
 * `getEnveloped`, so parsing, validation and execution run the same plugins as over HTTP (token, depth
 * and cost limits, error masking), and its context comes from the same `createContext`, given a request
 * made from the socket's connection params. Queries and mutations work on the socket too.
 *
 * Close codes a client sees: 4401 when the `Authorization` connection param is not `Bearer <token>`
 * (graphql-ws clients do not retry it), 1001 when the gateway shuts down (they reconnect, to another
 * instance), 1009 for a message larger than `maxMessageBytes`, and graphql-ws's own (4400 bad message,
 * 4408 no `connection_init` within 3 s, 4409 a subscription id in use).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { getOperationAST, GraphQLError, type ExecutionArgs, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { ExecutionResult, OperationResult, SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { type AllowedOrigins, isAllowedOrigin } from './allowed-origins.js';
import { DEFAULT_CONFIG, type PersistedOperations } from './config.js';
import { bearerToken, type GatewayContext } from './context.js';
import { type GatewayErrorCode, gatewayError, gatewayErrorBody } from './gateway-errors.js';
import { scrubSecrets } from './graph-api/scrub.js';
import { missingCode } from './plugins/use-error-codes.js';
import { persistedOperationText } from './plugins/use-persisted-manifest.js';
import { requestScope } from './request-scope.js';
import {
  clientAddressOf,
  createSubscriptionCaps,
  type SubscriptionCaps,
  type SubscriptionSlot,
  tooManySubscriptions,
} from './subscription-caps.js';

/** Close code for a malformed `Authorization` connection param (graphql-ws's `Unauthorized`, which clients do not retry). */
export const CLOSE_UNAUTHORIZED = 4401;
/** Close code when the gateway shuts down: clients reconnect, to another instance. */
export const CLOSE_GOING_AWAY = 1001;

const UNAUTHORIZED_REASON = 'The Authorization connection param must be "Bearer <access token>".';

/** What of the gateway's yoga app the WebSocket server uses. */
export type GraphQLApp = Pick<YogaServerInstance<Record<string, unknown>, GatewayContext>, 'getEnveloped' | 'graphqlEndpoint'>;

export interface GraphQLWebSocketOptions {
  /**
   * Subscriptions one socket may hold at once; one more is refused with `TOO_MANY_SUBSCRIPTIONS`
   * (the socket and its other subscriptions stay). Queries and mutations do not count.
   * @default 20
   */
  maxSubscriptionsPerConnection?: number | undefined;
  /**
   * Origins whose browser pages may open a socket (browsers send `Origin`; other clients need not): the
   * rule CORS follows (`allowedOriginsOf` in allowed-origins.ts). A page served by the gateway itself (same
   * host) is always allowed.
   * @default [] (same origin only)
   */
  allowedOrigins?: AllowedOrigins | undefined;
  /** The persisted-operations manifest the HTTP endpoint uses: the socket follows the same rules. */
  persistedOperations?: PersistedOperations | undefined;
  /**
   * The instance's subscription caps (in all, per client address), shared with the app's server-sent events.
   * @default caps of its own, with the default limits
   */
  subscriptionCaps?: SubscriptionCaps | undefined;
  /**
   * Largest message a client may send; a larger one closes the socket with 1009.
   * @default MAX_REQUEST_BODY_BYTES's default
   */
  maxMessageBytes?: number | undefined;
}

export interface GraphQLWebSocketServer {
  /** Takes an HTTP upgrade request (the HTTP server's `upgrade` event). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Takes no more sockets and closes every open one with 1001, at once; clients reconnect elsewhere. */
  close(): void;
  /** Drops the sockets still open, whose peer never answered the close. */
  terminate(): void;
  /** Sockets open now. */
  readonly size: number;
}

/** What the server keeps per socket. */
interface Connection {
  /** `authorization` of the requests its operations run as; empty when the default token applies. */
  readonly headers: Headers;
  /** The client's address, as the subscription caps count it. */
  readonly client: string;
  /** Operations running, by id; aborting one cancels its upstream reads. */
  readonly running: Map<string, AbortController>;
  /** The subscriptions among them, by id, with their slots in the instance's caps. */
  readonly subscriptions: Map<string, SubscriptionSlot>;
  /** Set once the socket closed: an operation still being prepared then must not take a slot nobody would give back. */
  closed: boolean;
}

type Enveloped = ReturnType<GraphQLApp['getEnveloped']>;

/**
 * Errors as yoga writes them over HTTP: without the `http` extension that only sets the status there, with
 * their message scrubbed of secrets and a code on every one (as use-error-codes.ts does over HTTP, where
 * graphql-js's variable checks, e.g., come without one).
 */
function formatError(error: GraphQLError): GraphQLFormattedError {
  const { extensions, message, ...rest } = error.toJSON();
  const { http: _http, ...kept } = extensions ?? {};
  return {
    message: scrubSecrets(message),
    ...rest,
    extensions: { ...kept, code: typeof kept.code === 'string' ? kept.code : missingCode(error) },
  };
}

const asGraphQLError = (error: unknown): GraphQLError =>
  error instanceof GraphQLError ? error : gatewayError('INTERNAL_SERVER_ERROR', 'Unexpected error.');

function refuseUpgrade(socket: Duplex, status: number, statusText: string, code: GatewayErrorCode, message: string): void {
  const body = gatewayErrorBody(code, message);
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ` +
      `${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The graphql-ws server for `app`; wire `handleUpgrade` to the HTTP server's `upgrade` event. */
export function createGraphQLWebSocketServer(app: GraphQLApp, options: GraphQLWebSocketOptions = {}): GraphQLWebSocketServer {
  const maxSubscriptions = options.maxSubscriptionsPerConnection ?? DEFAULT_CONFIG.maxSubscriptionsPerConnection;
  if (!Number.isInteger(maxSubscriptions) || maxSubscriptions < 1) {
    throw new TypeError(`maxSubscriptionsPerConnection must be an integer of at least 1, got ${maxSubscriptions}`);
  }
  const allowedOrigins = options.allowedOrigins ?? [];
  const path = app.graphqlEndpoint;
  const sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? DEFAULT_CONFIG.maxRequestBodyBytes });
  const caps = options.subscriptionCaps ?? createSubscriptionCaps();
  serveOperations(sockets, app, { path, maxSubscriptions, caps, persistedOperations: options.persistedOperations });
  let closing = false;

  return {
    handleUpgrade(request, socket, head) {
      const pathname = new URL(request.url ?? '/', 'http://gateway').pathname;
      if (closing) {
        refuseUpgrade(socket, 503, 'Service Unavailable', 'SHUTTING_DOWN', 'This instance is shutting down: connect again.');
      } else if (pathname !== path) {
        refuseUpgrade(socket, 404, 'Not Found', 'NOT_FOUND', `WebSockets are served at ${path} only.`);
      } else if (!maySocketFrom(request, allowedOrigins)) {
        refuseUpgrade(socket, 403, 'Forbidden', 'ORIGIN_NOT_ALLOWED', 'This origin may not open a WebSocket here (see CORS_ORIGINS).');
      } else {
        sockets.handleUpgrade(request, socket, head, (websocket: WebSocket) => sockets.emit('connection', websocket, request));
      }
    },
    close() {
      closing = true;
      for (const websocket of sockets.clients) websocket.close(CLOSE_GOING_AWAY, 'The gateway is shutting down');
    },
    terminate() {
      for (const websocket of sockets.clients) websocket.terminate();
    },
    get size() {
      return sockets.clients.size;
    },
  };
}

/** How operations on a socket run. */
interface OperationSettings {
  /** The GraphQL endpoint, path of the requests operations run as. */
  readonly path: string;
  /** Subscriptions one socket holds at once. */
  readonly maxSubscriptions: number;
  /** The instance's caps, in all and per client. */
  readonly caps: SubscriptionCaps;
  readonly persistedOperations: PersistedOperations | undefined;
}

/** An operation parsed, validated and given its context, ready to run. */
interface PreparedOperation {
  readonly args: ExecutionArgs;
  readonly enveloped: Enveloped;
  readonly isSubscription: boolean;
  /** Aborting it cancels the operation's upstream reads. */
  readonly controller: AbortController;
}

/** Speaks graphql-ws on `sockets`, each operation through the app's plugins, as the socket's caller. */
function serveOperations(sockets: WebSocketServer, app: GraphQLApp, settings: OperationSettings): void {
  // By graphql-ws's per-socket context.
  const connections = new WeakMap<object, Connection>();
  // The plugins' execute and subscribe for each operation's arguments (graphql-ws hands the same object back).
  const envelopes = new WeakMap<ExecutionArgs, Enveloped>();

  useServer(
    {
      onConnect(ctx) {
        const headers = headersOf(ctx.connectionParams);
        if (headers === undefined) {
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, UNAUTHORIZED_REASON);
          return false;
        }
        const client = clientAddressOf(ctx.extra.request.socket);
        connections.set(ctx, { headers, client, running: new Map(), subscriptions: new Map(), closed: false });
        return true;
      },
      async onSubscribe(ctx, id, payload: SubscribePayload) {
        const connection = connections.get(ctx);
        if (connection === undefined) return [new GraphQLError('Send connection_init first.')];
        let prepared: PreparedOperation | readonly GraphQLError[];
        try {
          prepared = await prepareOperation(app, settings, connection.headers, payload);
        } catch (error) {
          // Parse errors (syntax, token limit) and refused persisted operations; anything else is masked.
          return [asGraphQLError(error)];
        }
        if (!('args' in prepared)) return prepared;
        // Counted and taken with no await since the context was made, so concurrent subscribes cannot both pass the cap.
        const refusal = startOperation(connection, id, prepared, settings);
        if (refusal !== undefined) return [refusal];
        envelopes.set(prepared.args, prepared.enveloped);
        return prepared.args;
      },
      // Each operation on a socket is a request of its own for the log (request-scope.ts): its lines share a new id.
      execute: (args) => requestScope.run({ requestId: randomUUID() }, () => envelopes.get(args)!.execute(args) as OperationResult),
      subscribe: (args) => requestScope.run({ requestId: randomUUID() }, () => envelopes.get(args)!.subscribe(args) as OperationResult),
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
      onError: (_ctx, _id, _payload, errors) => errors.map(formatError),
      onComplete: (ctx, id) => release(connections.get(ctx), id),
      onClose(ctx) {
        const connection = connections.get(ctx);
        if (connection !== undefined) connection.closed = true;
        for (const id of [...(connection?.running.keys() ?? [])]) release(connection, id);
      },
    },
    sockets,
  );
}

/**
 * The headers of a socket's operations, from its connection params; `undefined` when `Authorization`
 * is there but is not `Bearer <token>`.
 */
function headersOf(connectionParams: Readonly<Record<string, unknown>> | null | undefined): Headers | undefined {
  const params = connectionParams ?? {};
  const authorization = params.Authorization ?? params.authorization;
  const headers = new Headers();
  if (authorization === undefined || authorization === null) return headers;
  // bearerToken registers the token as a secret, as for an HTTP request: no message or log line quotes it.
  const token = typeof authorization === 'string' ? bearerToken(authorization) : undefined;
  if (token === undefined) return undefined;
  try {
    headers.set('authorization', `Bearer ${token}`);
  } catch {
    // The error names the value: it is not logged, and the close reason never holds it.
    return undefined;
  }
  return headers;
}

/** Throws for a document that does not parse and for a refused persisted operation. */
async function prepareOperation(
  app: GraphQLApp,
  settings: OperationSettings,
  headers: Headers,
  payload: SubscribePayload,
): Promise<PreparedOperation | readonly GraphQLError[]> {
  const query = persistedOperationText(settings.persistedOperations, payload);
  const controller = new AbortController();
  // POST: yoga's plugins refuse mutations in GET requests.
  const request = new Request(`http://gateway.socket${settings.path}`, { method: 'POST', headers, signal: controller.signal });
  const enveloped = app.getEnveloped({ request, params: { ...payload, query } });
  const document = enveloped.parse(query);
  const errors = enveloped.validate(enveloped.schema, document);
  if (errors.length > 0) return errors;
  const operation = getOperationAST(document, payload.operationName);
  if (operation === null || operation === undefined) {
    return [
      gatewayError(
        'OPERATION_RESOLUTION_FAILURE',
        'Name the operation to run: the document holds several, and `operationName` names none of them.',
      ),
    ];
  }
  const contextValue = await enveloped.contextFactory();
  const args: ExecutionArgs = {
    schema: enveloped.schema,
    document,
    operationName: payload.operationName ?? null,
    variableValues: payload.variables ?? null,
    contextValue,
  };
  return { args, enveloped, controller, isSubscription: operation.operation === 'subscription' };
}

/**
 * Counts the operation as running on its socket; a subscription past the socket's cap, or the instance's
 * caps (in all, per client), is refused instead.
 */
function startOperation(
  connection: Connection,
  id: string,
  prepared: PreparedOperation,
  settings: Pick<OperationSettings, 'maxSubscriptions' | 'caps'>,
): GraphQLError | undefined {
  // Never sent: the socket is gone.
  if (connection.closed) return new GraphQLError('The connection closed.');
  if (prepared.isSubscription) {
    if (connection.subscriptions.size >= settings.maxSubscriptions) return tooManySubscriptions('connection', settings.maxSubscriptions);
    const slot = settings.caps.take(connection.client);
    if (slot instanceof GraphQLError) return slot;
    connection.subscriptions.set(id, slot);
  }
  connection.running.set(id, prepared.controller);
  return undefined;
}

function release(connection: Connection | undefined, id: string): void {
  connection?.running.get(id)?.abort();
  connection?.running.delete(id);
  connection?.subscriptions.get(id)?.release();
  connection?.subscriptions.delete(id);
}

/** A result with errors, written as over HTTP; `undefined` (as it is) without. */
function formatResult({ data, errors, extensions }: ExecutionResult): FormattedExecutionResult | undefined {
  if (errors === undefined) return undefined;
  return {
    ...(data === undefined ? {} : { data }),
    errors: errors.map(formatError),
    ...(extensions === undefined ? {} : { extensions }),
  };
}

/** Whether the upgrade may go on: no `Origin` (not a browser), a page of the gateway itself, or an allowed origin. */
function maySocketFrom(request: IncomingMessage, allowedOrigins: AllowedOrigins): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || isAllowedOrigin(origin, allowedOrigins)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
