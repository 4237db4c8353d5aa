/**
 * Graph's usage headers (Meta: Rate Limiting, developers.facebook.com/docs/graph-api/overview/rate-limiting): `X-App-Usage`, `X-Page-Usage`
 * (percentages of the
 * allowance, may exceed 100) and `X-Business-Use-Case-Usage` (per business object, with
 * `estimated_time_to_regain_access` in minutes). A missing header means "unknown", not 0.
 */

export interface UsagePercentages {
  callCount?: number;
  totalCputime?: number;
  totalTime?: number;
}

export interface UsageReport {
  app?: UsagePercentages;
  page?: UsagePercentages;
  /** Highest `call_count` (etc.) among the business use cases reported for the Page. */
  businessUseCase?: UsagePercentages;
  /**
   * Longest `estimated_time_to_regain_access` reported, in milliseconds: Graph states it on a throttled answer only, so an
   * answer without it says nothing of a block (the scheduler takes a block's length from the throttled answer itself).
   */
  regainAccessMs?: number;
}

type HeaderLookup = (name: string) => string | undefined;

function percentages(value: unknown): UsagePercentages | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const number = (key: string): number | undefined => (typeof record[key] === 'number' ? (record[key] as number) : undefined);
  const result: UsagePercentages = {};
  const callCount = number('call_count');
  const totalCputime = number('total_cputime');
  const totalTime = number('total_time');
  if (callCount !== undefined) result.callCount = callCount;
  if (totalCputime !== undefined) result.totalCputime = totalCputime;
  if (totalTime !== undefined) result.totalTime = totalTime;
  return result;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // A malformed header is "unknown", never a failure of the call.
  }
}

const max = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/** Reads the usage headers of one answer; `undefined` when it carries none. */
export function parseUsageHeaders(header: HeaderLookup): UsageReport | undefined {
  const report: UsageReport = {};
  const app = percentages(parseJson(header('x-app-usage')));
  const page = percentages(parseJson(header('x-page-usage')));
  if (app) report.app = app;
  if (page) report.page = page;
  const buc = parseJson(header('x-business-use-case-usage'));
  if (typeof buc === 'object' && buc !== null) {
    const merged: UsagePercentages = {};
    for (const entries of Object.values(buc as Record<string, unknown>)) {
      if (!Array.isArray(entries)) continue;
      for (const entry of entries as unknown[]) {
        const usage = percentages(entry);
        if (usage === undefined) continue;
        const callCount = max(merged.callCount, usage.callCount);
        const totalCputime = max(merged.totalCputime, usage.totalCputime);
        const totalTime = max(merged.totalTime, usage.totalTime);
        if (callCount !== undefined) merged.callCount = callCount;
        if (totalCputime !== undefined) merged.totalCputime = totalCputime;
        if (totalTime !== undefined) merged.totalTime = totalTime;
        const minutes = (entry as { estimated_time_to_regain_access?: unknown }).estimated_time_to_regain_access;
        if (typeof minutes === 'number' && minutes >= 0) report.regainAccessMs = Math.max(report.regainAccessMs ?? 0, minutes * 60_000);
      }
    }
    if (Object.keys(merged).length > 0) report.businessUseCase = merged;
  }
  return Object.keys(report).length > 0 ? report : undefined;
}
