import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';

/**
 * Lists a mutation's typed refusals (a closed messaging window, a person who blocked the Page…) in `errors` too,
 * each with its `extensions.code` and the path of the mutation field: a UI switches on the typed result, a generic
 * client (or a log) on the code. The data stays: the refusal is an answer, not a failure.
 */
export function useRefusalErrors(): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as GatewayContext;
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result || context.refusals.length === 0) return;
          setResult({ ...result, errors: [...(result.errors ?? []), ...context.refusals] });
        },
      };
    },
  };
}
