// Pool workers spin briefly after work, and the pool briefly waits for the ring of a lone small batch
// (src/pool/dispatcher.ts, process-worker.ts, thread-worker.ts): tasks sent one at a time, while
// either side spins or after both slept, all run once and in order, and an idle pool burns no CPU.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { ProcessPoolExecutor, ThreadPoolExecutor } from 'threadkit';
import { fail, inc, sleepThen } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, children, rejection, within } from './helpers.ts';

/** User + system CPU time of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
  it(`${Executor.name} runs tasks sent one at a time, whether its workers are still spinning or already asleep`, { timeout: 60_000 }, async () => {
    const ex = new Executor({ maxWorkers: 2, minWorkers: 2 });
    for (let i = 0; i < 300; i++) assert.equal(await within(20_000, ex.submit(inc, i).result()), i + 1);
    // Past the spin: the child sleeps in its event loop and is woken by the message alone.
    for (let i = 0; i < 5; i++) {
      await sleep(5);
      assert.equal(await within(20_000, ex.submit(inc, i).result()), i + 1);
    }
    // Async tasks and errors between sync ones.
    for (let i = 0; i < 20; i++) {
      assert.equal(await within(20_000, ex.submit(sleepThen, 1, i).result()), i);
      assert.equal((await rejection(ex.submit(fail, `no ${i}`).result())).message, `no ${i}`);
      assert.equal(await within(20_000, ex.submit(inc, i).result()), i + 1);
    }
    await within(10_000, ex.shutdown());
    await assertNoLeaks(ex);
  });
}

it('an idle process pool spins nowhere: its children use no CPU between tasks', { timeout: 60_000, skip: process.platform !== 'linux' }, async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
  for (let i = 0; i < 200; i++) await within(20_000, ex.submit(inc, i).result());
  const pids = children();
  assert.ok(pids.length >= 2);
  await sleep(50);
  const before = pids.map(cpuTicks);
  await sleep(500);
  const used = pids.map((pid, i) => cpuTicks(pid) - before[i]!);
  // A spinning child would use ~50 ticks (of 10 ms) in 500 ms; allow a little for its runtime's own timers.
  for (const ticks of used) assert.ok(ticks <= 5, `an idle child used ${ticks} ticks of CPU in 500 ms`);
  await within(10_000, ex.shutdown());
  await assertNoLeaks(ex);
});
