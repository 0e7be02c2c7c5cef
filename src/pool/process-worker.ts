/**
 * The entry point of a process pool's child: the shared worker loop (worker-loop.ts) over the
 * IPC channel. A pool child never outlives its parent (see src/process/die-with-parent.ts).
 *
 * It listens at once (nothing is lost) and handles messages once booted (src/workers/boot.ts);
 * the loop says `ready` after the pool's initializer has run.
 */
import { load } from '../internal/atomics.ts';
import { attach } from '../internal/shm.ts';
import { markThreadkitChild, setCurrentProcess } from '../process/current.ts';
import { dieWithParent } from '../process/die-with-parent.ts';
import { bootWorker } from '../workers/boot.ts';
import { Handoff, HANDOFF_BYTES, TASK_BELL } from './handoff.ts';
import { TaskJournal } from './task-journal.ts';
import { HANDOFF_BATCH_TASKS, TASK_STRIDE, type FromPoolWorker, type ToPoolWorker } from './worker-messages.ts';
import { afterTurn, startWorkerLoop, turnIsOver } from './worker-loop.ts';

dieWithParent();
markThreadkitChild();
const booted = bootWorker({ warm: true });

/** The hand-off slot (handoff.ts), from the `init` message; none without /dev/shm. */
let handoff: Handoff | undefined;
const send = (message: FromPoolWorker) => {
  if (!process.connected) return;
  if (message.type === 'results' && handoff?.offerResult(message.r, message.us)) return;
  process.send!(message);
  if (message.type === 'results') handoff?.resultsSent();
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
/** `run` messages received, against `TASK_BELL`'s count of those sent. */
let runs = 0;
/** The last batch was small enough to watch the slot after. */
let small = false;
const messageComing = () => load(handoff!.cells, TASK_BELL) !== runs;

/**
 * A child that has just finished a small batch watches its slot (handoff.ts) before it sleeps: the pool passes a lone task through it, and rings `TASK_BELL` after each batch it
 * sends as a message, for which the child goes back to its event loop, where the message is
 * already waiting. A child cannot read its IPC channel synchronously, hence the bell.
 */
function onMessage(message: ToPoolWorker): void {
  const began = performance.now();
  if (message.type === 'run') {
    runs = (runs + 1) | 0; // as TASK_BELL wraps
    handoff?.taskMessage();
    small = message.b.length <= HANDOFF_BATCH_TASKS * TASK_STRIDE;
  } else if (message.type === 'init' && message.handoff && !(message.handoff instanceof Int32Array)) {
    const { path, size, byteOffset } = message.handoff;
    const buffer = attach({ path, size });
    handoff = new Handoff(buffer, byteOffset);
    loop.useJournal(new TaskJournal(buffer, byteOffset + HANDOFF_BYTES));
  }
  loop.onMessage(message);
  if (handoff && small) watch(began);
}

/** Runs the tasks that come through the slot while it is idle; past the turn's budget (worker-loop.ts), lets its event loop turn, then watches on. */
function watch(began = performance.now()): void {
  for (let taken = 0; loop.idle() && !messageComing(); taken++) {
    if (turnIsOver(began, taken)) return afterTurn(watch);
    const b = handoff!.nextTask(messageComing);
    if (!b) return;
    loop.onMessage({ type: 'run', b });
  }
}
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
process.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
