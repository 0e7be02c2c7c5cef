// No orphans: when a parent dies, its children do not run on.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { descendants, waitUntilGone } from '../helpers/processes.ts';
import { within } from '../helpers/deadline.ts';

const PARENT = fileURLToPath(new URL('../fixtures/parent-program.ts', import.meta.url));
const RUNTIME = new URL('../../dist/internal/for-tests.js', import.meta.url).href;
/** Every process the cases killed, with its descendants: none may leave a /dev/shm file behind for good. */
const killed: number[] = [];

async function startParent(env: NodeJS.ProcessEnv, when: string) {
  const parent = spawn(process.execPath, [PARENT, when], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let out = '';
  parent.stdout.setEncoding('utf8');
  await within(20_000, new Promise<void>((resolve) => parent.stdout.on('data', (d) => (out += d) && out.includes('\n') && resolve())), 'the parent program');
  const started = JSON.parse(out.trim()) as number[];
  return { parent, started, all: descendants(parent.pid!) };
}

const cases = [
  { signal: 'SIGKILL', when: 'running', how: 'the kernel (parent-death signal)', env: {} },
  { signal: 'SIGTERM', when: 'running', how: 'the kernel (parent-death signal)', env: {} },
  { signal: 'SIGKILL', when: 'early', how: 'the kernel (parent-death signal)', env: {} },
  { signal: 'SIGKILL', when: 'running', how: 'the watchdog thread (no native addon)', env: { THREADKIT_NO_ADDON: '1' } },
  { signal: 'SIGKILL', when: 'early', how: 'the watchdog thread (no native addon)', env: { THREADKIT_NO_ADDON: '1' } },
] as const;

for (const { signal, when, how, env } of cases) {
  const moment = when === 'early' ? 'while its children still boot' : 'while its children run';
  it(`leaves no child process running after the parent is killed with ${signal} ${moment}, even one blocking its event loop, through ${how}`, async () => {
    const { parent, started, all } = await startParent(env, when);
    killed.push(parent.pid!, ...all);
    assert.equal(started.length, 3);
    for (const pid of started) assert.ok(all.includes(pid), `child ${pid} should be a descendant`);
    parent.kill(signal);
    await once(parent, 'exit');
    const survivors = await waitUntilGone(all, 5_000);
    assert.deepEqual(survivors, [], `children still running after the parent died: ${survivors.join(', ')}`);
  });
}

it('removes the /dev/shm files of the killed parents when the next threadkit program starts its runtime', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.THREADKIT_RUNTIME; // a program of its own, not a child of this one
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', `(await import(${JSON.stringify(RUNTIME)})).startRuntime();`], {
    env,
    timeout: 20_000,
  });
  const left = readdirSync('/dev/shm').filter((name) => killed.includes(Number(/^threadkit-(\d+)-/.exec(name)?.[1])));
  assert.deepEqual(left, []);
});
