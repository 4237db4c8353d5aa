import { createLruCache } from './lru-caches.js';

/**
 * Remembers the answers of a pure function of a string, for hashes computed over and over on the hot
 * path (token fingerprints, cursor scopes): the `max` most recently used answers are kept.
 */
export function remembered<T extends NonNullable<unknown>>(max: number, compute: (key: string) => T): (key: string) => T {
  const answers = createLruCache<string, T>(max);
  return (key) => {
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = compute(key);
      answers.set(key, answer);
    }
    return answer;
  };
}
