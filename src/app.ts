import { useGraphQlJit } from '@envelop/graphql-jit';
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { createContext, type ContextDependencies, type GatewayContext } from './context.js';
import { toClientError } from './graph-errors.js';
import { useMetrics } from './plugins/use-metrics.js';
import { useUpstreamUsage } from './plugins/use-upstream-usage.js';
import { schema } from './schema/index.js';

export const GRAPHIQL_DEFAULT_QUERY = /* GraphQL */ `# The embedded emulator's demo Page. Try folder: OTHER, platform: INSTAGRAM,
# or paste pageInfo.endCursor into \`after\` to read the next page.
query Inbox {
  page(id: "1000000001") {
    name
    conversations(first: 10, folder: INBOX, platform: MESSENGER) {
      edges {
        cursor
        node {
          id
          updatedTime
          snippet
          unreadCount
          participants { name username }
          messages(first: 3) {
            edges { node { createdTime text from { name username } } }
          }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
`;

export interface AppOptions extends ContextDependencies {
  /** Production hides error details and GraphiQL's dev helpers. */
  production: boolean;
}

/** Builds the GraphQL server (a fetch handler; `main.ts` puts it on a port). */
export function createApp(options: AppOptions): YogaServerInstance<Record<string, unknown>, GatewayContext> {
  return createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { defaultQuery: GRAPHIQL_DEFAULT_QUERY, title: 'Page inbox gateway' },
    context: ({ request }) => createContext(options, request),
    plugins: [
      // Compiled execution: about twice graphql-js's speed on inbox-sized results (stack-notes.md).
      useGraphQlJit(),
      useUpstreamUsage({ always: !options.production }),
      useMetrics(),
    ],
    maskedErrors: {
      isDev: !options.production,
      maskError: (error, message, isDev) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        return toClientError(original, error instanceof GraphQLError ? error : undefined) ?? maskError(error, message, isDev);
      },
    },
  });
}
