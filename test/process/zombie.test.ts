// A process that ended but is not reaped yet (a zombie) is not alive: kill(pid, 0) still succeeds
// on it, and a child of a killed parent waits that way until init reaps it.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPidAlive } from '../../dist/internal/for-tests.js';

const stateOf = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2];
  } catch {
    return undefined;
  }
};

it('isPidAlive: true for a running process, false once it is a zombie (ended, not reaped)', {
  skip: process.platform !== 'linux' && 'needs /proc (Linux)',
}, async (t) => {
  // sh starts `sleep 0` and becomes `sleep 10`, which never reaps it: a zombie until sleep 10 ends.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => parent.kill('SIGKILL'));
  const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
  assert.ok(pid > 0);
  assert.equal(isPidAlive(parent.pid!), true, 'the running parent');
  const deadline = Date.now() + 10_000;
  while (stateOf(pid) !== 'Z' && Date.now() < deadline) await sleep(5);
  assert.equal(stateOf(pid), 'Z', 'the child is a zombie');
  let signalled = true;
  try {
    process.kill(pid, 0);
  } catch {
    signalled = false;
  }
  assert.equal(signalled, true, 'kill(pid, 0) still succeeds on it');
  assert.equal(isPidAlive(pid), false);
});
