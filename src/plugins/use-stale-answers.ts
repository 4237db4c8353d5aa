import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';

/**
 * Adds `extensions.stale: [{ path, fetchedAt, retryAfterSeconds }]` to a response that answered some fields
 * from the cache because Graph could not be called for their Page (a throttle block, or a queue that would
 * have outlasted the operation): a UI can say "updated 40 s ago" instead of showing an error.
 */
export function useStaleAnswers(): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as GatewayContext;
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result || context.staleAnswers.length === 0) return;
          setResult({ ...result, extensions: { ...result.extensions, stale: context.staleAnswers } });
        },
      };
    },
  };
}
