import { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clientAddressOf, type SubscriptionCaps } from '../subscription-caps.js';

/**
 * Counts subscriptions served over HTTP (server-sent events) in the instance's caps, which WebSockets
 * count in too (websocket.ts). Past a cap a subscription is refused before it starts (no Graph read, no
 * listener), with `TOO_MANY_SUBSCRIPTIONS` as its stream's one result. The client is the address of the
 * request's socket: yoga's node adapter hands the node:http `req` and `res` (http-server.ts) to the
 * context as they are. A subscription's slot is given back when its response closes, which ends it
 * whichever way it ends: the client closes the stream, the subscription completes or fails, or the
 * server drains. Operations on a WebSocket have no `req` and are counted by websocket.ts.
 */
export function useSubscriptionCaps(caps: SubscriptionCaps): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const { req, res } = args.contextValue as { req?: unknown; res?: unknown };
      if (!(req instanceof IncomingMessage) || !(res instanceof ServerResponse)) return;
      const slot = caps.take(clientAddressOf(req.socket));
      if (slot instanceof GraphQLError) {
        setResultAndStopExecution({ errors: [slot] });
        return;
      }
      if (res.closed) slot.release();
      else res.once('close', () => slot.release());
    },
  };
}
