import DataLoader from 'dataloader';
import type { FetchedValue, GraphRead, ReadSubject, UpstreamUsage } from '../graph-api/read.js';

export type { FetchedValue };
import { OperationAbortedError } from '../graph-api/errors.js';
import type { Fetched, ReadCache } from '../graph-api/read-cache.js';
import type { GraphRequest } from '../graph-api/request.js';

/** How a read of a Page's inbox is made. */
export interface ReadOptions {
  /** Spends the Page's conversations budget (conversations, threads, messages). @default true */
  budgeted?: boolean;
  /** What the read is about, so the read cache may serve and refresh it. */
  about?: ReadSubject;
}

/** Reads the Graph API for one GraphQL operation, on behalf of one caller. */
export interface GraphReadLoader {
  /**
   * Reads `request` about `page` with the caller's token for that Page. Resolves with the parsed body;
   * rejects with the upstream failure, or an OperationAbortedError once the operation stops waiting.
   * `budgeted` reads (conversations, threads, messages) spend the Page's call budget.
   */
  read<T = unknown>(request: GraphRequest, page: string, options?: ReadOptions): Promise<FetchedValue<T>>;
  /**
   * Reads `request` and, in the same batch, pages continuing it with the given limits. Resolves with
   * the pages read, in order; the list ends early where a page failed (its Error is last).
   */
  readWithFollowUps<T = unknown>(
    request: GraphRequest,
    followUps: readonly number[],
    page: string,
    about?: ReadSubject,
  ): Promise<FetchedValue<Array<T | Error>>>;
  /** Most pages one `readWithFollowUps` may ask for, so as to fit the Page's call rate. */
  readonly maxCallsPerRead: number;
  /** Ends the operation: stops its deadline timer. */
  dispose(): void;
}

export interface LoaderOptions {
  /** The reads, through the read cache (which passes everything through when it is off). */
  reads: ReadCache;
  tokenForPage: (page: string) => Promise<string>;
  /** Names the caller (a token fingerprint). */
  callerKey: string;
  usage: UpstreamUsage;
  /** The HTTP request's signal: aborts when the client disconnects. */
  requestSignal?: AbortSignal | undefined;
  /** Time the operation may wait for the Graph API, retries included. */
  timeoutMs: number;
  /** Told of each distinct read the operation makes. */
  onRead?: ((read: GraphRead) => void) | undefined;
}

/**
 * One per operation (never shared: DataLoader caches answers, errors included, for its lifetime).
 * Identical reads in the operation are made once; the reads asked for in the same tick leave
 * together, as one Graph batch request, through the process-wide scheduler. The operation stops
 * waiting at its deadline or when its client disconnects; the scheduler then drops its queued reads.
 */
export function createGraphReadLoader(options: LoaderOptions): GraphReadLoader {
  const { reads, tokenForPage, callerKey, usage, requestSignal, timeoutMs, onRead } = options;
  // Armed at the first read only: most of an operation's life needs no timer.
  let watch: { stopped: Promise<never>; controller: AbortController; timer: NodeJS.Timeout; onDisconnect: () => void } | undefined;
  const arm = (): NonNullable<typeof watch> => {
    if (watch !== undefined) return watch;
    const controller = new AbortController();
    let stop!: (error: OperationAbortedError) => void;
    const stopped = new Promise<never>((_resolve, reject) => (stop = reject));
    stopped.catch(() => undefined); // Observed by the reads that race it.
    const end = (reason: 'deadline' | 'disconnected'): void => {
      controller.abort();
      stop(new OperationAbortedError(reason));
    };
    const timer = setTimeout(() => end('deadline'), timeoutMs);
    timer.unref();
    const onDisconnect = (): void => end('disconnected');
    if (requestSignal?.aborted) onDisconnect();
    else requestSignal?.addEventListener('abort', onDisconnect, { once: true });
    watch = { stopped, controller, timer, onDisconnect };
    return watch;
  };
  const deadline = Date.now() + timeoutMs;

  const loader = new DataLoader<GraphRead, Fetched, string>(
    async (batch) => {
      if (onRead !== undefined) for (const read of batch) onRead(read);
      return (await reads.readMany(batch, { usage, deadline, signal: arm().controller.signal })).map((fetched) =>
        fetched.body instanceof Error ? fetched.body : fetched,
      );
    },
    { cacheKeyFn: (read) => reads.keyOf(read) },
  );

  const load = async <T>(read: GraphRead): Promise<FetchedValue<T>> => {
    const { stopped } = arm();
    try {
      const fetched = await Promise.race([loader.load(read), stopped]);
      return { value: fetched.body as T, fetchedAt: fetched.fetchedAt, stale: fetched.stale };
    } catch (error) {
      // A failed read may succeed when asked again later in the same operation (graphql/dataloader#258).
      loader.clear(read);
      throw error;
    }
  };

  return {
    maxCallsPerRead: reads.maxCallsPerRead,
    async read<T>(request: GraphRequest, page: string, readOptions: ReadOptions = {}): Promise<FetchedValue<T>> {
      const token = await tokenForPage(page);
      const budgeted = readOptions.budgeted !== false;
      return load<T>({
        request,
        token,
        budgetKey: budgeted ? page : undefined,
        caller: callerKey,
        // An unbudgeted read is kept only as a Page node's (its `name`): inbox reads spend the budget they are kept under.
        about: budgeted || readOptions.about?.kind === 'page' ? readOptions.about : undefined,
      });
    },
    async readWithFollowUps<T>(
      request: GraphRequest,
      followUps: readonly number[],
      page: string,
      about?: ReadSubject,
    ): Promise<FetchedValue<Array<T | Error>>> {
      const token = await tokenForPage(page);
      return load<Array<T | Error>>({ request, token, budgetKey: page, caller: callerKey, followUps, about });
    },
    dispose() {
      if (watch === undefined) return;
      clearTimeout(watch.timer);
      requestSignal?.removeEventListener('abort', watch.onDisconnect);
    },
  };
}
