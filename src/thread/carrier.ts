/**
 * The entry point of a carrier: a worker thread that runs many Threads, each as its own async
 * task with its own context (name, ident, abort signal), the way virtual threads share carrier
 * threads. A Thread whose target blocks synchronously keeps its carrier to itself: the carrier
 * says it is `ready` for another only once the target has yielded to the event loop.
 *
 * Start-up, as every worker entry's: listen at once, boot (src/workers/boot.ts), then say the
 * first `ready`.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { encode, encodeThrown } from '../internal/codec.ts';
import { sendChecked } from '../queue/item-codec.ts';
import { formatUncaught, prepare } from '../internal/execute.ts';
import { StrayError } from '../errors.ts';
import type { FromWorker, RunMessage, ToWorker } from '../internal/run-messages.ts';
import { newTaskId, taskStorage } from '../internal/runtime.ts';
import { bootWorker } from '../workers/boot.ts';
import { needsThreadkit, warmUp } from '../internal/warm.ts';
import { setCurrentProcess } from '../process/current.ts';
import { threadContext, type ThreadInfo } from './current.ts';
import { TRACING, traceRunBegin, traceRunSettled } from '../trace/hooks.ts';

const port = parentPort!;
const data = workerData as { process: { name: string; daemon: boolean }; spare?: boolean };
// A spare (no Thread waits for it) loads the rest of threadkit before it says it is ready; a
// carrier booted for a Thread that waits for it says ready at once (see src/workers/boot.ts).
const booted = bootWorker({ warm: data.spare !== false });

// This worker belongs to the process that started it: currentProcess() says so here too.
setCurrentProcess({
  ...data.process,
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
    postMessage: (data) => sendChecked(data, 'currentThread().postMessage()', 'thread', () => post({ type: 'message', id, data })),
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
    end(id, () => ({ type: 'done', id, ok: true, result: encode(value, 'result', 'thread') }));
  } catch (err) {
    end(id, () => ({ type: 'done', id, ok: false, error: encodeThrown(err, 'thread') }));
  }
}

/**
 * Reports how Thread `id` ended, once: by its target's outcome, `process.exit`, or a stray error
 * charged to it. A result that cannot cross (a function, a symbol; `encode` says where it sits)
 * ends the Thread with that error instead, as in a Process: the run is already off the books,
 * so nothing else would ever report it, and its `join()` would wait for good.
 */
function end(id: number, message: () => FromWorker): void {
  if (!running.has(id)) return;
  running.delete(id);
  try {
    post(message());
  } catch (err) {
    post({ type: 'done', id, ok: false, error: encodeThrown(err, 'thread') });
  }
}

// `process.exit(n)` inside a Thread ends that Thread with exitCode n (Python's sys.exit in a
// thread), not the worker and every Thread on it. It throws to unwind the target, as SystemExit.
const exitWorker = process.exit.bind(process);
class ThreadExit extends Error {}
process.exit = ((code?: number | string | null) => {
  const info = threadContext.getStore();
  if (!info || !running.has(info.ident)) return exitWorker(code);
  const exitCode = Number(code ?? process.exitCode ?? 0) | 0;
  end(info.ident, () => ({ type: 'done', id: info.ident, ok: true, result: encode(undefined, 'result', 'thread'), exitCode }));
  throw new ThreadExit(`process.exit(${exitCode}) in Thread ${info.name}`);
}) as typeof process.exit;

// An uncaught error from a timer or a promise is charged to the Thread whose context created
// it (the async context survives into the handler). Where there is none, no Thread can be
// blamed alone: every Thread on this worker fails with a StrayError that says so.
function onStray(err: unknown): void {
  if (err instanceof ThreadExit) return;
  const info = threadContext.getStore();
  if (info && running.has(info.ident)) {
    const controller = running.get(info.ident)!;
    end(info.ident, () => ({ type: 'done', id: info.ident, ok: false, error: encodeThrown(err, 'thread') }));
    controller.abort(err);
    return;
  }
  if (info) {
    process.stderr.write(formatUncaught(`Exception in thread ${info.name} (after it ended):`, err));
    return;
  }
  if (running.size === 0) {
    process.stderr.write(formatUncaught('Uncaught error on a Thread worker, outside any Thread:', err));
    return;
  }
  const stray = new StrayError(
    `An uncaught error on the worker thread these Threads share came from code outside every Thread (a module's top level, or a timer or promise it created), so it cannot be charged to one of them: every Thread on that worker fails. The error: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
  for (const [id, controller] of [...running]) {
    end(id, () => ({ type: 'done', id, ok: false, error: encodeThrown(stray, 'thread') }));
    controller.abort(stray);
  }
}
process.on('uncaughtException', onStray);
process.on('unhandledRejection', onStray);

port.on('message', (message: ToWorker) => {
  if (message.type === 'run') void runOne(message);
  else running.get(message.id)?.abort(new Error('The Thread was terminated by its parent.'));
});

void booted.then(() => post({ type: 'ready' }));
