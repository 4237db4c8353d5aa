import DataLoader from 'dataloader';
import type { GraphRead, UpstreamUsage } from '../graph-api/client.js';
import { OperationAbortedError } from '../graph-api/errors.js';
import type { GraphRequest } from '../graph-api/request.js';
import type { GraphScheduler } from '../graph-api/scheduler.js';

/** Reads the Graph API for one GraphQL operation, on behalf of one caller. */
export interface GraphReadLoader {
  /**
   * Reads `request` about `page` with the caller's token for that Page. Resolves with the parsed body;
   * rejects with the upstream failure, or an OperationAbortedError once the operation stops waiting.
   * `budgeted` reads (conversations, threads, messages) spend the Page's call budget.
   */
  read<T = unknown>(request: GraphRequest, page: string, options?: { budgeted?: boolean }): Promise<T>;
  /**
   * Reads `request` and, in the same batch, pages continuing it with the given limits. Resolves with
   * the pages read, in order; the list ends early where a page failed (its Error is last).
   */
  readChain<T = unknown>(request: GraphRequest, followUps: readonly number[], page: string): Promise<Array<T | Error>>;
  /** Most pages one `readChain` may ask for, so as to fit the Page's call rate. */
  readonly maxChainLength: number;
  /** Ends the operation: stops its deadline timer. */
  dispose(): void;
}

export interface LoaderOptions {
  scheduler: GraphScheduler;
  tokenForPage: (page: string) => Promise<string>;
  /** Names the caller (a token fingerprint). */
  callerKey: string;
  usage: UpstreamUsage;
  /** The HTTP request's signal: aborts when the client disconnects. */
  requestSignal?: AbortSignal | undefined;
  /** Time the operation may wait for the Graph API, retries included. */
  timeoutMs: number;
}

/**
 * One per operation (never shared: DataLoader caches answers, errors included, for its lifetime).
 * Identical reads in the operation are made once; the reads asked for in the same tick leave
 * together, as one Graph batch request, through the process-wide scheduler. The operation stops
 * waiting at its deadline or when its client disconnects; the scheduler then drops its queued reads.
 */
export function createGraphReadLoader(options: LoaderOptions): GraphReadLoader {
  const { scheduler, tokenForPage, callerKey, usage, requestSignal, timeoutMs } = options;
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

  const loader = new DataLoader<GraphRead, unknown, string>(
    (reads) => scheduler.readMany(reads, { usage, deadline, signal: arm().controller.signal }),
    { cacheKeyFn: (read) => scheduler.keyOf(read) },
  );

  const load = async (read: GraphRead): Promise<unknown> => {
    const { stopped } = arm();
    try {
      return await Promise.race([loader.load(read), stopped]);
    } catch (error) {
      // A failed read may succeed when asked again later in the same operation (graphql/dataloader#258).
      loader.clear(read);
      throw error;
    }
  };

  return {
    maxChainLength: scheduler.maxCallsPerRead,
    async read<T>(request: GraphRequest, page: string, readOptions: { budgeted?: boolean } = {}): Promise<T> {
      const token = await tokenForPage(page);
      return (await load({ request, token, page: readOptions.budgeted === false ? undefined : page, caller: callerKey })) as T;
    },
    async readChain<T>(request: GraphRequest, followUps: readonly number[], page: string): Promise<Array<T | Error>> {
      const token = await tokenForPage(page);
      return (await load({ request, token, page, caller: callerKey, followUps })) as Array<T | Error>;
    },
    dispose() {
      if (watch === undefined) return;
      clearTimeout(watch.timer);
      requestSignal?.removeEventListener('abort', watch.onDisconnect);
    },
  };
}
