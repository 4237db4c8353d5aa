/** Where the README keeps its configuration table: between two markers, so it can be rewritten in place. */
export const README_FILE = new URL('../README.md', import.meta.url);
const START = '<!-- configuration table: printed by `npm run config:table` from src/config.ts -->';
const END = '<!-- end of configuration table -->';

/** The README's table as it stands; `undefined` when the markers are missing. */
export function configTableOf(readme: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  return start < 0 || end < start ? undefined : readme.slice(start + START.length, end).trim();
}

/** The README with `table` between the markers. */
export function withConfigTable(readme: string, table: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no configuration table markers (${START} … ${END})`);
  return `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`;
}
