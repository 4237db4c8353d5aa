import type { Span } from '@opentelemetry/api';
import { ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import { Pool, type Dispatcher } from 'undici';
import type { UpstreamPoolConfig } from '../config.js';
import { GraphApiError, GraphTransportError, isErrorEnvelope } from './errors.js';
import type { GraphRead, GraphTransport, GraphWrite, HeaderLookup, UpstreamUsage } from './read.js';
import { toRelativeUrl } from './request.js';
import { appSecretProof, tokenFingerprint } from './tokens.js';
import { ATTRIBUTES, BATCH_ITEM_EVENT, inRequestSpan, recordStatus, relativePathOf, traceHeaders } from './tracing.js';
import { SILENT_OBSERVER, type UpstreamObserver } from './upstream-observer.js';

/** Graph refuses batches of more than 50 items (Meta: Batch Requests, developers.facebook.com/docs/graph-api/batch-requests). */
export const MAX_BATCH_ITEMS = 50;

export interface GraphApiClientOptions {
  /** Origin of the Graph API, e.g. `https://graph.facebook.com`. */
  baseUrl: string;
  /** Version path segment, e.g. `v25.0`. */
  version: string;
  /** When set, every call carries the `appsecret_proof` of the token it uses. */
  appSecret?: string | undefined;
  /**
   * How to reach the Graph API: a bounded connection pool with its timeouts (GRAPH_MAX_CONNECTIONS and the
   * GRAPH_*_TIMEOUT_MS settings), or any undici Dispatcher (a MockAgent in unit tests), which the caller closes.
   */
  transport: { pool: UpstreamPoolConfig } | { dispatcher: Dispatcher };
  /**
   * Told once per version when Graph answers with another version than `version` (its
   * `facebook-api-version` header): an expired version is served by the oldest live one, silently
   * (Meta: Versioning, developers.facebook.com/docs/graph-api/guides/versioning), and its behaviour with it.
   */
  onVersionDrift?: ((requested: string, served: string) => void) | undefined;
  /** Told of each HTTP request's duration and of each failed answer (metrics). @default tells nothing */
  observer?: Pick<UpstreamObserver, 'requestDone' | 'failed'> | undefined;
}

/** How a batch item joins a chain of pages: its name, and the page whose `after` cursor it continues. */
interface BatchItem {
  readonly read: GraphRead;
  readonly name?: string | undefined;
  readonly after?: string;
}

interface BatchSlot {
  code: number;
  headers?: Array<{ name: string; value: string }>;
  body: string;
}

/**
 * The only module that talks HTTP to the Graph API: one read is a plain GET, several leave as batch
 * POSTs of at most 50 items, sent concurrently. Each result is the parsed JSON body or a
 * {@link GraphApiError}/{@link GraphTransportError}; `onHeaders` sees every answer's headers (batch
 * items' included) so usage can be tracked.
 */
export class GraphApiClient implements GraphTransport {
  readonly version: string;
  readonly #origin: string;
  readonly #dispatcher: Dispatcher;
  /** The pool this client made, and closes. */
  readonly #ownPool: Pool | undefined;
  readonly #appSecret: string | undefined;
  readonly #onVersionDrift: ((requested: string, served: string) => void) | undefined;
  readonly #driftSeen = new Set<string>();
  readonly #observer: Pick<UpstreamObserver, 'requestDone' | 'failed'>;

  constructor(options: GraphApiClientOptions) {
    let origin: string;
    try {
      origin = new URL(options.baseUrl).origin;
    } catch {
      throw new TypeError(`GraphApiClient: baseUrl must be an absolute URL, got "${options.baseUrl}"`);
    }
    if (!/^v\d+\.\d+$/.test(options.version)) {
      throw new TypeError(`GraphApiClient: version must look like "v25.0", got "${options.version}"`);
    }
    this.version = options.version;
    this.#appSecret = options.appSecret;
    this.#onVersionDrift = options.onVersionDrift;
    this.#observer = options.observer ?? SILENT_OBSERVER;
    this.#origin = origin;
    if ('dispatcher' in options.transport) {
      this.#dispatcher = options.transport.dispatcher;
    } else {
      const { pool } = options.transport;
      this.#dispatcher = this.#ownPool = new Pool(origin, {
        connections: pool.connections,
        connect: { timeout: pool.connectTimeoutMs },
        headersTimeout: pool.headersTimeoutMs,
        bodyTimeout: pool.bodyTimeoutMs,
      });
    }
  }

  /** The canonical identity of a read: equal keys are the same upstream call. */
  keyOf(read: GraphRead): string {
    const chain = read.followUps === undefined || read.followUps.length === 0 ? '' : ` +${read.followUps.join(',')}`;
    const generation = read.generation === undefined ? '' : ` @${read.generation}`;
    return `${tokenFingerprint(read.token)} ${toRelativeUrl(this.version, read.request)}${chain}${generation}`;
  }

  /**
   * Makes several reads at once; never rejects. Slot `i` of the result answers `reads[i]` with the
   * parsed body or an Error, so one failed read fails only what needed it.
   */
  async readMany(
    reads: readonly GraphRead[],
    usage?: UpstreamUsage,
    onHeaders?: (read: GraphRead, header: HeaderLookup) => void,
  ): Promise<unknown[]> {
    const answers = await this.#readMany(reads, usage, onHeaders);
    // A batch that failed as a whole holds the same error in every slot: one failure, counted once.
    for (const failure of new Set(answers.filter(isFailure))) this.#observer.failed(failure);
    return answers;
  }

  async #readMany(
    reads: readonly GraphRead[],
    usage: UpstreamUsage | undefined,
    onHeaders: ((read: GraphRead, header: HeaderLookup) => void) | undefined,
  ): Promise<unknown[]> {
    const only = reads.length === 1 ? reads[0]! : undefined;
    if (only !== undefined && (only.followUps?.length ?? 0) === 0) {
      return [await this.#get(only, usage, onHeaders).catch((error: unknown) => error)];
    }
    // Chunks of at most 50 items; a read and its follow-ups stay in one chunk.
    const chunks: GraphRead[][] = [];
    let items = MAX_BATCH_ITEMS;
    for (const read of reads) {
      const size = 1 + (read.followUps?.length ?? 0);
      if (items + size > MAX_BATCH_ITEMS) {
        chunks.push([]);
        items = 0;
      }
      chunks.at(-1)!.push(read);
      items += size;
    }
    return (await Promise.all(chunks.map((chunk) => this.#batchWithFollowUps(chunk, usage, onHeaders)))).flat();
  }

  /** Expands reads with follow-up pages into dependent batch items, and gathers their answers back. */
  async #batchWithFollowUps(
    reads: readonly GraphRead[],
    usage: UpstreamUsage | undefined,
    onHeaders: ((read: GraphRead, header: HeaderLookup) => void) | undefined,
  ): Promise<unknown[]> {
    if (reads.every((read) => (read.followUps?.length ?? 0) === 0)) return this.#batch(reads, usage, onHeaders);
    const items: BatchItem[] = [];
    const spans: { start: number; length: number }[] = [];
    reads.forEach((read, r) => {
      const chain = read.followUps ?? [];
      spans.push({ start: items.length, length: 1 + chain.length });
      items.push({ read, name: chain.length > 0 ? `r${r}p0` : undefined });
      chain.forEach((limit, p) => {
        const request = { path: read.request.path, params: { ...read.request.params, limit, after: undefined, before: undefined } };
        items.push({
          read: { ...read, request, followUps: undefined },
          name: `r${r}p${p + 1}`,
          after: `{result=r${r}p${p}:$.paging.cursors.after}`,
        });
      });
    });
    const answers = await this.#batch(
      items.map((item) => item.read),
      usage,
      onHeaders,
      items,
    );
    return reads.map((read, r) => {
      const { start, length } = spans[r]!;
      if ((read.followUps?.length ?? 0) === 0) return answers[start];
      const pages: unknown[] = [];
      for (const answer of answers.slice(start, start + length)) {
        // A follow-up of a failed page, or one Graph could not reach, ends the chain; so does a first
        // page that timed out, which then answers as a timed-out read.
        if (answer === null || answer === undefined) {
          if (pages.length === 0) pages.push(new GraphTransportError('slot-timeout', 'A batch item timed out upstream'));
          break;
        }
        if (answer instanceof Error && pages.length > 0) break;
        pages.push(answer);
        if (answer instanceof Error) break;
      }
      return pages;
    });
  }

  /** Closes the connection pool this client made (a dispatcher passed in is the caller's to close). */
  /**
   * One write: a POST of `write.params` as a form body to `write.path`, the token and its proof in the body,
   * never batched with anything, never coalesced with an identical write (two sends are two messages), made
   * once. Resolves with the parsed body, or the GraphApiError/GraphTransportError it failed with; the retry
   * policy of writes is the writer's (writer.ts).
   */
  async write(write: GraphWrite, usage?: UpstreamUsage): Promise<unknown> {
    const form = new URLSearchParams({ ...write.params, access_token: write.token });
    const proof = this.#proof(write.token);
    if (proof !== undefined) form.set('appsecret_proof', proof);
    if (usage) {
      usage.requests += 1;
      usage.calls += 1;
    }
    try {
      return await inRequestSpan('POST', { [ATTRIBUTES.relativePath]: relativePathOf(this.version, write.path) }, async (span) => {
        const response = await this.#send({
          method: 'POST',
          path: `/${this.version}/${write.path}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
        recordStatus(span, response.status);
        return parseAnswer(response.status, response.text);
      });
    } catch (error) {
      if (isFailure(error)) this.#observer.failed(error);
      return error;
    }
  }

  async close(): Promise<void> {
    await this.#ownPool?.close();
  }

  async #get(
    read: GraphRead,
    usage: UpstreamUsage | undefined,
    onHeaders: ((read: GraphRead, header: HeaderLookup) => void) | undefined,
  ): Promise<unknown> {
    const relativeUrl = toRelativeUrl(this.version, read.request);
    const proof = this.#proof(read.token);
    const path = `/${relativeUrl}${proof === undefined ? '' : `${relativeUrl.includes('?') ? '&' : '?'}appsecret_proof=${proof}`}`;
    if (usage) {
      usage.requests += 1;
      usage.calls += 1;
    }
    return inRequestSpan('GET', { [ATTRIBUTES.relativePath]: relativePathOf(this.version, read.request.path) }, async (span) => {
      const response = await this.#send({ method: 'GET', path, headers: { authorization: `Bearer ${read.token}` } });
      recordStatus(span, response.status);
      onHeaders?.(read, (name) => headerValue(response.headers[name]));
      return checkShape(read, parseAnswer(response.status, response.text));
    });
  }

  /** One batch POST; `dependencies` names the items of chained pages. */
  async #batch(
    reads: readonly GraphRead[],
    usage: UpstreamUsage | undefined,
    onHeaders: ((read: GraphRead, header: HeaderLookup) => void) | undefined,
    dependencies?: readonly BatchItem[],
  ): Promise<unknown[]> {
    const [first] = reads;
    if (first === undefined) return [];
    const outerToken = first.token;
    const items = reads.map((read, index) => {
      const dependency = dependencies?.[index];
      let relativeUrl = toRelativeUrl(this.version, read.request);
      // The reference must stay unencoded for Graph to resolve it.
      if (dependency?.after !== undefined) relativeUrl += `${relativeUrl.includes('?') ? '&' : '?'}after=${dependency.after}`;
      if (read.token !== outerToken) {
        // An item with another token carries its own token and proof (Meta: Batch Requests,
        // developers.facebook.com/docs/graph-api/batch-requests; Meta: Securing Requests,
        // developers.facebook.com/docs/graph-api/guides/secure-requests).
        const search = new URLSearchParams({ access_token: read.token });
        const proof = this.#proof(read.token);
        if (proof !== undefined) search.set('appsecret_proof', proof);
        relativeUrl += `${relativeUrl.includes('?') ? '&' : '?'}${search}`;
      }
      return dependency?.name === undefined
        ? { method: 'GET', relative_url: relativeUrl }
        : { method: 'GET', relative_url: relativeUrl, name: dependency.name, omit_response_on_success: false };
    });
    const form = new URLSearchParams({ access_token: outerToken, batch: JSON.stringify(items) });
    const proof = this.#proof(outerToken);
    if (proof !== undefined) form.set('appsecret_proof', proof);
    if (usage) {
      usage.requests += 1;
      usage.calls += reads.length;
    }

    let slots: unknown[];
    try {
      slots = await inRequestSpan('POST', { [ATTRIBUTES.batchItems]: reads.length }, async (span) => {
        const response = await this.#send({
          method: 'POST',
          path: `/${this.version}/`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
        recordStatus(span, response.status);
        const answer = parseAnswer(response.status, response.text);
        if (!Array.isArray(answer) || answer.length !== reads.length) {
          throw new GraphTransportError('malformed-response', `Batch answer is not an array of ${reads.length} slots`);
        }
        this.#traceItems(span, reads, answer);
        return answer;
      });
    } catch (error) {
      return reads.map(() => error);
    }

    // A `null` slot timed out upstream (Meta: Batch Requests, developers.facebook.com/docs/graph-api/batch-requests); the scheduler asks
    // for it again once. In a chain,
    // `null` also marks the follow-ups of a failed page, which the chain's reader ends on.
    return slots.map((slot: unknown, index) =>
      slot === null
        ? dependencies !== undefined
          ? null
          : new GraphTransportError('slot-timeout', 'A batch item timed out upstream')
        : parseSlot(slot, reads[index]!, onHeaders),
    );
  }

  /** One event per batch item on its request's span: its path (never its query, which may hold a token) and status. */
  #traceItems(span: Span, reads: readonly GraphRead[], slots: readonly unknown[]): void {
    if (!span.isRecording()) return;
    reads.forEach((read, index) => {
      const code = (slots[index] as BatchSlot | null)?.code;
      span.addEvent(BATCH_ITEM_EVENT, {
        [ATTRIBUTES.relativePath]: relativePathOf(this.version, read.request.path),
        // A `null` slot timed out upstream: it has no status.
        ...(typeof code === 'number' ? { [ATTR_HTTP_RESPONSE_STATUS_CODE]: code } : {}),
      });
    });
  }

  #proof(token: string): string | undefined {
    return this.#appSecret === undefined ? undefined : appSecretProof(this.#appSecret, token);
  }

  async #send(options: {
    method: 'GET' | 'POST';
    path: string;
    headers: Record<string, string>;
    body?: string;
  }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    const started = performance.now();
    try {
      const response = await this.#dispatcher.request({
        origin: this.#origin,
        method: options.method,
        path: options.path,
        headers: { accept: 'application/json', ...traceHeaders(), ...options.headers },
        body: options.body ?? null,
      });
      const served = headerValue(response.headers['facebook-api-version']);
      if (served !== undefined && served !== this.version && !this.#driftSeen.has(served)) {
        this.#driftSeen.add(served);
        this.#onVersionDrift?.(this.version, served);
      }
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const failure = code.includes('TIMEOUT') ? 'timeout' : 'connection';
      throw new GraphTransportError(
        failure,
        `Graph API ${failure === 'timeout' ? 'did not answer in time' : 'connection failed'} (${code || 'network error'})`,
        NOT_CONNECTED_CODES.has(code),
      );
    } finally {
      this.#observer.requestDone((performance.now() - started) / 1000);
    }
  }
}

const isFailure = (answer: unknown): answer is GraphApiError | GraphTransportError =>
  answer instanceof GraphApiError || answer instanceof GraphTransportError;

/** Failures to connect at all: the request never left. */
const NOT_CONNECTED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Turns an answer into its parsed body, or throws the error it carries. */
function parseAnswer(status: number, text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new GraphTransportError('malformed-response', `Graph API answered HTTP ${status} with a body that is not JSON`);
  }
  if (isErrorEnvelope(body)) throw new GraphApiError(status, body.error);
  if (status >= 400) throw new GraphApiError(status, {});
  return body;
}

/**
 * A batch slot: `body` is a JSON string to parse a second time; `headers` an array (Meta: Batch Requests,
 * developers.facebook.com/docs/graph-api/batch-requests).
 */
function parseSlot(slot: unknown, read: GraphRead, onHeaders: ((read: GraphRead, header: HeaderLookup) => void) | undefined): unknown {
  if (
    typeof slot !== 'object' ||
    slot === null ||
    typeof (slot as BatchSlot).body !== 'string' ||
    typeof (slot as BatchSlot).code !== 'number'
  ) {
    return new GraphTransportError('malformed-response', 'Batch slot without a numeric code and a string body');
  }
  const { code, body, headers } = slot as BatchSlot;
  if (onHeaders && Array.isArray(headers)) {
    onHeaders(read, (name) => headers.find((header) => header.name.toLowerCase() === name)?.value);
  }
  try {
    return checkShape(read, parseAnswer(code, body));
  } catch (error) {
    return error;
  }
}

/**
 * Checks a successful answer where it enters: an edge (`{id}/{edge}`) answers a list page, `{ data: [...] }`;
 * an object answers an object with its `id` (Meta: Graph API Overview and Paginated Results). Anything else
 * is a malformed answer (GRAPH_UNAVAILABLE), never a TypeError deep in a resolver.
 */
function checkShape(read: GraphRead, body: unknown): unknown {
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  const edge = read.request.path.includes('/');
  const valid = isObject && (edge ? Array.isArray((body as { data?: unknown }).data) : typeof (body as { id?: unknown }).id === 'string');
  if (valid) return body;
  throw new GraphTransportError(
    'malformed-response',
    edge ? 'Graph API answered an edge read without a `data` list' : 'Graph API answered an object read without its `id`',
  );
}
