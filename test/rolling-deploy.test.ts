/**
 * A rolling deploy as an operator runs it: two gateway processes on one Graph API, clients on keep-alive
 * connections behind a balancer that sends to instance A while A's `/health/ready` answers 200, else to B.
 * A gets SIGTERM: it turns unready at once, serves its drain delay with `Connection: close`, then exits; no
 * request fails. And the probes of an instance that starts while the Redis it requires is unreachable.
 */
import { once } from 'node:events';
import { Pool } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEMO, startEmulator } from '../src/emulator/index.js';
import { type GatewayProcess, startGatewayProcess } from './support/gateway-process.js';
import { until } from './support/wait.js';

// Each test starts gateway processes, which compile the sources with tsx first: seconds on a busy machine.
vi.setConfig({ testTimeout: 45_000, hookTimeout: 45_000 });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gateway(env: Record<string, string>): Promise<GatewayProcess> {
  const started = await startGatewayProcess(env);
  cleanups.push(() => started.stop());
  return started;
}

const QUERY = JSON.stringify({ query: `{ page(id: "${DEMO.pages.acme.id}") { name } }` });

/** One answer the clients got: from which instance, and what it said of the connection. */
interface Answer {
  instance: 'A' | 'B';
  status: number;
  connection: string | undefined;
}

describe('a rolling deploy behind a balancer', () => {
  it('loses no request: keep-alive clients move to B while A drains, and A answers what reaches it with Connection: close', async () => {
    const emulator = await startEmulator();
    cleanups.push(() => emulator.close());
    const env = { GRAPH_API_URL: emulator.url, GRAPH_ACCESS_TOKEN: DEMO.tokens.acmePage, GRAPH_PAGE_CALLS_PER_SECOND: '0' };
    const [a, b] = await Promise.all([
      gateway({ ...env, SHUTDOWN_DRAIN_SECONDS: '2' }),
      gateway({ ...env, HOST: '127.0.0.1', SHUTDOWN_DRAIN_SECONDS: '0' }),
    ]);
    expect(b.output()).toContain('Listening on 127.0.0.1 (HOST) only');
    // The balancer's keep-alive connections to each instance.
    const pools = {
      A: new Pool(a.origin, { connections: 4 }),
      B: new Pool(b.origin.replace('localhost', '127.0.0.1'), { connections: 4 }),
    };
    cleanups.push(() => Promise.all([pools.A.close(), pools.B.close()]).then(() => undefined));
    const send = async (instance: 'A' | 'B'): Promise<Answer> => {
      const response = await pools[instance].request({
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: QUERY,
      });
      const body = (await response.body.json()) as { data?: { page: { name: string } } };
      if (body.data?.page.name !== DEMO.pages.acme.name) throw new Error(`${instance} answered ${JSON.stringify(body)}`);
      return { instance, status: response.statusCode, connection: response.headers.connection as string | undefined };
    };

    const answers: Answer[] = [];
    const failures: string[] = [];
    const probes: Array<{ status: number; connection: string | null }> = [];
    let aUnready = false;
    let running = true;
    // The balancer: each request goes to A while A's readiness probe says 200 (a refused probe counts as unready), else to B.
    const client = async (): Promise<void> => {
      while (running) {
        if (!aUnready) {
          const probe = await fetch(`${a.origin}/health/ready`).catch(() => undefined);
          if (probe !== undefined) probes.push({ status: probe.status, connection: probe.headers.get('connection') });
          await probe?.body?.cancel();
          if (probe?.status !== 200) aUnready = true;
        }
        const instance = aUnready ? 'B' : 'A';
        await send(instance).then(
          (answer) => answers.push(answer),
          (error: Error) => failures.push(`${instance}: ${error.message}`),
        );
      }
    };
    const clients = Promise.all([client(), client(), client(), client()]);
    cleanups.push(async () => {
      running = false;
      await clients;
    });
    const servedBy = (instance: 'A' | 'B') => answers.filter((answer) => answer.instance === instance).length;
    await until(() => servedBy('A') >= 20 || failures.length > 0, 'A to serve 20 requests', 20_000);

    const exited = once(a.child, 'exit');
    a.child.kill('SIGTERM');
    await until(() => a.output().includes('SIGTERM: unready'), 'A to turn unready');
    // A request the balancer sent just before it saw A unready: served in full, and the connection closed after it.
    const late = await send('A');
    answers.push(late);
    await until(() => aUnready, 'the balancer to see A unready');
    const servedByB = servedBy('B');
    expect(await exited).toEqual([0, null]);
    await until(() => servedBy('B') >= servedByB + 20 || failures.length > 0, 'B to serve 20 requests more', 20_000);
    running = false;
    await clients;

    expect(failures).toEqual([]);
    expect(late).toEqual({ instance: 'A', status: 200, connection: 'close' });
    // A's connections were kept alive until the signal, and closed after each answer from then on (in the order the answers came).
    const fromA = answers.filter((answer) => answer.instance === 'A').map((answer) => answer.connection);
    expect(fromA.join(',')).toMatch(/^(keep-alive,){20,}(close,)*close$/);
    // The probes that found A unready closed their connections too.
    const unready = probes.filter((probe) => probe.status !== 200);
    expect(unready.length).toBeGreaterThan(0);
    expect(unready).toEqual(unready.map(() => ({ status: 503, connection: 'close' })));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(a.output()).toContain(
      'SIGTERM: unready (/health/ready answers 503); serving 2 s more, each answer with Connection: close, while load balancers move ' +
        'away (SHUTDOWN_DRAIN_SECONDS; SIGTERM again exits at once)',
    );
    expect(a.output()).toContain('SIGTERM: shutting down; no request in flight (SIGTERM again exits at once)');
  });
});

describe('probes of an instance that starts while the Redis it requires is unreachable', () => {
  it('is live, not ready (redis-unreachable), and spends 1/FLEET_SIZE_HINT of the rate', async () => {
    const started = await gateway({
      EMULATOR_PORT: '0',
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_REQUIRED: 'true',
      FLEET_SIZE_HINT: '4',
    });
    const probe = async (path: string) => {
      const response = await fetch(`${started.origin}${path}`);
      return { status: response.status, body: await response.json() };
    };
    expect(await probe('/health/live')).toEqual({ status: 200, body: { status: 'live' } });
    expect(await probe('/health/ready')).toEqual({ status: 503, body: { status: 'unready', reason: 'redis-unreachable' } });
    expect(await probe('/health')).toEqual({
      status: 200,
      body: { status: 'degraded', redis: 'degraded', since: expect.any(String), liveInstances: null, callsPerSecond: 0.5 },
    });
  });
});
