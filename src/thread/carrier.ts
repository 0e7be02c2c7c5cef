/**
 * The entry point of a carrier: a worker thread that runs many Threads, each as its own async
 * task with its own context (name, ident, abort signal), the way virtual threads share carrier
 * threads. A Thread whose target blocks synchronously keeps its carrier to itself: the carrier
 * says it is `ready` for another only once the target has yielded to the event loop.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { encode, encodeThrown } from '../internal/codec.ts';
import { prepare } from '../internal/execute.ts';
import type { FromWorker, RunMessage, ToWorker } from '../internal/protocol.ts';
import { newTaskId, taskStorage } from '../internal/runtime.ts';
import { enableCache, needsThreadkit, warmUp } from '../internal/warm.ts';
import { setCurrentProcess } from '../process/current.ts';
import { threadContext, type ThreadInfo } from './current.ts';
import { TRACING, traceRunBegin, traceRunSettled } from '../trace/hooks.ts';

const port = parentPort!;
enableCache();

// This worker belongs to the process that started it: currentProcess() says so here too.
const owner = (workerData as { process: { name: string; daemon: boolean } }).process;
setCurrentProcess({
  ...owner,
  pid: process.pid,
  postMessage() {
    throw new TypeError('currentProcess().postMessage() is not available inside a Thread; use currentThread().postMessage() to reach the Thread object.');
  },
});
const running = new Map<number, AbortController>();
const post = (message: FromWorker) => port.postMessage(message);

async function runOne({ id, plan }: RunMessage): Promise<void> {
  let call: () => unknown;
  try {
    if (needsThreadkit(plan.payload)) await warmUp();
    call = await prepare(plan);
  } catch (err) {
    post({ type: 'ready' });
    post({ type: 'done', id, ok: false, error: encodeThrown(err, 'thread') });
    return;
  }
  const controller = new AbortController();
  running.set(id, controller);
  const info: ThreadInfo = {
    name: plan.name,
    ident: id,
    threadId,
    daemon: plan.daemon,
    signal: controller.signal,
    postMessage: (data) => post({ type: 'message', id, data }),
  };
  let pending: unknown;
  if (TRACING) traceRunBegin(id, plan.name, id);
  taskStorage.run(newTaskId(), () =>
    threadContext.run(info, () => {
      try {
        pending = call();
      } catch (err) {
        pending = Promise.reject(err);
      }
    }),
  );
  if (TRACING) pending = traceRunSettled(id, pending);
  // The target has run up to its first await: this carrier's event loop is free again.
  post({ type: 'ready' });
  try {
    const value = await pending;
    post({ type: 'done', id, ok: true, result: encode(value, 'result', 'thread') });
  } catch (err) {
    post({ type: 'done', id, ok: false, error: encodeThrown(err, 'thread') });
  } finally {
    running.delete(id);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'run') void runOne(message);
  else running.get(message.id)?.abort(new Error('The Thread was terminated by its parent.'));
});

// Ready at once: a first target that imports threadkit loads it anyway, and an idle spare
// finishes warming up before it is needed. A carrier booted for a Thread that waits for it
// skips the warm-up, which would hold that Thread's run until all of threadkit had loaded.
post({ type: 'ready' });
if ((workerData as { spare?: boolean }).spare !== false) void warmUp();
