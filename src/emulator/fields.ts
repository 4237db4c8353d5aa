/**
 * Graph's `fields=` grammar with field expansion (Meta: Field Expansion, developers.facebook.com/docs/graph-api/field-expansion):
 * `a,b,edge.limit(N).after(CURSOR){sub,sub2.limit(M){x}}`. Modifiers are `.name(value)` in any
 * order. This module only checks syntax; which fields and modifiers exist is the schema's business.
 */

/** One requested field, with its modifiers and sub-selection as written. */
export interface FieldSelection {
  readonly name: string;
  /** `[name, value]` pairs in the order written; values are raw text. */
  readonly modifiers: readonly (readonly [string, string])[];
  /** `undefined` when the field had no `{…}` block. */
  readonly children: readonly FieldSelection[] | undefined;
}

/**
 * A `fields` value that does not parse; answered as Graph's code 2500 (Meta: Handling Errors,
 * developers.facebook.com/docs/graph-api/guides/error-handling).
 */
export class FieldsSyntaxError extends Error {
  override readonly name = 'FieldsSyntaxError';
}

/** Nesting deeper than this is refused, so a hostile `fields` cannot exhaust the stack. */
const MAX_NESTING = 32;
/** Parsed `fields` values kept for reuse; benchmarks repeat the same few strings. */
const PARSE_CACHE_SIZE = 512;
const NAME_CHAR = /[A-Za-z0-9_]/;
const INTEGER = /^-?\d+$/;
/** Modifiers whose value must be an integer; a non-integer is a syntax error, not a bad value. */
const INTEGER_MODIFIERS: ReadonlySet<string> = new Set(['limit']);

const parseCache = new Map<string, readonly FieldSelection[] | FieldsSyntaxError>();

/**
 * Parses a `fields` value. Throws {@link FieldsSyntaxError} on unbalanced braces or parentheses,
 * empty names and malformed modifiers. Results are cached and frozen: do not mutate them.
 */
export function parseFields(text: string): readonly FieldSelection[] {
  let parsed = parseCache.get(text);
  if (parsed === undefined) {
    try {
      parsed = new Parser(text).parseAll();
    } catch (error) {
      if (!(error instanceof FieldsSyntaxError)) throw error;
      parsed = error;
    }
    if (parseCache.size >= PARSE_CACHE_SIZE) parseCache.clear();
    parseCache.set(text, parsed);
  }
  if (parsed instanceof FieldsSyntaxError) throw parsed;
  return parsed;
}

/** Writes selections back in the same grammar; `parseFields(serializeFields(x))` equals `x`. */
export function serializeFields(selections: readonly FieldSelection[]): string {
  return selections
    .map((selection) => {
      let out = selection.name;
      for (const [name, value] of selection.modifiers) out += `.${name}(${value})`;
      if (selection.children !== undefined) out += `{${serializeFields(selection.children)}}`;
      return out;
    })
    .join(',');
}

/** The last value written for modifier `name`, if any. */
export function modifierValue(selection: FieldSelection, name: string): string | undefined {
  let value: string | undefined;
  for (const [key, raw] of selection.modifiers) if (key === name) value = raw;
  return value;
}

class Parser {
  #at = 0;
  constructor(private readonly text: string) {}

  parseAll(): readonly FieldSelection[] {
    const list = this.#list(0);
    this.#skipSpace();
    if (this.#at < this.text.length) this.#fail(`Expected end of string instead of "${this.text[this.#at]}".`);
    return Object.freeze(list);
  }

  #list(depth: number): FieldSelection[] {
    if (depth > MAX_NESTING) this.#fail(`Nesting deeper than ${MAX_NESTING} levels.`);
    const list: FieldSelection[] = [];
    for (;;) {
      this.#skipSpace();
      const name = this.#name('Expected name.');
      const modifiers: (readonly [string, string])[] = [];
      while (this.text[this.#at] === '.') {
        this.#at++;
        const modifier = this.#name('Expected modifier name.');
        if (this.text[this.#at] !== '(') this.#fail(`Expected "(" after modifier "${modifier}".`);
        this.#at++;
        const close = this.text.indexOf(')', this.#at);
        if (close < 0) {
          this.#at = this.text.length;
          this.#fail('Expected ")" instead of end of string.');
        }
        const value = this.text.slice(this.#at, close);
        if (value === '') this.#fail(`Expected a value for modifier "${modifier}".`);
        if (INTEGER_MODIFIERS.has(modifier) && !INTEGER.test(value))
          this.#fail(`Expected an integer for modifier "${modifier}" instead of "${value}".`);
        modifiers.push(Object.freeze([modifier, value] as const));
        this.#at = close + 1;
      }
      this.#skipSpace();
      let children: FieldSelection[] | undefined;
      if (this.text[this.#at] === '{') {
        this.#at++;
        children = this.#list(depth + 1);
        this.#skipSpace();
        if (this.text[this.#at] !== '}')
          this.#fail(
            this.#at < this.text.length ? `Expected "}" instead of "${this.text[this.#at]}".` : 'Expected "}" instead of end of string.',
          );
        this.#at++;
        this.#skipSpace();
      }
      list.push(Object.freeze({ name, modifiers: Object.freeze(modifiers), children: children && Object.freeze(children) }));
      if (this.text[this.#at] !== ',') return list;
      this.#at++;
    }
  }

  #name(expected: string): string {
    const start = this.#at;
    while (this.#at < this.text.length && NAME_CHAR.test(this.text[this.#at]!)) this.#at++;
    if (this.#at === start) this.#fail(expected);
    return this.text.slice(start, this.#at);
  }

  #skipSpace(): void {
    while (this.text[this.#at] === ' ') this.#at++;
  }

  #fail(reason: string): never {
    throw new FieldsSyntaxError(`Syntax error "${reason}" at character ${this.#at}: ${this.text}`);
  }
}
