/**
 * The entry point of a process pool's child: the shared worker loop over the IPC channel.
 *
 * A pool child never outlives its parent (see src/process/die-with-parent.ts).
 */
import { markThreadkitChild, setCurrentProcess } from '../process/current.ts';
import { dieWithParent } from '../process/die-with-parent.ts';
import { enableCache, warmUp } from '../internal/warm.ts';
import type { FromPoolWorker, ToPoolWorker } from './protocol.ts';
import { startWorkerLoop } from './worker-loop.ts';

dieWithParent();
markThreadkitChild();
enableCache();

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
