/**
 * One HTTP request to the emulator, from the socket to the answer: the demo routes apart, a call's
 * query and body parameters, the batch runner or the router, the log, the transport faults, and
 * Graph's headers (`facebook-api-version`: Meta: Versioning, developers.facebook.com/docs/graph-api/guides/versioning).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { tokenOf, type ProofPolicy } from './auth.js';
import { runBatch } from './batch.js';
import { serveDemoRoute } from './demo-routes.js';
import { TRANSPORT_FAULTS, type CallSignature, type EmulatorFaults, type Fault } from './faults.js';
import { readBody } from './request-body.js';
import type { EmulatorRequestLog, LoggedRequest } from './request-log.js';
import type { GraphAnswer, GraphRouter } from './router.js';
import type { WorldStore } from './store.js';
import type { EmulatorWebhooks } from './webhooks.js';

const STATIC_HEADERS = {
  'content-type': 'application/json; charset=UTF-8',
  'cache-control': 'private, no-cache, no-store, must-revalidate',
  pragma: 'no-cache',
  expires: 'Sat, 01 Jan 2000 00:00:00 GMT',
  'access-control-allow-origin': '*',
} as const;

/** What answering a request uses; `router` is the guarded one. */
export interface RequestHandlerOptions {
  readonly router: GraphRouter;
  readonly store: WorldStore;
  readonly webhooks: EmulatorWebhooks;
  readonly log: EmulatorRequestLog;
  readonly faults: EmulatorFaults;
  readonly proofPolicy: ProofPolicy;
  /** Aborted when the emulator closes: answers still delayed by a latency fault are dropped. */
  readonly closing: AbortSignal;
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** An HTTP request read as a Graph call: query and body parameters merged (the first value of a key wins), `batch` apart. */
interface HttpCall {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly batch: unknown;
  /** Why the body could not be read; the call then answers this error. */
  readonly bodyError: Error | undefined;
  readonly authorization: string | undefined;
}

export function createRequestHandler(options: RequestHandlerOptions): RequestHandler {
  return async (request, response) => {
    const rawUrl = request.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    if (await serveDemoRoute(options, path, request, response)) return;
    const call = await readCall(request, path, queryAt < 0 ? '' : rawUrl.slice(queryAt + 1));
    const transportFault = options.faults.take(TRANSPORT_FAULTS, callSignatures(options.router, call));
    // Graph counts a call when it arrives: the call runs now, and a latency fault delays only its answer.
    const { answer, entry } = answerCall(options, call);
    if (transportFault?.kind === 'truncated-json') entry.status = 200;
    const traceparent = request.headers.traceparent;
    if (typeof traceparent === 'string') entry.traceparent = traceparent;
    options.log.record(entry, answer.calls);
    await sendAnswer(request, response, answer, transportFault, options.closing);
  };
}

async function readCall(request: IncomingMessage, path: string, query: string): Promise<HttpCall> {
  const params: Record<string, string> = {};
  let batch: unknown;
  const take = (key: string, value: unknown): void => {
    if (key === 'batch') batch ??= value;
    else if (!(key in params))
      params[key] = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  };
  for (const [key, value] of new URLSearchParams(query)) take(key, value);
  const bodyError = await readBody(request, take);
  return {
    method: (request.method ?? 'GET').toUpperCase(),
    path,
    params,
    batch,
    bodyError,
    authorization: request.headers.authorization,
  };
}

/** Runs the call (a batch, or one call) and says how to log it. */
function answerCall(options: RequestHandlerOptions, call: HttpCall): { answer: GraphAnswer; entry: LoggedRequest } {
  const { router } = options;
  const { method, path, params, batch, authorization } = call;
  if (call.bodyError !== undefined) {
    const answer = router.errorAnswer(call.bodyError, router.route('/').version, 1);
    return { answer, entry: { method, path, params, status: answer.status, at: Date.now() } };
  }
  if (method === 'POST' && batch !== undefined) {
    const { answer, items } = runBatch(router, options.store, options.proofPolicy, { path, params, batch, authorization });
    return { answer, entry: { method, path, params, status: answer.status, items, at: Date.now() } };
  }
  const answer = router.execute({ method, path, params, authorization });
  return { answer, entry: { method, path, params, status: answer.status, at: answer.at ?? Date.now(), pageId: answer.pageId } };
}

/** Writes the answer, as a transport fault has it: later, never (the socket reset), or cut in half. */
async function sendAnswer(
  request: IncomingMessage,
  response: ServerResponse,
  answer: GraphAnswer,
  transportFault: Fault | undefined,
  closing: AbortSignal,
): Promise<void> {
  if (transportFault?.kind === 'latency') {
    try {
      await delay(transportFault.ms, undefined, { signal: closing });
    } catch {
      return; // The emulator closed meanwhile, and its sockets with it.
    }
  }
  if (transportFault?.kind === 'reset') {
    request.socket.destroy();
    return;
  }
  const headers: Record<string, string> = {
    ...STATIC_HEADERS,
    ...answer.headers,
    'facebook-api-version': answer.version,
    'x-fb-trace-id': answer.traceId,
  };
  if (answer.wwwAuthenticate !== undefined) headers['www-authenticate'] = answer.wwwAuthenticate;
  if (transportFault?.kind === 'truncated-json') {
    response.writeHead(200, headers);
    response.end(answer.body.slice(0, Math.floor(answer.body.length / 2)));
    return;
  }
  response.writeHead(answer.status, headers);
  response.end(answer.body);
}

/** What transport faults match against: the plain call, or every item of a batch. */
function callSignatures(router: GraphRouter, call: HttpCall): CallSignature[] {
  const token = tokenOf(call.params, call.authorization);
  const strip = (raw: string): string => {
    try {
      return router.route(raw.split('?')[0]!).segments.join('/');
    } catch {
      return raw;
    }
  };
  if (call.batch === undefined) return [{ path: strip(call.path), token }];
  const items = batchItemsOf(call.batch);
  return items.flatMap((item: unknown) => {
    const { relative_url: relativeUrl, body } = (item ?? {}) as { relative_url?: unknown; body?: unknown };
    if (typeof relativeUrl !== 'string') return [];
    const queryAt = relativeUrl.indexOf('?');
    const own =
      (queryAt < 0 ? null : new URLSearchParams(relativeUrl.slice(queryAt + 1)).get('access_token')) ??
      (typeof body === 'string' ? new URLSearchParams(body).get('access_token') : null);
    return [{ path: strip(`/${relativeUrl.replace(/^\/+/, '')}`), token: own === null || own === '' ? token : own }];
  });
}

/** The items of a `batch` value, parsed when it is a JSON string; none when it is not a list. */
function batchItemsOf(batch: unknown): unknown[] {
  let items: unknown = batch;
  if (typeof batch === 'string') {
    try {
      items = JSON.parse(batch);
    } catch {
      return [];
    }
  }
  return Array.isArray(items) ? items : [];
}
