/**
 * The entry point of a process pool's child: the shared worker loop (worker-loop.ts) over the
 * IPC channel. A pool child never outlives its parent (see src/process/die-with-parent.ts).
 *
 * It listens at once (nothing is lost) and handles messages once booted (src/workers/boot.ts);
 * the loop says `ready` after the pool's initializer has run.
 */
import { markThreadkitChild, setCurrentProcess } from '../process/current.ts';
import { dieWithParent } from '../process/die-with-parent.ts';
import { bootWorker } from '../workers/boot.ts';
import type { FromPoolWorker, ToPoolWorker } from './worker-messages.ts';
import { startWorkerLoop } from './worker-loop.ts';

dieWithParent();
markThreadkitChild();
const booted = bootWorker({ warm: true });

const send = (message: FromPoolWorker) => {
  if (process.connected) process.send!(message);
};
const { onMessage } = startWorkerLoop('process', send, (name) =>
  setCurrentProcess({
    name,
    pid: process.pid,
    daemon: true,
    postMessage() {
      throw new TypeError('currentProcess().postMessage() works only inside a threadkit Process, not in a pool task; return the value instead.');
    },
  }),
);
// Once booted, messages go straight to the loop; those that came before wait for the boot, in order.
let up = false;
void booted.then(() => (up = true));
process.on('message', (message: ToPoolWorker) => (up ? onMessage(message) : void booted.then(() => onMessage(message))));
