/**
 * Where a download runs — the one place that knows about workers. Each model starts one job and
 * gives back its result and a way to stop it:
 * - `inline`: a task on this event loop (all downloads share the main thread; sockets and files
 *   are asynchronous, so this is concurrent without any worker).
 * - `thread`: a threadkit `Thread` per file (a worker thread; async targets may share one).
 * - `process`: a threadkit `Process` per file, the seed's model: its own pid, memory and event loop.
 *
 * The worker side is `downloadInWorker` in worker-target.ts, which posts the job's events to us
 * as messages and returns the `DownloadResult`.
 *
 * Light to import (args.ts names the models from here): the downloader, threadkit's `Thread`
 * and `Process` and the worker target are imported by `createBackend`, for the model asked for.
 */
import { DownloadError, toErrorInfo } from './errors.ts';
import type { DownloadEvent, DownloadJob, DownloadResult, EmitEvent } from './messages.ts';

export const WORKER_MODELS = ['inline', 'thread', 'process'] as const;
export type WorkerModel = (typeof WORKER_MODELS)[number];

/**
 * Measured fastest: 8 x 256 MiB from nginx over loopback on 2 cores took inline 2.8-3.4 s
 * (0.5 s of user CPU), thread 3.0-3.5 s (0.8-1.1 s: the worker's start-up and messages),
 * process 10-20 s (a Node start per file), and wget2 3.5-4.2 s. Downloads wait on sockets and
 * disks; the lean HTTP client leaves the main thread idle enough that workers add only cost.
 * Again with the reused read buffers (connection.ts): inline 1.55-1.7 s, thread 1.8-2.0 s,
 * wget2 1.15 s. Note that `thread` puts all 8 async download Threads on one carrier (they share
 * it while they await), so it is inline plus messages; a Thread per file on a carrier of its
 * own (a non-async target) was no better, 1.8 s, for the 7 isolates it boots. What is left
 * against wget2 is the second core: inline does every read and write on one thread (about
 * 1.7 s of CPU), wget2 spreads the same work over both. A prototype with two lanes of 4
 * downloads, each on its own worker thread, took 1.27-1.36 s.
 */
export const DEFAULT_WORKER_MODEL: WorkerModel = 'inline';

export interface RunningDownload {
  /** Settles (never rejects) when the job has ended, however it ended. */
  readonly result: Promise<DownloadResult>;
  /** Stops the job; its `.part` stays for `--continue`, its result says `interrupted`. */
  cancel(): void;
}

export interface WorkerBackend {
  start(job: DownloadJob, emit: EmitEvent): RunningDownload;
}

export async function createBackend(model: WorkerModel): Promise<WorkerBackend> {
  if (model === 'inline') return inlineBackend();
  // Loaded only when asked for, so that `inline` runs never load the worker machinery.
  const [{ Process, Thread }, { downloadInWorker }] = await Promise.all([import('threadkit'), import('./worker-target.ts')]);
  return {
    start(job, emit) {
      let cancelled = false;
      const options = { target: downloadInWorker, args: [job] as [DownloadJob], name: `download-${job.id}` };
      const worker = model === 'thread' ? new Thread(options) : new Process(options);
      worker.on('message', (event: DownloadEvent) => emit(event));
      worker.start();
      const result = worker.join().then((): DownloadResult => {
        const r = worker.result;
        if (worker.exitCode === 0 && r) return r;
        const pid = worker instanceof Process && worker.pid ? worker.pid : process.pid;
        const threadId = worker instanceof Thread && worker.threadId ? worker.threadId : 0;
        const error = cancelled
          ? new DownloadError('TK_DL_INTERRUPTED', 'interrupted; run again with -c to resume')
          : new DownloadError('TK_DL_WORKER', `the ${model} running the download died (exit code ${worker.exitCode}): ${errorText(worker.error)}`);
        return failedResult(job, cancelled ? 'interrupted' : 'failed', error, pid, threadId);
      });
      return {
        result,
        cancel() {
          cancelled = true;
          worker.terminate();
        },
      };
    },
  };
}

/** Downloads as tasks of this event loop; the names being written are shared by this run's downloads (they share this thread). */
async function inlineBackend(): Promise<WorkerBackend> {
  const { downloadFile } = await import('./downloader.ts');
  const names = new Map<string, number>();
  return {
    start(job, emit) {
      const controller = new AbortController();
      return { result: downloadFile(job, { emit, signal: controller.signal, names }), cancel: () => controller.abort() };
    },
  };
}

/** The result of a job that never ran, or whose worker died before returning one. */
export function failedResult(job: DownloadJob, status: 'failed' | 'interrupted', error: DownloadError, pid = process.pid, threadId = 0): DownloadResult {
  return {
    id: job.id,
    url: job.url,
    status,
    bytes: 0,
    received: 0,
    resumedFrom: 0,
    seconds: 0,
    attempts: 0,
    pid,
    threadId,
    error: toErrorInfo(error),
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return err === undefined ? 'no error was reported' : String(err);
}
