// No orphans: when a parent dies, its children do not run on.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { descendants, shmLeftBy, waitUntilGone } from '../helpers/processes.ts';
import { within } from '../helpers/deadline.ts';

const PARENT = fileURLToPath(new URL('../fixtures/parent-program.ts', import.meta.url));
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
  assert.deepEqual(await shmLeftBy(killed), []);
});
