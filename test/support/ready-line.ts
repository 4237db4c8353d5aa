/**
 * The line `src/main.ts` prints once the gateway listens, as the tests, the benchmarks and the soak read it:
 * group 1 is the GraphQL URL, group 2 its port. Kept apart (no import) so that bench/ and scripts/ can use it too.
 */
export const GATEWAY_READY_LINE = /GraphQL gateway on (http:\/\/localhost:(\d+)\/graphql)/;
