import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';

/** Request header that asks for the upstream cost in the response `extensions`. */
export const USAGE_HEADER = 'x-upstream-usage';

export interface UpstreamUsageOptions {
  /**
   * Report on every response, not only those that send `x-upstream-usage: 1`.
   * @default false
   */
  always?: boolean;
}

/**
 * Adds `extensions.upstream { requests, calls, coalesced }` to a response: the Graph HTTP requests
 * and billed calls the operation cost, and the reads it shared with concurrent operations.
 */
export function useUpstreamUsage(options: UpstreamUsageOptions = {}): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as GatewayContext & { request?: Request };
      const asked = context.request?.headers.get(USAGE_HEADER);
      if (!options.always && (asked === null || asked === undefined || asked === '0' || asked === 'false')) return;
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          setResult({ ...result, extensions: { ...result.extensions, upstream: { ...context.usage } } });
        },
      };
    },
  };
}
