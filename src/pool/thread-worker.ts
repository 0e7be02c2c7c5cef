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
import type { ToPoolWorker } from './worker-messages.ts';
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

/**
 * How long a worker that has just gone idle keeps looking for its next message before it
 * sleeps in the event loop. Waking a sleeping thread on another core costs this machine's kind
 * 50-100 µs; a task sent within the window is picked up in about a microsecond. Bounded, and only
 * after work: an idle pool spins nowhere.
 */
const SPIN_MS = 0.05;

/** Handles `message`, then, while the loop is idle, takes messages straight off the port for up to SPIN_MS. */
function onMessage(message: ToPoolWorker): void {
  if (message.type === 'init' && message.bell instanceof Int32Array) bell = message.bell;
  loop.onMessage(message);
  let until = performance.now() + SPIN_MS;
  while (loop.idle()) {
    const next = receiveMessageOnPort(port);
    if (next) {
      loop.onMessage(next.message as ToPoolWorker);
      until = performance.now() + SPIN_MS;
    } else if (performance.now() >= until) return;
  }
}
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
port.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
