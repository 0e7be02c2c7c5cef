/**
 * Where a download runs — the one place that knows about workers. Each model starts one job and
 * gives back its result and a way to stop it:
 * - `auto` (the default): `inline`, except that a download from byte 0 whose response announces a
 *   large body (64 MiB or more, with more than one download at a time) moves to a download
 *   thread, one per core (see `HandOff` in downloader.ts).
 * - `inline`: a task on this event loop (all downloads share the main thread; sockets and files
 *   are asynchronous, so this is concurrent without any worker).
 * - `thread`: every download on a download thread: a threadkit `Thread` per core (a worker
 *   thread of its own), each running its share of the downloads at once.
 * - `process`: a threadkit `Process` per file, the seed's model: its own pid, memory and event loop.
 *
 * The worker side is in worker-target.ts: `downloadLane` for the threads, `downloadInWorker`
 * for a process; they post the jobs' events to us as messages.
 *
 * Light to import (args.ts names the models from here): the downloader, threadkit and the
 * worker targets are imported by `createBackend`, for the model asked for.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Queue } from 'threadkit';
import { DownloadError, toErrorInfo } from './errors.ts';
import type { DownloadEvent, DownloadJob, DownloadResult, EmitEvent, LaneOrder, LaneReport } from './messages.ts';

export const WORKER_MODELS = ['auto', 'inline', 'thread', 'process'] as const;
export type WorkerModel = (typeof WORKER_MODELS)[number];

/**
 * Measured (8 × 256 MiB and 1000 files of 1-16 KiB from nginx over loopback, 2 cores, round
 * robin with wget2 and curl): the sockets and the writes of one large body keep a core busy (the
 * copies into and out of the kernel), so one thread cannot keep up with wget2, which spreads
 * them over both: inline 1.65-2.9 s, a download thread per core 1.45-1.78 s, wget2 1.22-1.6 s.
 * For small files it is the other way round: creating files in one folder from two threads
 * contends in the kernel, and each file costs messages: inline 0.89-1.05 s, threads 1.2-1.35 s,
 * curl 0.62-0.74 s. Hence `auto`. One download thread per core is the best count (8 × 256 MiB,
 * round robin: 1 thread 2.4-4.5 s, 2 threads 1.43-1.74 s, 3 1.66-1.70 s, 4 1.75-1.99 s, wget2
 * 1.40-1.44 s): more threads than cores only share them with nginx and the kernel's writeback. (Earlier: a Thread per file shared one worker thread, as async
 * targets do, and was inline plus messages; a Process per file pays a Node start per file.)
 */
export const DEFAULT_WORKER_MODEL: WorkerModel = 'auto';

/** `auto`: a body this large moves to a download thread (when more than one download runs at a time). */
export const HAND_OFF_BYTES = 64 * 1024 * 1024;

export interface RunningDownload {
  /** Settles (never rejects) when the job has ended, however it ended. */
  readonly result: Promise<DownloadResult>;
  /** Stops the job; its `.part` stays for `--continue`, its result says `interrupted`. */
  cancel(): void;
}

export interface WorkerBackend {
  start(job: DownloadJob, emit: EmitEvent): RunningDownload;
  /** Lets the workers go, once every job started has ended. */
  close(): Promise<void>;
}

export interface BackendOptions {
  /** How many jobs run at once: `-j`, or fewer when there are fewer URLs. */
  concurrency: number;
  /** The run's `--ca-certificate` PEM text: given to each download thread once, not with every job. */
  ca?: string | undefined;
}

