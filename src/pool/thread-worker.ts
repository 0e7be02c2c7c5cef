/**
 * The entry point of a thread pool's worker thread: the shared worker loop (worker-loop.ts) over
 * `parentPort`. `workerData` carries its slot of the thread table (as every threadkit worker's
 * does), so locks held by a task on this thread are poisoned for their waiters if the pool
 * terminates the thread.
 *
 * It listens at once (nothing is lost) and handles messages once booted (src/workers/boot.ts);
 * the loop says `ready` after the pool's initializer has run.
 */
import { parentPort } from 'node:worker_threads';
import { bootWorker } from '../workers/boot.ts';
import type { ToPoolWorker } from './worker-messages.ts';
import { startWorkerLoop } from './worker-loop.ts';

const booted = bootWorker({ warm: true });
const port = parentPort!;
const onMessage = startWorkerLoop(
  'thread',
  (message) => port.postMessage(message),
  () => {},
);
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
port.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
