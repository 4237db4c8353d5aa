/**
 * The README's tables printed from code: each between two markers, so a script rewrites it in place and a
 * test compares it with its source (the configuration table: src/config.ts; the errors table:
 * src/gateway-errors.ts and src/graph-api/error-rules.ts).
 */
export const README_FILE = new URL('../README.md', import.meta.url);

export interface ReadmeTable {
  readonly start: string;
  readonly end: string;
}

export const CONFIG_TABLE: ReadmeTable = {
  start: '<!-- configuration table: printed by `npm run config:table` from src/config.ts -->',
  end: '<!-- end of configuration table -->',
};

export const ERROR_TABLE: ReadmeTable = {
  start: '<!-- errors table: printed by `npm run errors:table` from src/gateway-errors.ts and src/graph-api/error-rules.ts -->',
  end: '<!-- end of errors table -->',
};

/** The README's `table` as it stands; `undefined` when its markers are missing. */
export function readmeTableOf(readme: string, { start, end }: ReadmeTable): string | undefined {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  return from < 0 || to < from ? undefined : readme.slice(from + start.length, to).trim();
}

/** The README with `content` between the markers of `table`. */
export function withReadmeTable(readme: string, { start, end }: ReadmeTable, content: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no table markers ${start} … ${end}`);
  return `${readme.slice(0, from + start.length)}\n${content}\n${readme.slice(to)}`;
}
