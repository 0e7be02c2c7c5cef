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
    postMessage: (data) => sendChecked(data, 'currentProcess().postMessage()', () => void send({ type: 'message', id, data }, true)),
  });
  let exitCode = 0;
  if (TRACING) traceRunBegin('process', plan.name);
  try {
    if (needsThreadkit(plan.payload)) await warmUp();
    const value = await (await prepare(plan))();
    await send({ type: 'done', id, ok: true, result: encode(value, 'result', 'process') });
  } catch (err) {
    exitCode = 1;
    process.stderr.write(formatUncaught(`Process ${plan.name}:`, err));
    await send({ type: 'done', id, ok: false, error: encodeThrown(err, 'process') });
  }
  if (TRACING) traceRunEnd('process', exitCode === 0);
  process.exit(exitCode);
}

process.once('message', (message: RunMessage) => void run(message));
void booted.then(() => send({ type: 'ready' }));
