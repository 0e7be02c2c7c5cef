/**
 * The entry point of a thread pool's worker thread: the shared worker loop over `parentPort`.
 * `workerData` carries the runtime slot (as every threadkit worker's does), so locks held by a
 * task on this thread are poisoned for their waiters if the pool terminates the thread.
 */
import { parentPort } from 'node:worker_threads';
import { enableCache, warmUp } from '../internal/warm.ts';
import type { ToPoolWorker } from './protocol.ts';
import { startWorkerLoop } from './worker-loop.ts';

enableCache();
const port = parentPort!;
const onMessage = startWorkerLoop(
  'thread',
  (message) => port.postMessage(message),
  () => {},
);
// Listen at once (nothing is lost), but start working once threadkit is loaded for the tasks.
const warm = warmUp();
port.on('message', (message: ToPoolWorker) => void warm.then(() => onMessage(message)));
