import DataLoader from 'dataloader';
import type { GraphRead } from '../graph-api/client.js';
import { OperationAbortedError } from '../graph-api/errors.js';
import type { GraphRequest } from '../graph-api/request.js';
import type { GraphScheduler, ReadContext } from '../graph-api/scheduler.js';

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
}

/**
 * One per operation (never shared: DataLoader caches answers, errors included, for its lifetime).
 * Identical reads in the operation are made once; the reads asked for in the same tick leave
 * together, as one Graph batch request, through the process-wide scheduler.
 */
export function createGraphReadLoader(
  scheduler: GraphScheduler,
  tokenForPage: (page: string) => Promise<string>,
  callerKey: string,
  context: ReadContext & { deadlineSignal?: AbortSignal },
): GraphReadLoader {
  const loader = new DataLoader<GraphRead, unknown, string>((reads) => scheduler.readMany(reads, context), {
    cacheKeyFn: (read) => scheduler.keyOf(read),
  });
  const { signal } = context;
  const stopped = (): OperationAbortedError => new OperationAbortedError(context.deadlineSignal?.aborted ? 'deadline' : 'disconnected');
  const abandoned =
    signal === undefined
      ? undefined
      : new Promise<never>((_resolve, reject) => {
          if (signal.aborted) reject(stopped());
          else signal.addEventListener('abort', () => reject(stopped()), { once: true });
        });
  abandoned?.catch(() => undefined); // Observed by the reads that race it.

  const load = async (read: GraphRead): Promise<unknown> => {
    try {
      const answer = loader.load(read);
      return await (abandoned === undefined ? answer : Promise.race([answer, abandoned]));
    } catch (error) {
      // A failed read may succeed when asked again later in the same operation (graphql/dataloader#258).
      loader.clear(read);
      throw error;
    }
  };

  return {
    maxChainLength: scheduler.maxCallsPerRead,
    async read<T>(request: GraphRequest, page: string, options: { budgeted?: boolean } = {}): Promise<T> {
      const token = await tokenForPage(page);
      return (await load({ request, token, page: options.budgeted === false ? undefined : page, caller: callerKey })) as T;
    },
    async readChain<T>(request: GraphRequest, followUps: readonly number[], page: string): Promise<Array<T | Error>> {
      const token = await tokenForPage(page);
      return (await load({ request, token, page, caller: callerKey, followUps })) as Array<T | Error>;
    },
  };
}
