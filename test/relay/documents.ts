/**
 * The documents an inbox UI built on Relay would write, for Relay's compiler (`npm run relay`), which checks them
 * against `schema.graphql` under Relay's own rules (connections, refetchable fragments, Node) and writes their
 * artifacts to `test/generated/relay`. The tests import those artifacts, as an app compiled with
 * babel-plugin-relay would; nothing here runs.
 */
import { graphql } from 'relay-runtime';

/** The inbox, paginated both ways from wherever it starts, and each conversation's newest messages. */
export const inbox = graphql`
  query RelayInboxQuery($pageId: ID!, $count: Int!, $cursor: String) {
    page(id: $pageId) {
      ...RelayInbox_page @arguments(count: $count, cursor: $cursor)
    }
  }
`;

export const inboxPage = graphql`
  fragment RelayInbox_page on Page
  @refetchable(queryName: "RelayInboxPaginationQuery")
  @argumentDefinitions(
    # No defaultValue on count: Relay fills a null variable with its default, so loadPrevious (which nulls the
    # forward count) would send first: 2 with last, which the gateway refuses (INVALID_PAGINATION, as documented).
    count: { type: "Int" }
    cursor: { type: "String" }
    last: { type: "Int" }
    before: { type: "String" }
  ) {
    name
    conversations(first: $count, after: $cursor, last: $last, before: $before) @connection(key: "RelayInbox_conversations") {
      edges {
        node {
          id
          snippet
          ...RelayThread_conversation
        }
      }
    }
  }
`;

export const thread = graphql`
  fragment RelayThread_conversation on Conversation
  @refetchable(queryName: "RelayThreadPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 2 }, cursor: { type: "String" }) {
    participants {
      name
    }
    messages(first: $count, after: $cursor) @connection(key: "RelayThread_messages") {
      edges {
        node {
          id
          text
        }
      }
    }
  }
`;

/** A reply sent from the thread view: the sent message's edge goes on top of the thread's messages connection. */
export const sendReply = graphql`
  mutation RelaySendReplyMutation($input: SendMessageInput!, $connections: [ID!]!) @raw_response_type {
    sendMessage(input: $input) {
      result {
        __typename
        ... on MessageSent {
          messageEdge @prependEdge(connections: $connections) {
            cursor
            node {
              id
              text
            }
          }
        }
        ... on SendRefusal {
          code
        }
      }
    }
  }
`;
