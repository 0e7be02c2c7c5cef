/**
 * The entry point of a process pool's child: the shared worker loop (worker-loop.ts) over the
 * IPC channel. A pool child never outlives its parent (see src/process/die-with-parent.ts).
 *
 * It listens at once (nothing is lost) and handles messages once booted (src/workers/boot.ts);
 * the loop says `ready` after the pool's initializer has run.
 */
import { add, spinWhileEqual, type Cell } from '../internal/atomics.ts';
import { attach } from '../internal/shm.ts';
import { markThreadkitChild, setCurrentProcess } from '../process/current.ts';
import { dieWithParent } from '../process/die-with-parent.ts';
import { bootWorker } from '../workers/boot.ts';
import { HANDOFF_BATCH_TASKS, HANDOFF_SPIN_MS, TASK_STRIDE, type FromPoolWorker, type ToPoolWorker } from './worker-messages.ts';
import { startWorkerLoop } from './worker-loop.ts';

dieWithParent();
markThreadkitChild();
const booted = bootWorker({ warm: true });

/** The doorbell (worker-messages.ts), from the `init` message; none without /dev/shm. */
let bell: Cell | undefined;
const send = (message: FromPoolWorker) => {
  if (!process.connected) return;
  process.send!(message);
  if (bell && message.type === 'results') add(bell, 1, 1);
};
const loop = startWorkerLoop('process', send, (name) =>
  setCurrentProcess({
    name,
    pid: process.pid,
    daemon: true,
    postMessage() {
      throw new TypeError('currentProcess().postMessage() works only inside a threadkit Process, not in a pool task; return the value instead.');
    },
  }),
);
/** `run` messages received, against the bell's count of those sent. */
let runs = 0;
/** The last batch was small enough to spin after. */
let small = false;

/**
 * A child that has just finished a small batch stays awake (HANDOFF_SPIN_MS) before it sleeps:
 * the pool rings the doorbell (worker-messages.ts) after each batch it sends, and a child that
 * sees it goes back to its event loop, where the message is already waiting. A child cannot read
 * its IPC channel synchronously, hence the bell.
 */
function onMessage(message: ToPoolWorker): void {
  if (message.type === 'run') {
    runs++;
    small = message.b.length <= HANDOFF_BATCH_TASKS * TASK_STRIDE;
  } else if (message.type === 'init' && message.bell && !(message.bell instanceof Int32Array)) {
    const { path, size, byteOffset } = message.bell;
    bell = new Int32Array(attach({ path, size }), byteOffset, 2);
  }
  loop.onMessage(message);
  if (bell && small && loop.idle()) spinWhileEqual(bell, 0, runs, HANDOFF_SPIN_MS);
}
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
process.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
