// No orphans: when a parent dies, its children do not run on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { descendants, waitUntilGone } from '../helpers/processes.ts';
import { within } from '../helpers/deadline.ts';

const PARENT = fileURLToPath(new URL('../fixtures/parent-program.ts', import.meta.url));

async function startParent() {
  const parent = spawn(process.execPath, [PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.setEncoding('utf8');
  await within(20_000, new Promise<void>((resolve) => parent.stdout.on('data', (d) => (out += d) && out.includes('\n') && resolve())), 'the parent program');
  const started = JSON.parse(out.trim()) as number[];
  return { parent, started, all: descendants(parent.pid!) };
}

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  it(`leaves no child process running after the parent is killed with ${signal}, even one blocking its event loop`, async () => {
    const { parent, started, all } = await startParent();
    assert.equal(started.length, 3);
    for (const pid of started) assert.ok(all.includes(pid), `child ${pid} should be a descendant`);
    parent.kill(signal);
    await once(parent, 'exit');
    const survivors = await waitUntilGone(all, 5_000);
    assert.deepEqual(survivors, [], `children still running after the parent died: ${survivors.join(', ')}`);
  });
}
