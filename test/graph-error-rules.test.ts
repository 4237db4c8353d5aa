/**
 * The one table of Graph error rules, read by the error mapper, the retry policy, throttle detection
 * and the read cache: each rule as clients see it, and each rule end to end through the gateway.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FALLBACK_RULE,
  GRAPH_CLIENT_CODES,
  GRAPH_ERROR_RULES,
  type GraphClientCode,
  graphErrorRule,
  type GraphErrorRule,
} from '../src/graph-api/error-rules.js';
import { GraphApiError, isThrottleCode } from '../src/graph-api/errors.js';
import { isRetryable } from '../src/graph-api/retry.js';
import { graphErrorCode } from '../src/graph-errors.js';
import { ConversationIdsDocument } from './generated/graphql.js';
import { ACME, startHarness, type Harness } from './support/harness.js';

const errorOf = (code: number, subcode?: number, extra: { status?: number; transient?: boolean } = {}) =>
  new GraphApiError(extra.status ?? 400, {
    message: `(#${code}) test`,
    code,
    ...(subcode === undefined ? {} : { error_subcode: subcode }),
    ...(extra.transient === undefined ? {} : { is_transient: extra.transient }),
  });

describe('the rules, code by code', () => {
  it.each([
    // code, subcode, client code, retried, throttle, judges the caller
    [1, undefined, 'GRAPH_UNAVAILABLE', true, false, false],
    [2, undefined, 'GRAPH_UNAVAILABLE', true, false, false],
    [3, undefined, 'GRAPH_PERMISSION_DENIED', false, false, true],
    [4, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [10, undefined, 'GRAPH_PERMISSION_DENIED', false, false, true],
    [17, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [32, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [100, undefined, 'GRAPH_INVALID_PARAMETER', false, false, false],
    [100, 33, 'GRAPH_NOT_FOUND', false, false, false],
    [100, 2534022, 'GRAPH_INVALID_PARAMETER', false, false, false], // Meta sends 2534022 with code 10 only (a send outside the window)
    [100, 1234, 'GRAPH_INVALID_PARAMETER', false, false, false],
    [102, undefined, 'GRAPH_TOKEN_INVALID', false, false, true],
    [104, undefined, 'GRAPH_TOKEN_MISSING', false, false, true],
    [190, undefined, 'GRAPH_TOKEN_INVALID', false, false, true],
    [190, 460, 'GRAPH_TOKEN_INVALID', false, false, true],
    [190, 463, 'GRAPH_TOKEN_EXPIRED', false, false, true],
    [200, undefined, 'GRAPH_PERMISSION_DENIED', false, false, true],
    [230, undefined, 'GRAPH_MESSAGING_DISALLOWED', false, false, false],
    [283, undefined, 'GRAPH_PERMISSION_DENIED', false, false, true],
    [299, undefined, 'GRAPH_PERMISSION_DENIED', false, false, true],
    [341, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [368, undefined, 'GRAPH_POLICY_BLOCKED', false, false, true],
    [613, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [803, undefined, 'GRAPH_NOT_FOUND', false, false, false],
    [2500, undefined, 'GRAPH_INVALID_PARAMETER', false, false, false],
    [80001, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [80006, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [80007, undefined, 'GRAPH_ERROR', false, false, false],
    [80014, undefined, 'GRAPH_RATE_LIMITED', false, true, false],
    [9007, undefined, 'GRAPH_ERROR', false, false, false],
  ] as const)(
    '(#%i, subcode %s) → %s, retried: %s, throttle: %s, judges the caller: %s',
    (code, subcode, clientCode, retried, throttle, judgesCaller) => {
      const error = errorOf(code, subcode);
      expect([graphErrorCode(error), isRetryable(error), isThrottleCode(code), graphErrorRule(code, subcode).judgesCaller]).toEqual([
        clientCode,
        retried,
        throttle,
        judgesCaller,
      ]);
    },
  );

  it(
    'retries an unknown code only when Graph marks it transient or answers 5xx; never a throttle or a known failure, transient or ' + 'not',
    () => {
      expect(isRetryable(errorOf(9007, undefined, { transient: true }))).toBe(true);
      expect(isRetryable(errorOf(9007, undefined, { status: 503 }))).toBe(true);
      expect(isRetryable(errorOf(9007))).toBe(false);
      expect(isRetryable(errorOf(80006, undefined, { transient: true }))).toBe(false);
      expect(isRetryable(errorOf(368, undefined, { status: 500 }))).toBe(false);
      expect(isRetryable(errorOf(190, 463, { transient: true }))).toBe(false);
    },
  );

  it('holds every rule once, subcode rules under a code rule, and throttles never retried', () => {
    const keys = GRAPH_ERROR_RULES.map(
      (rule) => `${rule.code}${rule.through === undefined ? '' : `-${rule.through}`}/${rule.subcode ?? '*'}`,
    );
    expect(keys.length).toBeGreaterThan(0);
    expect(new Set(keys).size).toBe(keys.length);
    for (const rule of GRAPH_ERROR_RULES) {
      expect(graphErrorRule(rule.code, rule.subcode)).toBe(
        rule.through === undefined || rule.code !== 200 ? rule : graphErrorRule(rule.code),
      );
      if (rule.subcode !== undefined) expect(graphErrorRule(rule.code)).not.toBe(FALLBACK_RULE);
      if (rule.throttle) expect([rule.clientCode, rule.retry]).toEqual(['GRAPH_RATE_LIMITED', 'never']);
    }
    expect(GRAPH_ERROR_RULES.filter((rule) => rule.throttle).map((rule) => rule.code)).toEqual([
      4, 17, 32, 341, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014,
    ]);
  });
});

// The README prints these meanings (test/gateway-errors.test.ts keeps it equal to them).
describe("each client code's meaning", () => {
  const causeOf = (clientCode: GraphClientCode): string => GRAPH_CLIENT_CODES[clientCode];
  const clientCodes = [...new Set(GRAPH_ERROR_RULES.map((rule) => rule.clientCode))];

  it.each(clientCodes)('lists exactly the Graph codes of %s', (clientCode) => {
    const codes = GRAPH_ERROR_RULES.filter((rule) => rule.clientCode === clientCode)
      .map(
        (rule) =>
          `${rule.code}${rule.through === undefined ? '' : `–${rule.through}`}` +
          `${rule.subcode === undefined ? '' : ` / subcode ${rule.subcode}`}`,
      )
      .join(', ');
    expect(causeOf(clientCode)).toMatch(new RegExp(`^Graph ${codes}(?!\\d|, \\d)`));
  });

  it('sends any other code to GRAPH_ERROR', () => {
    expect(causeOf(FALLBACK_RULE.clientCode)).toMatch(/^any other Graph code/);
  });
});

describe('every rule through the gateway', () => {
  let h: Harness;
  beforeAll(async () => {
    // No block after a throttle (the fault sends no estimate of its own), so the next rule's read is made at once.
    h = await startHarness({ emulator: { privacyFiltering: false }, scheduler: { maxAttempts: 3, throttleBlockMs: 0 } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.emulator.faults.clear();
    // The token has read the inbox: each rule meets a read of a known token, not Graph's remembered refusal of a stranger's probe.
    expect((await h.run(ConversationIdsDocument, { pageId: ACME, first: 1 })).errors).toBeUndefined();
    h.emulator.log.clear();
  });

  const cases: GraphErrorRule[] = [...GRAPH_ERROR_RULES.filter((rule) => rule.through === undefined), FALLBACK_RULE];
  it.each(cases.map((rule) => [rule.code === 0 ? 9007 : rule.code, rule.subcode, rule] as const))(
    '(#%i, subcode %s): the client code, and as many calls as the retry policy allows',
    async (code, subcode, rule) => {
      h.emulator.faults.inject(
        { kind: 'graph-error', code, ...(subcode === undefined ? {} : { subcode }) },
        { times: Number.POSITIVE_INFINITY, match: { path: /\/conversations$/ } },
      );
      const result = await h.run(ConversationIdsDocument, { pageId: ACME, first: 1 });
      expect(result.data).toEqual({ page: null });
      expect(result.errors![0]!.extensions).toMatchObject({ code: rule.clientCode, graph: { code, subcode: subcode ?? null } });
      if (rule.throttle) expect(result.errors![0]!.extensions!.retryAfterSeconds).toBe(1);
      expect(h.emulator.log.callCount).toBe(rule.retry === 'always' ? 3 : 1);
    },
  );
});
