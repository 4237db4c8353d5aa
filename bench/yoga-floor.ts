/**
 * A second baseline for `npm run bench` and bench/ab.ts: what graphql-yoga itself costs. A yoga server with graphql-jit
 * and no plugins, answering the benchmark's 25-conversation query with the gateway's own answer, prebuilt (given in
 * YOGA_FLOOR_ANSWER_FILE, as the gateway served it): no upstream call, no cache, no cursor, no log line. No gateway
 * built on yoga serves that query faster on this machine, so the gateway's distance to it is what the gateway's own
 * work costs, and its distance to the bare proxy beyond it is yoga's. Prints its URL as one JSON line.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { createSchema, createYoga } from 'graphql-yoga';

const { data } = JSON.parse(readFileSync(process.env.YOGA_FLOOR_ANSWER_FILE!, 'utf8')) as { data: { page: unknown } };
// The fields the benchmark's query asks for, named as the gateway's schema names them; default resolvers read the answer.
const typeDefs = /* GraphQL */ `
  type Participant { graphApiId: String! name: String username: String }
  type Conversation { id: ID! updatedTime: String! snippet: String participants: [Participant!]! }
  type ConversationEdge { cursor: String! node: Conversation! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type ConversationConnection { edges: [ConversationEdge!]! pageInfo: PageInfo! }
  type Page { conversations(first: Int): ConversationConnection! }
  type Query { page(id: ID!): Page }
`;
const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers: { Query: { page: () => data.page } } }),
  plugins: [useGraphQlJit()],
  logging: false,
  landingPage: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql` }));
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
