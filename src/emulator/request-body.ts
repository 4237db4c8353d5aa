/** Reading a request body as Graph does: form-encoded or JSON, within a size limit. */
import type { IncomingMessage } from 'node:http';
import { invalidParameter } from './errors.js';

/** Request bodies above this size are refused; a full 50-item batch is far below it. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads a form-encoded or JSON body into `take`. Returns a Graph error for a body that is too large
 * or not the JSON object it claims to be; `undefined` when all went well.
 */
export async function readBody(request: IncomingMessage, take: (key: string, value: unknown) => void): Promise<Error | undefined> {
  if (request.method === 'GET' || request.method === 'HEAD') {
    request.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      request.resume();
      return invalidParameter(`Request body larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (isJson(request)) return readJsonBody(text, take);
  for (const [key, value] of new URLSearchParams(text)) take(key, value);
  return undefined;
}

export function isJson(request: IncomingMessage): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().includes('application/json');
}

function readJsonBody(text: string, take: (key: string, value: unknown) => void): Error | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return invalidParameter('Request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalidParameter('Request body must be a JSON object');
  for (const [key, value] of Object.entries(body)) if (value !== null && value !== undefined) take(key, value);
  return undefined;
}
