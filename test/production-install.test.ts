/**
 * The gateway as production installs it: `npm ci --omit=dev` beside the compiled `dist/`, started with
 * `node dist/main.js` (no TypeScript, no tsx). Fails when a runtime import is only a devDependency.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { ACME } from './support/harness.js';
import { GATEWAY_READY_LINE } from './support/ready-line.js';

const run = promisify(execFile);
const ROOT = process.cwd();
const dir = mkdtempSync(join(tmpdir(), 'production-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Newest modification time under `path`, in ms. */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** `dist/` as `npm run build` left it when it is newer than every source; else built here, apart from the worktree's. */
async function distInto(target: string): Promise<void> {
  const built = join(ROOT, 'dist');
  if (existsSync(join(built, 'main.js')) && newest(built) >= newest(join(ROOT, 'src'))) {
    cpSync(built, join(target, 'dist'), { recursive: true });
    return;
  }
  await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(target, 'dist')], { cwd: ROOT });
}

it('installs with --omit=dev and answers a query from node dist/main.js', { timeout: 120_000 }, async () => {
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(dir, file));
  await Promise.all([
    distInto(dir),
    run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir }),
  ]);
  // A production install: no compiler, no TypeScript runner.
  expect(existsSync(join(dir, 'node_modules', 'typescript'))).toBe(false);
  expect(existsSync(join(dir, 'node_modules', 'tsx'))).toBe(false);

  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0', EMULATOR_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const match = GATEWAY_READY_LINE.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`node dist/main.js exited with ${code}: ${output}`)));
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ page(id: "${ACME}") { name } }` }),
    });
    expect(await response.json()).toEqual({ data: { page: { name: 'Acme Shop' } } });
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
});
