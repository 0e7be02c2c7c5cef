/**
 * The entry point of a thread pool's worker thread: the shared worker loop (worker-loop.ts) over
 * `parentPort`. `workerData` carries its slot of the thread table (as every threadkit worker's
 * does), so locks held by a task on this thread are poisoned for their waiters if the pool
 * terminates the thread.
 *
 * It listens at once (nothing is lost) and handles messages once booted (src/workers/boot.ts);
 * the loop says `ready` after the pool's initializer has run.
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { add, type Cell } from '../internal/atomics.ts';
import { bootWorker } from '../workers/boot.ts';
import { HANDOFF_SPIN_MS, type ToPoolWorker } from './worker-messages.ts';
import { startWorkerLoop } from './worker-loop.ts';

const booted = bootWorker({ warm: true });
const port = parentPort!;
/** The doorbell (worker-messages.ts), from the `init` message: rung after each results message. */
let bell: Cell | undefined;
const loop = startWorkerLoop(
  'thread',
  (message) => {
    port.postMessage(message);
    if (bell && message.type === 'results') add(bell, 1, 1);
  },
  () => {},
);

/** Handles `message`, then, while the loop is idle, takes messages straight off the port for up to HANDOFF_SPIN_MS (worker-messages.ts): a task sent within it is picked up in about a microsecond. */
function onMessage(message: ToPoolWorker): void {
  if (message.type === 'init' && message.bell instanceof Int32Array) bell = message.bell;
  loop.onMessage(message);
  let until = performance.now() + HANDOFF_SPIN_MS;
  while (loop.idle()) {
    const next = receiveMessageOnPort(port);
    if (next) {
      loop.onMessage(next.message as ToPoolWorker);
      until = performance.now() + HANDOFF_SPIN_MS;
    } else if (performance.now() >= until) return;
  }
}
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
port.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
