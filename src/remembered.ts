/**
 * Remembers the answers of a pure function of a string, for hashes computed over and over on the hot
 * path (token fingerprints, cursor scopes). Past `max` keys everything is forgotten at once: the keys
 * in use are few, and a bound matters more than keeping the warmest ones.
 */
export function remembered<T>(max: number, compute: (key: string) => T): (key: string) => T {
  const answers = new Map<string, T>();
  return (key) => {
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = compute(key);
      if (answers.size >= max) answers.clear();
      answers.set(key, answer);
    }
    return answer;
  };
}
