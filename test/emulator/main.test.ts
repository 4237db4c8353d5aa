/** `npm run emulator`: the emulator as its own process, as strict as the embedded one `npm start` runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { appSecretProofOf } from '../../src/emulator/auth.js';
import { DEMO } from '../../src/emulator/index.js';
import { getJson, query, type GraphErrorEnvelope } from './graph-client.js';

const running: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(
    running.splice(0).map(async (child) => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }),
  );
});

/** Starts `src/emulator/main.ts` on a free port; resolves with its origin once it prints it. */
function startEmulatorProcess(env: Record<string, string> = {}): Promise<{ url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/main.ts'], {
    env: { PATH: process.env.PATH, EMULATOR_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve({ url: match[1]!, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${output}`)));
  });
}

const TOKEN = DEMO.tokens.acmePage;
/** The demo app's proof of the Acme Page token, which the emulator requires. */
const PROOF = appSecretProofOf(DEMO.appSecret, TOKEN);

/** Three conversation calls on one Page at once: the statuses, in order. */
async function threeCalls(url: string): Promise<number[]> {
  const read = () =>
    getJson<GraphErrorEnvelope>(
      `${url}/v25.0/${DEMO.pages.acme.id}/conversations?${query({ access_token: TOKEN, appsecret_proof: PROOF, limit: 1 })}`,
    );
  const answers = await Promise.all([read(), read(), read()]);
  return answers.map((answer) => (answer.status === 200 ? 200 : (answer.body.error.code ?? 0)));
}

describe('npm run emulator', () => {
  it("enforces Meta's 2 conversation calls per Page per second by default, logging no token", async () => {
    const emulator = await startEmulatorProcess();
    expect(emulator.output()).toContain('2 conversation calls per Page per second');
    expect((await threeCalls(emulator.url)).sort()).toEqual([200, 200, 613]);
    for (const token of Object.values(DEMO.tokens)) expect(emulator.output()).not.toContain(token);
  });

  it('takes another rate, or none, from EMULATOR_CALLS_PER_SECOND', async () => {
    const unlimited = await startEmulatorProcess({ EMULATOR_CALLS_PER_SECOND: '0' });
    expect(await threeCalls(unlimited.url)).toEqual([200, 200, 200]);
  });

  it("requires appsecret_proof, with the demo app's secret", async () => {
    const emulator = await startEmulatorProcess();
    const page = (params: Record<string, string>) =>
      getJson<GraphErrorEnvelope>(
        `${emulator.url}/v25.0/${DEMO.pages.acme.id}?${query({ access_token: TOKEN, fields: 'name', ...params })}`,
      );
    expect((await page({})).body.error).toMatchObject({
      message: 'API calls from the server require an appsecret_proof argument',
      type: 'GraphMethodException',
      code: 100,
    });
    expect((await page({ appsecret_proof: 'f'.repeat(64) })).body.error).toMatchObject({
      message: 'Invalid appsecret_proof provided in the API argument',
      code: 100,
    });
    expect((await page({ appsecret_proof: PROOF })).status).toBe(200);
    expect(emulator.output()).toContain("appsecret_proof: required, with the demo app's secret");
  });

  it('takes a daily allowance per Page from EMULATOR_DAILY_CALLS: past it, 80006', async () => {
    const emulator = await startEmulatorProcess({ EMULATOR_CALLS_PER_SECOND: '0', EMULATOR_DAILY_CALLS: '2' });
    expect(emulator.output()).toContain('2 calls per Page per 24 hours (EMULATOR_DAILY_CALLS)');
    expect(await threeCalls(emulator.url)).toEqual([200, 200, 80006]);
  });

  it('refuses a rate that is not a whole number', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/main.ts'], {
      env: { PATH: process.env.PATH, EMULATOR_PORT: '0', EMULATOR_CALLS_PER_SECOND: 'fast' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain('EMULATOR_CALLS_PER_SECOND must be an integer from 0 to 1000, got "fast"');
  });
});
