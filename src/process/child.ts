/**
 * The entry point of every child process: waits for one run, does it, reports back, exits.
 * Python's `multiprocessing.spawn._main`.
 *
 * Start-up, as every worker entry's: listen at once, boot (src/workers/boot.ts), then say
 * `ready` (the parent counts a child as booted from then on). It never outlives its parent
 * (see die-with-parent.ts).
 */
import { encode, encodeThrown } from '../internal/codec.ts';
import { sendChecked } from '../queue/item-codec.ts';
import { formatUncaught, prepare } from '../internal/execute.ts';
import type { FromWorker, RunMessage } from '../internal/run-messages.ts';
import { needsThreadkit, warmUp } from '../internal/warm.ts';
import { bootWorker } from '../workers/boot.ts';
import { markThreadkitChild, setCurrentProcess } from './current.ts';
import { dieWithParent } from './die-with-parent.ts';
import { TRACING, traceRunBegin, traceRunEnd } from '../trace/hooks.ts';

dieWithParent();
markThreadkitChild();
// Only a spare has idle time to load the rest of threadkit; a child whose run is on its way
// (argv: parent pid, role) starts its target first and loads what that target imports.
const booted = bootWorker({ warm: process.argv[3] === 'spare' });

/** Sends `message` to the parent; settles once it is written. With `throwNow`, one that cannot be copied throws here, at once. */
function send(message: FromWorker, throwNow = false): Promise<void> {
  if (!process.connected) return Promise.resolve();
  const { promise, resolve } = Promise.withResolvers<void>();
  try {
    process.send!(message, undefined, {}, () => resolve());
  } catch (err) {
    if (throwNow) throw err;
    return Promise.reject(err);
  }
  return promise;
}

async function run({ id, plan }: RunMessage): Promise<never> {
  setCurrentProcess({
    name: plan.name,
    pid: process.pid,
    daemon: plan.daemon,
    postMessage: (data) => sendChecked(data, 'currentProcess().postMessage()', 'process', () => void send({ type: 'message', id, data }, true)),
  });
  if (TRACING) traceRunBegin('process', plan.name);
  let ended = false;
  /** Ends the run with `err` as the target's error, once, however it came (a throw, a timer's, a promise's). */
  const fail = async (err: unknown): Promise<never> => {
    if (!ended) {
      ended = true;
      process.stderr.write(formatUncaught(`Process ${plan.name}:`, err));
      try {
        await send({ type: 'done', id, ok: false, error: encodeThrown(err, 'process') });
      } finally {
        if (TRACING) traceRunEnd('process', false);
        process.exit(1);
      }
    } else process.stderr.write(formatUncaught(`Process ${plan.name} (after it ended):`, err));
    return new Promise<never>(() => {}); // the first way out is exiting
  };
  // An error thrown from a timer or a promise of the target ends it as a throw does (Node would
  // exit 1 with it, and the parent's `error` would say nothing), as in a Thread — unless the
  // target listens for such errors itself: then they are its to handle, as in a program.
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.on(event, (err: unknown) => {
      if (process.listenerCount(event) === 1) void fail(err);
    });
  }
  let value: unknown;
  try {
    if (needsThreadkit(plan.payload)) await warmUp();
    value = await (await prepare(plan))();
  } catch (err) {
    return fail(err);
  }
  if (ended) return new Promise<never>(() => {});
  ended = true;
  try {
    await send({ type: 'done', id, ok: true, result: encode(value, 'result', 'process') });
  } catch (err) {
    ended = false;
    return fail(err);
  }
  if (TRACING) traceRunEnd('process', true);
  // A target that set process.exitCode ends with it, as the program would.
  process.exit(Number(process.exitCode ?? 0) || 0);
}

process.once('message', (message: RunMessage) => void run(message));
void booted.then(() => send({ type: 'ready' }));
