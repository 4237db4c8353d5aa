import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';

/** Releases an operation's resources (its deadline timer) as soon as it has its result. */
export function useOperationEnd(): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      return {
        onExecuteDone() {
          (args.contextValue as GatewayContext).graph.dispose();
        },
      };
    },
  };
}
