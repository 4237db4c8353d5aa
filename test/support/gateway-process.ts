/**
 * The gateway as an operator runs it: `src/main.ts` in a process of its own, on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { GATEWAY_READY_LINE } from './ready-line.js';

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** `http://localhost:<port>/graphql`. */
  readonly url: string;
  /** `http://localhost:<port>`. */
  readonly origin: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, and resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `src/main.ts` with `env` on a free port; resolves once it prints its URL. */
export function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    let started = false;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = started ? null : GATEWAY_READY_LINE.exec(output);
      if (match === null) return;
      started = true;
      resolve({
        child,
        url: match[1]!,
        origin: `http://localhost:${match[2]}`,
        output: () => output,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          await once(child, 'exit');
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${output.slice(-2_000)}`)));
  });
}
