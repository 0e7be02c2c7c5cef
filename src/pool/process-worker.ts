/**
 * The entry point of a process pool's child: the shared worker loop (worker-loop.ts) over the
 * IPC channel. A pool child never outlives its parent (see src/process/die-with-parent.ts).
 *
 * It listens at once (nothing is lost) and handles messages once booted (src/workers/boot.ts);
 * the loop says `ready` after the pool's initializer has run.
 */
import { add, load, type Cell } from '../internal/atomics.ts';
import { attach } from '../internal/shm.ts';
import { markThreadkitChild, setCurrentProcess } from '../process/current.ts';
import { dieWithParent } from '../process/die-with-parent.ts';
import { bootWorker } from '../workers/boot.ts';
import { TASK_STRIDE, type FromPoolWorker, type ToPoolWorker } from './worker-messages.ts';
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
/**
 * How long a child that has just gone idle keeps its core busy before it sleeps in the event
 * loop. On a machine whose cores go idle, waking a sleeping process costs 60-150 µs, paid twice
 * per round trip (the write that wakes it takes ~11 µs of the sender's time as well); a child
 * still spinning when the next batch comes sees its doorbell (worker-messages.ts) and goes back
 * to its event loop, where the message is already waiting. Bounded, and only after work: an
 * idle pool spins nowhere. (A child cannot read the IPC channel synchronously, hence the bell.)
 */
const SPIN_MS = 0.05;
/**
 * Only after a batch of at most this many tasks: a caller awaiting one result at a time sends
 * those. A pool pushing many tiny tasks sends large batches, and there a spinning child would take
 * CPU its parent needs to send the next one.
 */
const SPIN_AFTER_TASKS = 4;
/** `run` messages received, against the bell's count of those sent. */
let runs = 0;
/** The last batch was small enough to spin after. */
let small = false;

function onMessage(message: ToPoolWorker): void {
  if (message.type === 'run') {
    runs++;
    small = message.b.length <= SPIN_AFTER_TASKS * TASK_STRIDE;
  } else if (message.type === 'init' && message.bell && !(message.bell instanceof Int32Array)) {
    const { path, size, byteOffset } = message.bell;
    bell = new Int32Array(attach({ path, size }), byteOffset, 2);
  }
  loop.onMessage(message);
  if (!bell || !small || !loop.idle()) return;
  const until = performance.now() + SPIN_MS;
  while (load(bell, 0) === runs && performance.now() < until);
}
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
process.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
