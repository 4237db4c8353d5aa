/**
 * How a setting's raw text is read (config.ts's table uses these): each parser returns the value or throws an
 * Error whose message says what was expected (`must be …`), which config.ts prefixes with the variable's name.
 * A parser never echoes what may be secret (a Redis URL, a file's content).
 */
import { readFileSync } from 'node:fs';

export function integer(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max) throw new Error(`must be an integer from ${min} to ${max}`);
    return value;
  };
}

/** Whole seconds, read as milliseconds. */
export function seconds(min: number, max: number): (raw: string) => number {
  const read = integer(min, max);
  return (raw) => read(raw) * 1000;
}

export const optionalText = (raw: string): string | undefined => raw;

export function oneOf<const T extends string>(...values: T[]): (raw: string) => T {
  const accepted = values.length === 2 ? values.join(' or ') : `one of ${values.join(', ')}`;
  return (raw) => {
    if (!(values as string[]).includes(raw)) throw new Error(`must be ${accepted}`);
    return raw as T;
  };
}

export const boolean = (raw: string): boolean => oneOf('true', 'false')(raw) === 'true';

/** An http(s) origin: no path, query or credentials. */
export function origin(example: string): (raw: string) => string {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`must be an http(s) URL such as ${example}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`must be an http(s) URL such as ${example}`);
    if (url.pathname !== '/' || url.search !== '' || url.username !== '' || url.password !== '') {
      throw new Error(`must be an origin such as ${example} (no path, query or credentials)`);
    }
    return url.origin;
  };
}

/** `text` with the credentials of every URL in it (`scheme://user:password@`) replaced by `***`: what a configuration error may echo. */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z\d+.-]*:\/\/)[^\s/?#@"]*@/gi, '$1***@');
}

/** A Redis URL; echoed in an error only without its credentials. */
export function redisUrl(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    const got = url === undefined ? 'something else' : `a ${url.protocol} URL`;
    throw new Error(`must be a redis:// or rediss:// URL such as redis://redis:6379, got ${got}`);
  }
  if (!/^\/?(\d+)?$/.test(url.pathname))
    throw new Error(`must name a database by its number, as in redis://redis:6379/0, got "${withoutUrlCredentials(raw)}"`);
  return raw;
}

export const commaList = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** A JSON file holding an object; the file's content is never echoed in an error, as it may hold tokens. */
export function jsonObjectFile(raw: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(raw, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not JSON';
    throw new Error(`must name a readable JSON file (${reason})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must name a JSON file holding an object');
  return parsed as Record<string, unknown>;
}
