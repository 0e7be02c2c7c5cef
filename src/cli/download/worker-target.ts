/**
 * The targets download workers run. Exported, because a worker finds its target by importing
 * this module.
 * - `downloadInWorker`: one download in a `Process`; it posts the job's events to the parent as
 *   messages and returns the result.
 * - `downloadLane`: a `Thread` that runs many downloads at once, as the command hands them to it.
 */
import { threadId } from 'node:worker_threads';
import { currentProcess, currentThread, type Queue, Thread } from 'threadkit';
import { STOP_SIGNALS } from '../signals.ts';
import { downloadFile } from './downloader.ts';
import { DownloadError } from './errors.ts';
import type { DownloadJob, DownloadResult, LaneOrder, LaneReport } from './messages.ts';
import { failedResult } from './workers.ts';

export async function downloadInWorker(job: DownloadJob): Promise<DownloadResult> {
  const thread = currentThread();
  if (thread.ident) {
    // In a Thread: terminate() aborts its signal, which stops the download and keeps the .part.
    return downloadFile(job, { emit: (e) => thread.postMessage(e), signal: thread.signal });
  }
  // In a Process: the command's cancel is terminate() (SIGTERM), and Ctrl-C or a closed terminal
  // reaches this process too. Each stops the download as an abort does in a Thread, so that the
  // .part is kept and its lock let go; the result says `interrupted`.
  const me = currentProcess();
  const controller = new AbortController();
  const stop = () => controller.abort();
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  try {
    return await downloadFile(job, { emit: (e) => me.postMessage(e), signal: controller.signal });
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
  }
}

/**
 * A download thread (a lane): runs each job its inbox hands it, all at once on this thread's
 * event loop, and posts their events and results to the command; it ends after a `close` order,
 * once its jobs have. Its downloads claim their names with lock files (`PartFile.claim`), which
 * the other lanes and the main thread see.
 * Deliberately not an `async function`: a threadkit Thread with a synchronous target gets a
 * worker thread of its own, so that the lanes download on different cores.
 */
export function downloadLane(inbox: Queue<LaneOrder>, ca: string | null): Promise<void> {
  return runLane(inbox, ca);
}

/**
 * Starts a download thread. Here, not in the caller, so that `start()` finds `downloadLane`'s
 * module on the call stack (the cheap way to know a target's module; see internal/function-site.ts).
 */
export function startLane(inbox: Queue<LaneOrder>, ca: string | null, name: string): Thread {
  const thread = new Thread({ target: downloadLane, args: [inbox, ca], name });
  thread.start();
  return thread;
}

/** `ca`: the run's `--ca-certificate` PEM text, sent once rather than with every job. */
async function runLane(inbox: Queue<LaneOrder>, ca: string | null): Promise<void> {
  const thread = currentThread();
  const post = (report: LaneReport) => thread.postMessage(report);
  const running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  const stopAll = () => {
    for (const r of running.values()) r.controller.abort();
  };
  thread.signal.addEventListener('abort', stopAll, { once: true });
  for (;;) {
    const order = await inbox.get();
    if (order.type === 'close') break;
    if (order.type === 'cancel') {
      running.get(order.id)?.controller.abort();
      continue;
    }
    const job = ca === null ? order.job : { ...order.job, ca };
    const controller = new AbortController();
    if (thread.signal.aborted) controller.abort();
    const done = downloadFile(job, { emit: (event) => post({ type: 'event', event }), signal: controller.signal })
      .catch((err: unknown) =>
        failedResult(job, 'failed', new DownloadError('TK_DL_WORKER', `the download lane failed: ${String(err)}`), process.pid, threadId),
      )
      .then((result: DownloadResult) => {
        running.delete(job.id);
        post({ type: 'result', result });
      });
    running.set(job.id, { controller, done });
  }
  await Promise.all([...running.values()].map((r) => r.done));
}
