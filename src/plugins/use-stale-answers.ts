import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';

/**
 * Adds `extensions.stale: [{ path, fetchedAt, retryAfterSeconds }]` to a response that answered some fields
 * from the cache because Graph could not be called for their Page (a throttle block, or a queue that would
 * have outlasted the operation): a UI can say "updated 40 s ago" instead of showing an error. Adds
 * `extensions.missingSources: [{ pageId, platform, code, retryAfterSeconds }]` to one where `Viewer.inbox` answered
 * without some of its sources.
 */
export function useStaleAnswers(): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as GatewayContext;
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const { staleAnswers, missingSources } = context;
          if (staleAnswers.length === 0 && missingSources.length === 0) return;
          setResult({
            ...result,
            extensions: {
              ...result.extensions,
              ...(staleAnswers.length === 0 ? {} : { stale: staleAnswers }),
              ...(missingSources.length === 0 ? {} : { missingSources }),
            },
          });
        },
      };
    },
  };
}
