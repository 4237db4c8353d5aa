/**
 * Graph batch requests (Meta: Batch Requests, developers.facebook.com/docs/graph-api/batch-requests): `POST /` with `batch=[…]` and a
 * top-level token.
 * Items run in order through the same router as plain calls; the answer is one slot per item,
 * `{"code","headers":[{name,value}],"body":"<JSON string>"}`, and the outer status stays 200.
 *
 * Dependencies: `{result=NAME:$.json.path}` in an item's `relative_url` is replaced by the values
 * found in NAME's parsed body (joined with commas). A dependent whose parent failed or was itself
 * skipped gets a `null` slot; one whose JSONPath finds nothing gets an error slot (HTTP 400,
 * code 100), since it cannot be run meaningfully and a `null` would read as "timed out, retry".
 */
import { authenticate, tokenOf, type ProofPolicy } from './auth.js';
import { invalidParameter, newTraceId, tooManyBatchItems, unresolvedBatchDependency, type EmulatedGraphError } from './errors.js';
import type { GraphAnswer, GraphCall, GraphRouter } from './router.js';
import type { WorldStore } from './store.js';

/** Graph refuses batches of more than 50 items (Meta: Batch Requests, developers.facebook.com/docs/graph-api/batch-requests). */
export const MAX_BATCH_ITEMS = 50;

/** A batch item as logged: its method, the relative URL it ran (dependencies resolved) and its status. */
export interface LoggedBatchItem {
  method: string;
  relativeUrl: string;
  /** `null` = the slot came back `null`: its parent failed, or it timed out. */
  status: number | null;
  /** When it ran, in ms since the epoch (`Date.now()`). */
  at: number;
  /** The Page whose Conversations API budget it spent (its conversations edge, thread or message); `undefined` for other calls. */
  pageId?: string | undefined;
}

/** The outcome of one batch POST. */
export interface BatchOutcome {
  readonly answer: GraphAnswer;
  readonly items: LoggedBatchItem[];
}

export interface BatchRequest {
  /** The outer path, e.g. `/v25.0/`; items without their own version run under its version. */
  readonly path: string;
  /** Outer parameters (query and body), without `batch`. */
  readonly params: Readonly<Record<string, string>>;
  /** The `batch` value: a JSON string (form bodies) or an already parsed array (JSON bodies). */
  readonly batch: unknown;
  readonly authorization: string | undefined;
}

interface BatchItem {
  readonly method: string;
  readonly relativeUrl: string;
  readonly body: string | undefined;
  readonly name: string | undefined;
  readonly dependsOn: readonly string[];
  readonly omitResponseOnSuccess: boolean | undefined;
}

interface BatchSlot {
  code: number;
  headers?: { name: string; value: string }[];
  body: string;
}

const RESULT_REFERENCE = /\{result=([^:}]+):([^}]*)\}/g;

