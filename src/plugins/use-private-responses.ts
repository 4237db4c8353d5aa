import type { Plugin } from 'graphql-yoga';

/**
 * Marks every GraphQL response `Cache-Control: private, no-store`: answers hold one caller's inbox,
 * which no shared cache (CDN, proxy) may keep or serve to anyone else.
 */
export function usePrivateResponses(): Plugin {
  return {
    onResponse({ response }) {
      response.headers.set('cache-control', 'private, no-store');
    },
  };
}
