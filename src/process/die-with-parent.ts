/**
 * A child process never outlives its parent, however the parent ends. The parent passes its pid
 * as the child's first argument (by the time the child runs, `process.ppid` may already be 1).
 *
 * - The IPC channel closing (parent exited or was killed) fires 'disconnect': the child exits.
 * - A target that blocks the event loop cannot see that event, so the kernel is asked to kill
 *   the child when the parent dies (prctl PR_SET_PDEATHSIG, through the native addon), or,
 *   without the addon, a watchdog thread polls the parent's pid.
 */
import { builtin } from '../internal/builtin.ts';
import { notify, store } from '../internal/atomics.ts';
import { addon } from '../internal/shm.ts';

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { stop, parentPid } = workerData;
while (Atomics.wait(stop, 0, 0, 200) !== 'ok' && Atomics.load(stop, 0) === 0) {
  if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL');
}`;

export function dieWithParent(): void {
  const parentPid = Number(process.argv[2]) || process.ppid;
  process.on('disconnect', () => process.exit(process.exitCode ?? 1));
  if (addon) {
    if (addon.dieWithParent() !== parentPid) process.kill(process.pid, 'SIGKILL');
    return;
  }
  // The watchdog parks on `stop` between checks; exiting wakes it so that it ends at once
  // instead of holding process.exit() until its next check. (WATCHDOG is eval'd source in its
  // own thread, so it calls Atomics itself; this side goes through internal/atomics.ts.)
  const stop = new Int32Array(new SharedArrayBuffer(4));
  new (builtin('node:worker_threads').Worker)(WATCHDOG, { eval: true, workerData: { parentPid, stop }, stdout: false, stderr: false }).unref();
  process.on('exit', () => {
    store(stop, 0, 1);
    notify(stop, 0);
  });
}
