import { type DocumentNode, type ExecutionResult, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { GatewayContext } from '../context.js';
import type { GraphRead } from '../graph-api/read.js';
import type { ReadCache } from '../graph-api/read-cache.js';

export interface ResponseCacheOptions {
  readCache: ReadCache;
  /** Answers kept (one per viewer, document, operation and variables). */
  maxEntries: number;
  /** Most bytes of answers kept: their JSON length, twice (UTF-16 strings). @default 32 MiB */
  maxBytes?: number;
}

/**
 * Answers an operation a viewer repeats (an inbox UI polling) with the answer it got last time, without
 * executing it again, as long as every Graph read that answer was built from would still be served fresh
 * by the read cache for that viewer: the same webhook events, max age and proofs decide, so this adds no
 * staleness of its own. Only queries whose every read the read cache keeps are kept; never an answer with
 * errors, stale data or fields that change without a read (`callBudget`).
 */
export function useResponseCache(options: ResponseCacheOptions): Plugin<GatewayContext> {
  const { readCache } = options;
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  const answers = new LRUCache<string, { data: NonNullable<ExecutionResult['data']>; reads: readonly GraphRead[] }>({
    max: Math.max(1, options.maxEntries),
    maxSize: options.maxBytes ?? 32 * 1024 * 1024,
  });

  type Kept = { key: string; data: NonNullable<ExecutionResult['data']>; reads: readonly GraphRead[] };
  /** Answers to keep once their size is known, by the request they answer. */
  const unsized = new WeakMap<Request, Kept[]>();
  const keep = ({ key, data, reads }: Kept, jsonLength: number): void => {
    // Too big for the cache: not kept.
    const size = 2 * (key.length + jsonLength);
    if (size <= answers.maxSize) answers.set(key, { data, reads }, { size });
  };
  // An answer is weighed by the length of the response that carries it (yoga has measured it to send it), not by
  // serializing it a second time (the inbox's first page: about 100 KB of JSON, 5 % of an answer's CPU). What no
  // response carries on this turn of the event loop (an operation over a WebSocket) is serialized to be weighed.
  const weighLater = (request: Request | undefined, kept: Kept): void => {
    if (request === undefined) {
      keep(kept, JSON.stringify(kept.data).length);
      return;
    }
    const waiting = unsized.get(request);
    if (waiting === undefined) unsized.set(request, [kept]);
    else waiting.push(kept);
    setImmediate(() => {
      const left = unsized.get(request);
      if (left?.includes(kept) !== true) return;
      left.splice(left.indexOf(kept), 1);
      keep(kept, JSON.stringify(kept.data).length);
    });
  };

  // Off (no fresh reads to build on, or no room): no hook at all, so execution pays nothing for it.
  if (options.maxEntries === 0 || !readCache.servesFresh) return {};
  return {
    onResponse({ request, response }) {
      const waiting = unsized.get(request);
      if (waiting === undefined) return;
      unsized.delete(request);
      // Bytes of UTF-8: at least the JSON's length in characters, so never an answer weighed lighter than it is.
      const length = Number(response.headers.get('content-length'));
      for (const kept of waiting) keep(kept, Number.isFinite(length) && length > 0 ? length : JSON.stringify(kept.data).length);
    },
    // Synchronous unless an answer is kept: a miss (the uncached path) costs no promise.
    onExecute({ args, setResultAndStopExecution }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return undefined;
      const context = args.contextValue as GatewayContext;
      let documentId = documentIds.get(args.document);
      if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
      const key = `${context.callerKey}\n${documentId}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`;
      const keepAnswer = {
        onExecuteDone({ result }: { result: ExecutionResult | AsyncIterable<unknown> }) {
          if (Symbol.asyncIterator in result || result.errors !== undefined || result.data == null) return;
          if (
            context.staleAnswers.length > 0 ||
            context.answer.volatile ||
            context.readsMade.length === 0 ||
            !readCache.keeps(context.readsMade)
          )
            return;
          weighLater((args.contextValue as { request?: Request }).request, { key, data: result.data, reads: [...context.readsMade] });
        },
      };
      const kept = answers.get(key);
      if (kept === undefined) return keepAnswer;
      return readCache.servedFresh(kept.reads).then((fresh) => {
        if (!fresh) {
          answers.delete(key);
          return keepAnswer;
        }
        context.usage.cached += kept.reads.length;
        setResultAndStopExecution({ data: kept.data });
        return undefined;
      });
    },
  };
}
