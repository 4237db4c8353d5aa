/**
 * The gateway's HTTP server. It reads each request body itself before handing the request to yoga:
 * yoga's adapter then takes the body as a string (the path it keeps for frameworks that parse bodies
 * first) instead of piping a stream per request, a visible share of a request's CPU under load.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Largest request body accepted. A GraphQL document past the token limit is far smaller. */
export const MAX_REQUEST_BODY_BYTES = 512 * 1024;

type NodeHandler = (request: IncomingMessage & { body?: string }, response: ServerResponse) => unknown;

export function createGatewayServer(handler: NodeHandler): Server {
  return createServer((request: IncomingMessage & { body?: string }, response) => {
    if (request.method !== 'POST') {
      void handler(request, response);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        response.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        response.end(JSON.stringify({ errors: [{ message: `Request body larger than ${MAX_REQUEST_BODY_BYTES} bytes`, extensions: { code: 'REQUEST_TOO_LARGE' } }] }));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (response.headersSent) return;
      const body = Buffer.concat(chunks).toString('utf8');
      // An empty body stays unset: yoga reports the missing query itself.
      if (body !== '') request.body = body;
      void handler(request, response);
    });
    request.on('error', () => response.destroy());
  });
}
