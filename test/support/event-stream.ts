/**
 * A subscription over server-sent events, opened as GraphiQL opens one (a GET with `Accept: text/event-stream`),
 * shared by every test that listens to `inboxEvents` over HTTP.
 */

export interface EventStream<T> {
  /** The HTTP status the gateway answered the subscription with. */
  status: number;
  /** Resolves with the next `event: next` payload; rejects once the stream ends (a `complete` event is followed by the end). */
  next(): Promise<T>;
  close(): void;
}

export async function openEventStream<T = unknown>(url: string, query: string, token?: string): Promise<EventStream<T>> {
  const controller = new AbortController();
  const response = await fetch(`${url}?${new URLSearchParams({ query })}`, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: controller.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  const payloads: T[] = [];
  const next = async (): Promise<T> => {
    while (payloads.length === 0) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended');
      buffered += value;
      // Events end with a blank line; only `next` events carry a result (`complete` carries an empty `data:`).
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        if (data !== undefined && /^event: next$/m.test(block)) payloads.push(JSON.parse(data) as T);
      }
    }
    return payloads.shift()!;
  };
  return { status: response.status, next, close: () => controller.abort() };
}