export async function createBackend(model: WorkerModel, { concurrency, ca }: BackendOptions): Promise<WorkerBackend> {
  // One download thread per core, but no more than run at once.
  const threads = Math.max(1, Math.min(availableParallelism(), concurrency));
  if (model === 'inline' || (model === 'auto' && concurrency <= 1)) return inlineBackend();
  if (model === 'auto') return inlineBackend({ threads, ca });
  if (model === 'thread') return laneBackend(threads, ca);
  // Loaded only when asked for, so that `inline` runs never load the worker machinery.
  const [{ Process }, { downloadInWorker }] = await Promise.all([import('threadkit'), import('./worker-target.ts')]);
  return {
    start(job, emit) {
      let cancelled = false;
      const worker = new Process({ target: downloadInWorker, args: [job] as [DownloadJob], name: `download-${job.id}` });
      worker.on('message', (event: DownloadEvent) => emit(event));
      worker.start();
      const result = worker.join().then((): DownloadResult => {
        const r = worker.result;
        if (worker.exitCode === 0 && r) return r;
        const error = cancelled
          ? new DownloadError('TK_DL_INTERRUPTED', 'interrupted; run again with -c to resume')
          : new DownloadError('TK_DL_WORKER', `the process running the download died (exit code ${worker.exitCode}): ${errorText(worker.error)}`);
        return failedResult(job, cancelled ? 'interrupted' : 'failed', error, worker.pid ?? process.pid);
      });
      return {
        result,
        cancel() {
          cancelled = true;
          // SIGTERM: the download stops and lets its .part.lock go (see downloadInWorker); one
          // that has not ended within STOP_GRACE_MS is killed.
          worker.terminate();
          setTimeout(() => worker.kill(), STOP_GRACE_MS).unref();
        },
      };
    },
    async close() {},
  };
}

/** How long a download process has to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5000;

interface LaneJob {
  job: DownloadJob;
  emit: EmitEvent;
  settle(result: DownloadResult): void;
  cancelled: boolean;
  /** The file's name, once a `response` event said it: a job its lane left unfinished names its `.part`. */
  name?: string;
}

interface Lane {
  inbox: Queue<LaneOrder>;
  jobs: Map<number, LaneJob>;
  ended: boolean;
  /** Settles when the lane's Thread has ended; the jobs it still had are then settled as failed. */
  joined: Promise<void>;
}

/** Room in a lane's inbox: every job in flight, its cancel and the close, with URLs up to 8 KiB. */
const inboxBytes = (concurrency: number) => Math.max(1 << 20, concurrency * 2 * 12 * 1024);

/**
 * `count` lanes (Threads with a worker thread each; see `downloadLane`), each running its share
 * of the jobs at once. A job goes to the lane with the fewest jobs; its events and result come
 * back as the lane's messages.
 */