/** Runs a batch; whole-batch failures (token, size, malformed items, bad dependencies) answer as one error. */
export function runBatch(router: GraphRouter, store: WorldStore, policy: ProofPolicy, request: BatchRequest): BatchOutcome {
  const { version } = safeRoute(router, request.path);
  let items: BatchItem[];
  let parentsOf: ReadonlyMap<string, number>[];
  let topToken: string;
  try {
    const token = tokenOf(request.params, request.authorization);
    authenticate(store, policy, token, request.params.appsecret_proof);
    topToken = token!;
    items = parseItems(request.batch);
    parentsOf = resolveParents(items);
  } catch (error) {
    return { answer: router.errorAnswer(error, version, 1), items: [] };
  }

  const topProof = request.params.appsecret_proof;
  const includeHeaders = request.params.include_headers !== 'false';
  const referenced = new Set(parentsOf.flatMap((parents) => [...parents.values()]));

  const slots: (BatchSlot | null)[] = [];
  const succeeded: boolean[] = [];
  const parsedBodies = new Map<number, unknown>();
  const logged: LoggedBatchItem[] = [];
  let calls = 0;

  items.forEach((item, index) => {
    const parents = parentsOf[index]!;
    if ([...parents.values()].some((parent) => succeeded[parent] !== true)) {
      slots.push(null);
      succeeded.push(false);
      logged.push({ method: item.method, relativeUrl: item.relativeUrl, status: null, at: Date.now(), pageId: undefined });
      calls += 1;
      return;
    }

    let answer: GraphAnswer;
    let relativeUrl = item.relativeUrl;
    try {
      relativeUrl = resolveReferences(item.relativeUrl, index, (name) => parsedBodies.get(parents.get(name)!));
      answer = router.execute(itemCall(version, item, relativeUrl, topToken, topProof), true);
    } catch (error) {
      answer = router.errorAnswer(error, version, 1);
    }
    if (answer.timedOut === true) {
      slots.push(null);
      succeeded.push(false);
      logged.push({ method: item.method, relativeUrl, status: null, at: answer.at ?? Date.now(), pageId: answer.pageId });
      calls += 1;
      return;
    }
    const slot: BatchSlot = { code: answer.status, body: answer.body };
    if (includeHeaders) slot.headers = slotHeaders(answer);
    slots.push(slot);
    succeeded.push(answer.status === 200);
    if (referenced.has(index) && answer.status === 200) parsedBodies.set(index, JSON.parse(answer.body));
    logged.push({ method: item.method, relativeUrl, status: answer.status, at: answer.at ?? Date.now(), pageId: answer.pageId });
    calls += answer.calls;
  });

  // A parent's own result is left out once something depends on it, unless it asked to keep it.
  items.forEach((item, index) => {
    if (succeeded[index] === true && (item.omitResponseOnSuccess ?? referenced.has(index))) slots[index] = null;
  });

  return {
    answer: { status: 200, body: JSON.stringify(slots), version, traceId: newTraceId(), wwwAuthenticate: undefined, calls },
    items: logged,
  };
}

function safeRoute(router: GraphRouter, path: string): { version: string } {
  try {
    return router.route(path);
  } catch {
    return router.route('/');
  }
}

/** The item as a plain call: its own version or the outer one, its own token and proof or the top-level ones. */
function itemCall(outerVersion: string, item: BatchItem, relativeUrl: string, topToken: string, topProof: string | undefined): GraphCall {
  const queryAt = relativeUrl.indexOf('?');
  const rawPath = (queryAt < 0 ? relativeUrl : relativeUrl.slice(0, queryAt)).replace(/^\/+/, '');
  const params: Record<string, string> = {};
  const add = (search: string): void => {
    for (const [key, value] of new URLSearchParams(search)) if (!(key in params)) params[key] = value;
  };
  if (queryAt >= 0) add(relativeUrl.slice(queryAt + 1));
  if (item.body !== undefined) add(item.body);
  if (params.access_token === undefined || params.access_token === '') {
    params.access_token = topToken;
    if (topProof !== undefined) params.appsecret_proof = topProof;
    else delete params.appsecret_proof;
  }
  const hasVersion = /^v\d+\.\d+(?:\/|$)/.test(rawPath);
  const path = hasVersion ? `/${rawPath}` : `/${outerVersion}/${rawPath}`;
  return { method: item.method, path, params };
}

function slotHeaders(answer: GraphAnswer): { name: string; value: string }[] {
  const headers = [
    { name: 'Content-Type', value: 'application/json; charset=UTF-8' },
    { name: 'Facebook-API-Version', value: answer.version },
    { name: 'Cache-Control', value: 'private, no-cache, no-store, must-revalidate' },
  ];
  if (answer.wwwAuthenticate !== undefined) headers.push({ name: 'WWW-Authenticate', value: answer.wwwAuthenticate });
  for (const [name, value] of Object.entries(answer.headers ?? {})) headers.push({ name, value });
  return headers;
}

