/**
 * Bounded waits for an event, for every test: a condition to hold (`until`) or a promise to settle
 * (`within`). Each fails with what it waited for rather than hang, and none stands in for an event
 * that can be awaited.
 */

/**
 * Resolves once `condition` holds, with the ms it took; fails after `timeoutMs` rather than hang. A condition
 * on this process's state is checked on every turn of the event loop; one that asks elsewhere (a promise), every few ms.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const checked = condition();
    if (typeof checked === 'boolean' ? checked : await checked) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await (typeof checked === 'boolean' ? new Promise(setImmediate) : new Promise((resolve) => setTimeout(resolve, 5)));
  }
}

/** Resolves with the value of `promise`, or fails after `timeoutMs` rather than hang. */
export async function within<T>(timeoutMs: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
