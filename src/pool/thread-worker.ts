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
import { bootWorker } from '../workers/boot.ts';
import { Handoff, HANDOFF_BYTES } from './handoff.ts';
import { TaskJournal } from './task-journal.ts';
import type { ToPoolWorker } from './worker-messages.ts';
import { afterTurn, startWorkerLoop, turnIsOver } from './worker-loop.ts';

const booted = bootWorker({ warm: true });
const port = parentPort!;
/** The hand-off slot (handoff.ts), from the `init` message. */
let handoff: Handoff | undefined;
const loop = startWorkerLoop(
  'thread',
  (message) => {
    if (message.type === 'results' && handoff?.offerResult(message.r, message.us)) return;
    port.postMessage(message);
    if (message.type === 'results') handoff?.resultsSent();
  },
  () => {},
);

/** A message taken off the port while the slot was watched: it comes after the slot's task, if one came too. */
let next: ToPoolWorker | undefined;
const messageComing = () => {
  const m = receiveMessageOnPort(port);
  if (m) next = m.message as ToPoolWorker;
  return m !== undefined;
};

/**
 * Handles `message`, then, while the loop is idle, watches the slot and the port for a moment
 * (handoff.ts): a task sent within it is picked up in about a microsecond.
 */
function onMessage(message: ToPoolWorker): void {
  const began = performance.now();
  if (message.type === 'init' && message.handoff instanceof Int32Array) {
    const { buffer, byteOffset } = message.handoff;
    handoff = new Handoff(buffer, byteOffset);
    loop.useJournal(new TaskJournal(buffer, byteOffset + HANDOFF_BYTES));
  } else if (message.type === 'run') handoff?.taskMessage();
  loop.onMessage(message);
  if (handoff) watch(began);
}

/** Runs what comes through the slot or the port while it is idle; past the turn's budget (worker-loop.ts), lets its event loop turn, then watches on. */
function watch(began = performance.now()): void {
  for (let taken = 0; loop.idle(); taken++) {
    if (turnIsOver(began, taken)) return afterTurn(watch);
    const b = handoff!.nextTask(messageComing);
    if (b) loop.onMessage({ type: 'run', b });
    if (next) {
      const m = next;
      next = undefined;
      loop.onMessage(m);
    } else if (!b) return;
  }
}
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
port.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
