/**
 * The gateway's HTTP server. It reads each request body itself, capped at MAX_REQUEST_BODY_BYTES,
 * before handing the request to yoga: yoga's adapter then takes the body as a string (the path it
 * keeps for frameworks that parse bodies first) instead of piping a stream per request, a visible
 * share of a request's CPU under load. This cap replaces yoga's own (off in app.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Largest request body accepted. A GraphQL document past the token limit is far smaller. */
export const MAX_REQUEST_BODY_BYTES = 512 * 1024;

type NodeHandler = (request: IncomingMessage & { body?: string }, response: ServerResponse) => unknown;

function refuseTooLarge(request: IncomingMessage, response: ServerResponse): void {
  const body = JSON.stringify({
    errors: [{ message: `Request body larger than ${MAX_REQUEST_BODY_BYTES} bytes.`, extensions: { code: 'REQUEST_TOO_LARGE' } }],
  });
  // The rest of the body is not read: close the connection once the answer is out.
  response.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  response.end(body, () => request.destroy());
}

export interface GatewayServer extends Server {
  /**
   * Stops taking connections and lets the requests in flight finish (each answered with
   * `Connection: close`, so keep-alive clients reconnect to another instance); connections still open
   * after `timeoutMs` are cut. Resolves once every connection is closed.
   */
  drain(timeoutMs: number): Promise<void>;
}

export function createGatewayServer(handler: NodeHandler): GatewayServer {
  let draining = false;
  // Answers not yet sent, to mark them `Connection: close` when draining starts.
  const unanswered = new Set<ServerResponse>();
  const server = createServer((request: IncomingMessage & { body?: string }, response) => {
    if (draining) {
      response.setHeader('connection', 'close');
    } else {
      unanswered.add(response);
      response.once('close', () => unanswered.delete(response));
    }
    if (request.method !== 'POST') {
      void handler(request, response);
      return;
    }
    if (Number(request.headers['content-length'] ?? 0) > MAX_REQUEST_BODY_BYTES) {
      refuseTooLarge(request, response);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        // A chunked body (no Content-Length) that grew past the cap.
        request.off('data', onData);
        refuseTooLarge(request, response);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => {
      if (response.headersSent) return;
      const body = Buffer.concat(chunks).toString('utf8');
      // An empty body stays unset: yoga reports the missing query itself.
      if (body !== '') request.body = body;
      void handler(request, response);
    });
    request.on('error', () => response.destroy());
  });
  return Object.assign(server, {
    drain(timeoutMs: number): Promise<void> {
      draining = true;
      for (const response of unanswered) if (!response.headersSent) response.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
      cut.unref();
      return closed.finally(() => clearTimeout(cut));
    },
  });
}
