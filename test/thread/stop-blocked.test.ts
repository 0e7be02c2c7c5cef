// A Thread blocked in a synchronous wait on process-shared memory parks in a futex, where a
// worker cannot be stopped: a terminate()d Thread, a daemon Thread at the program's end and a
// terminated thread pool used to leave the program running for good. Each program here must end
// by itself, well within the exec time limit.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const PROGRAM = fileURLToPath(new URL('../fixtures/blocked-sync.ts', import.meta.url));
const T = { timeout: 60_000 };
// Process-shared memory whatever THREADKIT_MEMORY says: the futex is what this is about.
const env = { ...process.env, THREADKIT_MEMORY: 'process' };
const run = async (...args: string[]) => (await exec(process.execPath, [PROGRAM, ...args], { timeout: 20_000, env })).stdout.trim();

describe('a Thread blocked in a synchronous wait that nothing wakes', () => {
  for (const prim of ['event', 'semaphore', 'condition', 'queue', 'barrier', 'pipe']) {
    it(`terminate() of one blocked in ${prim}: it ends, and so does the program`, T, async () => {
      assert.equal(await run('terminate', prim), `terminate ${prim}: alive false, exit code -15`);
    });
  }
  it('a daemon Thread blocked in Event.waitSync does not keep the program alive', T, async () => {
    assert.equal(await run('daemon', 'event'), 'daemon event: alive true, exit code null');
  });
  it("a thread pool's terminate() ends a worker blocked in Event.waitSync; its task is cancelled", T, async () => {
    assert.match(await run('pool'), /^pool terminated; the task: \w+Error$/);
  });
});
