/**
 * The entry point of every child process: waits for one run, does it, reports back, exits.
 *
 * A child never outlives its parent: the IPC channel closing (parent exited or was killed)
 * ends it, and for a target that blocks the event loop (so 'disconnect' cannot fire) the kernel
 * kills it when the parent dies (or, without the addon, a watchdog thread does).
 */
import { Worker } from 'node:worker_threads';
import { encode, encodeThrown } from '../internal/codec.ts';
import { formatUncaught, prepare } from '../internal/execute.ts';
import type { FromWorker, RunMessage } from '../internal/protocol.ts';
import { addon } from '../internal/shm.ts';
import { enableCache, warmUp } from '../internal/warm.ts';
import { markThreadkitChild, setCurrentProcess } from './current.ts';

markThreadkitChild();
enableCache();
const warm = warmUp();

// The parent says who it is: if it died before this line, process.ppid would already be 1.
const parentPid = Number(process.argv[2]) || process.ppid;

/**
 * The kernel kills this process when its parent dies (prctl PR_SET_PDEATHSIG), even while the
 * target blocks every thread. Without the addon, a watchdog thread polls the parent pid.
 */
function dieWithParent(): void {
  if (addon) {
    if (addon.dieWithParent() !== parentPid) process.kill(process.pid, 'SIGKILL');
    return;
  }
  // The watchdog parks on `stop` between checks; exiting wakes it so that it ends at once
  // instead of holding process.exit() until its next check.
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const code = `
const { workerData } = require('node:worker_threads');
const { stop, parentPid } = workerData;
while (Atomics.wait(stop, 0, 0, 200) !== 'ok' && Atomics.load(stop, 0) === 0) {
  if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL');
}`;
  new Worker(code, { eval: true, workerData: { parentPid, stop }, stdout: false, stderr: false }).unref();
  process.on('exit', () => {
    Atomics.store(stop, 0, 1);
    Atomics.notify(stop, 0);
  });
}
dieWithParent();

process.on('disconnect', () => process.exit(process.exitCode ?? 1));

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}

async function run({ id, plan }: RunMessage): Promise<never> {
  setCurrentProcess({
    name: plan.name,
    pid: process.pid,
    daemon: plan.daemon,
    postMessage: (data) => void send({ type: 'message', id, data }),
  });
  let exitCode = 0;
  try {
    const value = await (await prepare(plan))();
    await send({ type: 'done', id, ok: true, result: encode(value, 'result', 'process', plan.ref?.url) });
  } catch (err) {
    exitCode = 1;
    process.stderr.write(formatUncaught(`Process ${plan.name}:`, err));
    await send({ type: 'done', id, ok: false, error: encodeThrown(err, 'process') });
  }
  process.exit(exitCode);
}

process.once('message', (message: RunMessage) => void run(message));
void warm.then(() => send({ type: 'ready' }));
