/**
 * The baseline: a bare node:http + undici proxy that serves the same Graph page as the benchmark's
 * 25-conversation query, with no GraphQL at all. Prints its URL as one JSON line.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = process.env.GRAPH_API_URL!;
const token = process.env.GRAPH_ACCESS_TOKEN!;
const path = process.env.BARE_PROXY_PATH!;
const pool = new Pool(upstream, { connections: 32 });

const server = createServer((_request, response) => {
  pool
    .request({ method: 'GET', path, headers: { authorization: `Bearer ${token}` } })
    .then(async (upstreamResponse) => {
      // Parse and re-serialise, as any real proxy that reshapes data would.
      const body = JSON.stringify(await upstreamResponse.body.json());
      response.writeHead(upstreamResponse.statusCode, { 'content-type': 'application/json' });
      response.end(body);
    })
    .catch((error: unknown) => {
      response.writeHead(502);
      response.end(String(error));
    });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/` }));
});
process.once('SIGTERM', () => {
  server.close();
  void pool.close().then(() => process.exit(0));
});