async function laneBackend(count: number, ca: string | undefined): Promise<WorkerBackend> {
  const [{ Queue }, { startLane: startThread }] = await Promise.all([import('threadkit'), import('./worker-target.ts')]);
  const lanes: Lane[] = [];
  const closeAll = async () => {
    for (const lane of lanes) if (!lane.ended) order(lane, { type: 'close' });
    await Promise.all(lanes.map((lane) => lane.joined));
  };
  try {
    for (let i = 0; i < count; i++) lanes.push(startLane(i));
  } catch (err) {
    await closeAll();
    throw err;
  }

  function startLane(i: number): Lane {
    // The lanes are threads of this process: a SharedArrayBuffer serves, where process-shared
    // memory would put a /dev/shm file behind each inbox and wait on the native addon's threads.
    const inbox = new Queue<LaneOrder>({ capacityBytes: inboxBytes(count), name: `download-lane-${i + 1}`, memory: 'thread' });
    const thread = startThread(inbox, ca ?? null, `download-lane-${i + 1}`);
    const jobs = new Map<number, LaneJob>();
    thread.on('message', (report: LaneReport) => {
      if (report.type === 'event') {
        const entry = jobs.get(report.event.id);
        if (entry && report.event.type === 'response') entry.name = report.event.name;
        entry?.emit(report.event);
        return;
      }
      const entry = jobs.get(report.result.id);
      jobs.delete(report.result.id);
      entry?.settle(report.result);
    });
    const lane: Lane = { inbox, jobs, ended: false, joined: Promise.resolve() };
    lane.joined = thread.join().then(() => {
      lane.ended = true;
      for (const entry of jobs.values()) {
        const error = entry.cancelled
          ? new DownloadError('TK_DL_INTERRUPTED', 'interrupted; run again with -c to resume')
          : new DownloadError('TK_DL_WORKER', `the thread running the download ended (exit code ${thread.exitCode}): ${errorText(thread.error)}`);
        entry.settle(leftBehind(entry, entry.cancelled ? 'interrupted' : 'failed', error, thread.threadId ?? 0));
      }
      jobs.clear();
    });
    return lane;
  }

  /** Puts an order in a lane's inbox; false when it does not fit (a lane that is not reading). */
  function order(lane: Lane, o: LaneOrder): boolean {
    try {
      lane.inbox.putNowait(o);
      return true;
    } catch {
      return false;
    }
  }

  return {
    start(job, emit) {
      let least: Lane | undefined;
      for (const lane of lanes) if (!lane.ended && (!least || lane.jobs.size < least.jobs.size)) least = lane;
      const { ca: _sent, ...plain } = job; // the lane has the run's CA certificates already
      if (!least || !order(least, { type: 'start', job: plain })) {
        const why = least ? `its order (${job.url.length} characters of URL) did not fit in the inbox` : 'every download thread has ended';
        const error = new DownloadError('TK_DL_WORKER', `could not hand the download to a download thread: ${why}; run again with --workers inline`);
        return { result: Promise.resolve(failedResult(job, 'failed', error)), cancel() {} };
      }
      const lane = least;
      const { promise: result, resolve: settle } = Promise.withResolvers<DownloadResult>();
      const entry: LaneJob = { job, emit, settle, cancelled: false };
      lane.jobs.set(job.id, entry);
      return {
        result,
        cancel() {
          entry.cancelled = true;
          if (!lane.ended) order(lane, { type: 'cancel', id: job.id });
        },
      };
    },
    close: closeAll,
  };
}

/** The result of a job whose lane ended under it: with the `.part` it left, if any, for `-c`. */
function leftBehind(entry: LaneJob, status: 'failed' | 'interrupted', error: DownloadError, threadId: number): DownloadResult {
  const result = failedResult(entry.job, status, error, process.pid, threadId);
  if (entry.name === undefined) return result;
  const partPath = `${join(entry.job.dir, entry.name)}.part`;
  const size = statSync(partPath, { throwIfNoEntry: false })?.size ?? 0;
  return { ...result, name: entry.name, ...(size > 0 && { path: partPath, bytes: size }) };
}

/**
 * Downloads as tasks of this event loop; the names being written are shared by this run's
 * downloads (they share this thread). With `lanes`, large bodies move to that many download
 * threads (see `HandOff`), started when the first one moves; none moves once `close()` began.
 */
async function inlineBackend(lanes?: { threads: number; ca: string | undefined }): Promise<WorkerBackend> {
  const { downloadFile } = await import('./downloader.ts');
  const names = new Map<string, number>();
  let moved: Promise<WorkerBackend> | undefined;
  let closed = false;
  return {
    start(job, emit) {
      const controller = new AbortController();
      const handOff = lanes && {
        minBytes: HAND_OFF_BYTES,
        get open() {
          return !closed;
        },
        async run(name: string, reachedUrl: string): Promise<DownloadResult> {
          moved ??= laneBackend(lanes.threads, lanes.ca);
          const running = (await moved).start({ ...job, claimedName: name, reachedUrl }, emit);
          if (controller.signal.aborted) running.cancel();
          controller.signal.addEventListener('abort', () => running.cancel(), { once: true });
          return running.result;
        },
      };
      return { result: downloadFile(job, { emit, signal: controller.signal, names, ...(handOff && { handOff }) }), cancel: () => controller.abort() };
    },
    async close() {
      closed = true;
      if (moved)
        await moved.then(
          (backend) => backend.close(),
          () => {},
        );
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
