/**
 * The one process launcher of the tools (`npm run bench`, `npm run fleet`, `npm run soak`): spawns an entry
 * point on loopback, resolves once a line of its output matches, keeps the newest lines and the lines that
 * look like trouble, tells a crash from a requested stop, and never leaves a child running after this process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The Node flags `npm run start:prod` runs the gateway with (package.json's script, `node <flags> dist/main.js`), for the
 * tools to measure the process production runs: the gateway's NODE_OPTIONS in `npm run bench`, `npm run soak` and bench/ab.ts.
 */
export const PRODUCTION_NODE_OPTIONS: string = (() => {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  const script = packageJson.scripts['start:prod'] ?? '';
  const flags = /^node ((?:--[\w-]+(?:=\S+)? )*)dist\/main\.js$/.exec(script)?.[1];
  if (flags === undefined) throw new Error(`package.json's start:prod is not "node [--flag …] dist/main.js": "${script}"`);
  return flags.trim();
})();

/** How a launch may differ from the default. */
export interface StartOptions {
  /**
   * Give up (and kill the child) when no line matched within this many milliseconds.
   * @default 60_000
   */
  readonly startupTimeoutMs?: number;
  /** Lines matching this are kept in {@link Launched.trouble} (at most 20, 500 characters each). */
  readonly trouble?: RegExp;
  /** The child's working directory. @default this process's */
  readonly cwd?: string;
}

/** A started process. */
export interface Launched {
  readonly child: ChildProcess;
  /** The match of the ready pattern. */
  readonly match: RegExpExecArray;
  /** Set (to how it exited) when the process exits after it was ready and before {@link Launched.stop} asked it to. */
  readonly crashed: string | undefined;
  /** Output lines that matched {@link StartOptions.trouble}. */
  readonly trouble: readonly string[];
  /** The newest 40 lines of output, for a post-mortem. */
  readonly tail: readonly string[];
  /** SIGTERM, then SIGKILL if the process has not exited within 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 5_000;
const TAIL_LINES = 40;
const MAX_TROUBLE_LINES = 20;

interface Running {
  readonly child: ChildProcess;
  stopping: boolean;
}
const running: Running[] = [];
// Last resort if this process ends another way: a child nobody asked to stop must not outlive it.
process.once('exit', () => {
  for (const state of running) if (!state.stopping) state.child.kill('SIGKILL');
});

/** Calls `onLine` with each complete line of `stream`. */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
}

function stopChild(state: Running): Promise<void> {
  state.stopping = true;
  const { child } = state;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  return exited.finally(() => clearTimeout(timer));
}

/**
 * Starts an entry point (compiled `.js` as in production, else TypeScript through tsx) with only `env` (and PATH)
 * and an IPC channel; resolves with the first match of `pattern` in a line of its output (stdout or stderr);
 * rejects if it exits or stays silent for {@link StartOptions.startupTimeoutMs} first.
 */
export function start(entry: string, env: Record<string, string>, pattern: RegExp, options: StartOptions = {}): Promise<Launched> {
  const args = entry.endsWith('.js') ? [entry] : ['--import', 'tsx', entry];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const state: Running = { child, stopping: false };
  running.push(state);
  const trouble: string[] = [];
  const tail: string[] = [];
  const output = (): string => tail.join('\n');
  let launched: { -readonly [K in keyof Launched]: Launched[K] } | undefined;
  return new Promise((resolve, reject) => {
    const timeoutMs = options.startupTimeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} printed no line matching ${pattern} within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (options.trouble?.test(line) && trouble.length < MAX_TROUBLE_LINES) trouble.push(line.slice(0, 500));
      const match = launched === undefined ? pattern.exec(line) : null;
      if (match === null) return;
      clearTimeout(timer);
      launched = { child, match, crashed: undefined, trouble, tail, stop: () => stopChild(state) };
      resolve(launched);
    };
    eachLine(child.stdout!, onLine);
    eachLine(child.stderr!, onLine);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const how = `exited with ${signal ?? `code ${code}`}`;
      if (launched === undefined) reject(new Error(`${entry} ${how} before it was ready:\n${output()}`));
      else if (!state.stopping) launched.crashed = how;
    });
  });
}

/** Asks every process started to stop (SIGTERM), without waiting. */
export function stopAll(): void {
  for (const state of running) {
    state.stopping = true;
    state.child.kill('SIGTERM');
  }
}
