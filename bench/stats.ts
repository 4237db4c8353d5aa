/**
 * The tools' statistics and report tables, shared by `npm run bench`, `npm run fleet` and `npm run soak`:
 * one percentile, one median, one Markdown table, one list of counts.
 */

/**
 * The value at fraction `p` (0 to 1) of `values` once sorted, nearest rank from below: 0.5 is the median
 * (the lower one for an even count), 1 the maximum. `NaN` when there are no values. `values` is not modified.
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

/** The middle value of `values` (the upper one for an even count): what the benchmark reports over its rounds. */
export function median(values: readonly number[]): number {
  return [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? Number.NaN;
}

/** A Markdown table, columns padded; the first row is the header. */
export function table(data: readonly (readonly string[])[]): string {
  const widths = data[0]!.map((_, col) => Math.max(...data.map((row) => row[col]!.length)));
  const line = (row: readonly string[]): string => `| ${row.map((cell, col) => cell.padEnd(widths[col]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(data[0]!), rule, ...data.slice(1).map(line)].join('\n');
}

/** Counts by key, largest first, one indented line each (`(none)` when empty). */
export function countList(counts: ReadonlyMap<string, number>): string {
  return (
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([key, n]) => `    ${String(n).padStart(7)}  ${key}`)
      .join('\n') || '    (none)'
  );
}
