/**
 * The entry point of a process pool's child: the shared worker loop over the IPC channel.
 *
 * A pool child never outlives its parent (as a Process child does, see src/process/child.ts):
 * the IPC channel closing ends it, and a watchdog thread ends it when the parent is gone while a
 * task blocks the event loop and 'disconnect' cannot fire.
 */
import { Worker } from 'node:worker_threads';
import { markThreadkitChild, setCurrentProcess } from '../process/current.ts';
import { enableCache, warmUp } from '../internal/warm.ts';
import type { FromPoolWorker, ToPoolWorker } from './protocol.ts';
import { startWorkerLoop } from './worker-loop.ts';

markThreadkitChild();
enableCache();

const parentPid = process.ppid;
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const cell = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(cell, 0, 0, 200);
  if (process.ppid !== workerData.parentPid) process.kill(process.pid, 'SIGKILL');
}`;
new Worker(WATCHDOG, { eval: true, workerData: { parentPid }, stdout: false, stderr: false }).unref();
process.on('disconnect', () => process.exit(process.exitCode ?? 1));

const send = (message: FromPoolWorker) => {
  if (process.connected) process.send!(message);
};
const onMessage = startWorkerLoop('process', send, (name) =>
  setCurrentProcess({
    name,
    pid: process.pid,
    daemon: true,
    postMessage() {
      throw new TypeError('currentProcess().postMessage() works only inside a threadkit Process, not in a pool task; return the value instead.');
    },
  }),
);
// Listen at once (nothing is lost), but start working once threadkit is loaded for the tasks.
const warm = warmUp();
process.on('message', (message: ToPoolWorker) => void warm.then(() => onMessage(message)));