function parseItems(raw: unknown): BatchItem[] {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalidParameter('The parameter batch must be a JSON array');
    }
  }
  if (!Array.isArray(value)) throw invalidParameter('The parameter batch must be a JSON array');
  if (value.length > MAX_BATCH_ITEMS) throw tooManyBatchItems(MAX_BATCH_ITEMS);
  return value.map((entry: unknown, index): BatchItem => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw invalidParameter(`Batch request ${index} must be a JSON object`);
    const item = entry as Record<string, unknown>;
    if (typeof item.relative_url !== 'string') throw invalidParameter(`Batch request ${index} is missing the relative_url parameter`);
    const method = item.method ?? 'GET';
    if (typeof method !== 'string') throw invalidParameter(`Batch request ${index} has an invalid method`);
    const name = optionalString(item.name, 'name', index);
    const explicit = optionalString(item.depends_on, 'depends_on', index);
    const dependsOn = new Set<string>(explicit === undefined ? [] : [explicit]);
    for (const match of item.relative_url.matchAll(RESULT_REFERENCE)) dependsOn.add(match[1]!);
    const omit = item.omit_response_on_success;
    if (omit !== undefined && typeof omit !== 'boolean')
      throw invalidParameter(`Batch request ${index} has a non-boolean omit_response_on_success`);
    if (item.headers !== undefined && !Array.isArray(item.headers))
      throw invalidParameter(`Batch request ${index} has headers that are not an array`);
    return {
      method: method.toUpperCase(),
      relativeUrl: item.relative_url,
      body: optionalString(item.body, 'body', index),
      name,
      dependsOn: [...dependsOn],
      omitResponseOnSuccess: omit,
    };
  });
}

function optionalString(value: unknown, field: string, index: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`Batch request ${index} has a non-string ${field}`);
  return value;
}

/**
 * For each item, the index of every parent it names. A name must belong to an earlier item, or the
 * whole batch fails (Meta: Batch Requests, developers.facebook.com/docs/graph-api/batch-requests).
 */
function resolveParents(items: readonly BatchItem[]): ReadonlyMap<string, number>[] {
  const earlier = new Map<string, number>();
  return items.map((item, index) => {
    const parents = new Map<string, number>();
    for (const name of item.dependsOn) {
      const parent = earlier.get(name);
      if (parent === undefined) throw unresolvedBatchDependency(index, name);
      parents.set(name, parent);
    }
    if (item.name !== undefined) earlier.set(item.name, index);
    return parents;
  });
}

/** Replaces `{result=NAME:$.path}` with the values found; throws code 100 when a path finds nothing. */
function resolveReferences(relativeUrl: string, index: number, bodyOf: (name: string) => unknown): string {
  return relativeUrl.replace(RESULT_REFERENCE, (reference, name: string, path: string) => {
    const values = evaluateJsonPath(bodyOf(name), path);
    if (values === undefined || values.length === 0) throw noValueForReference(index, reference);
    return values.map(encodeURIComponent).join(',');
  });
}

function noValueForReference(index: number, reference: string): EmulatedGraphError {
  return invalidParameter(`Batch request ${index} depends on ${reference}, which resolved to no value`);
}

/**
 * The subset of JSONPath Graph batches use: `$.a.b`, `$.data.*.id`, `$.data[0].id`, `$.data[*].id`.
 * Returns the primitive values found as strings, or `undefined` for a malformed path.
 */
export function evaluateJsonPath(root: unknown, path: string): string[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: (string | number | '*')[] = [];
  const pattern = /\.([A-Za-z0-9_]+|\*)|\[(\d+|\*)\]/y;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < path.length) {
    const match = pattern.exec(path);
    if (match === null) return undefined;
    const step = match[1] ?? match[2]!;
    steps.push(step === '*' ? '*' : match[2] !== undefined ? Number(step) : step);
  }
  let values: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of values) {
      if (typeof value !== 'object' || value === null) continue;
      if (step === '*') next.push(...(Array.isArray(value) ? value : Object.values(value)));
      else next.push((value as Record<string | number, unknown>)[step]);
    }
    values = next.filter((value) => value !== undefined && value !== null);
  }
  return values.filter((value) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean').map(String);
}
