/**
 * How many subscriptions an instance holds: one count for both transports (server-sent events, through
 * plugins/use-subscription-caps.ts; graphql-ws, through websocket.ts), capped in all (MAX_SUBSCRIPTIONS)
 * and per client address (MAX_SUBSCRIPTIONS_PER_CLIENT). A subscription past a cap is refused before it
 * starts with `TOO_MANY_SUBSCRIPTIONS`; its transport gives the slot back when it ends, however it ends.
 */
import type { GraphQLError } from 'graphql';
import { DEFAULT_CONFIG } from './config.js';
import { gatewayError } from './gateway-errors.js';

/** Which cap refused a subscription (`extensions.per`). */
export type SubscriptionCapScope = 'connection' | 'client' | 'instance';

export interface SubscriptionCapsOptions {
  /** Subscriptions the instance holds at once, every transport and client together. @default 10000 (MAX_SUBSCRIPTIONS) */
  maxSubscriptions?: number | undefined;
  /** Subscriptions one client address holds at once. @default 100 (MAX_SUBSCRIPTIONS_PER_CLIENT) */
  maxSubscriptionsPerClient?: number | undefined;
}

/** A subscription's place in the count; `release` gives it back (once: calling it again does nothing). */
export interface SubscriptionSlot {
  release(): void;
}

export interface SubscriptionCaps {
  /** A slot for a new subscription of `client` (see {@link clientAddressOf}), or the error refusing it. */
  take(client: string): SubscriptionSlot | GraphQLError;
  /** Subscriptions held now. */
  readonly size: number;
  /** Subscriptions `client` holds now. */
  heldBy(client: string): number;
}

/** The error refusing a subscription past the cap of `per`, which is `max`. */
export function tooManySubscriptions(per: SubscriptionCapScope, max: number): GraphQLError {
  const message = {
    connection: `This connection holds ${max} subscriptions, the most allowed: complete one first, or open another connection.`,
    client: `Your address holds ${max} subscriptions, the most one client may hold: complete one first.`,
    instance: `This instance holds ${max} subscriptions, the most it serves: subscribe again later.`,
  }[per];
  return gatewayError('TOO_MANY_SUBSCRIPTIONS', message, { maxSubscriptions: max, per });
}

/**
 * The client a socket speaks for, as the caps count it: its remote address (an IPv4 address in IPv6 form
 * as IPv4, so one client is one key whichever way it connects). Behind a reverse proxy every client has
 * the proxy's address.
 */
export function clientAddressOf(socket: { readonly remoteAddress?: string | undefined }): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be an integer of at least 1, got ${value}`);
  return value;
}

/** The instance's subscription caps; give the same one to the app (server-sent events) and the WebSocket server. */
export function createSubscriptionCaps(options: SubscriptionCapsOptions = {}): SubscriptionCaps {
  const max = positiveInteger('maxSubscriptions', options.maxSubscriptions ?? DEFAULT_CONFIG.maxSubscriptions);
  const perClient = positiveInteger(
    'maxSubscriptionsPerClient',
    options.maxSubscriptionsPerClient ?? DEFAULT_CONFIG.maxSubscriptionsPerClient,
  );
  const byClient = new Map<string, number>();
  let size = 0;
  return {
    take(client) {
      const held = byClient.get(client) ?? 0;
      if (held >= perClient) return tooManySubscriptions('client', perClient);
      if (size >= max) return tooManySubscriptions('instance', max);
      byClient.set(client, held + 1);
      size += 1;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          size -= 1;
          const left = (byClient.get(client) ?? 1) - 1;
          if (left === 0) byClient.delete(client);
          else byClient.set(client, left);
        },
      };
    },
    get size() {
      return size;
    },
    heldBy: (client) => byClient.get(client) ?? 0,
  };
}
