/**
 * What passes between the command (main thread) and a download worker: the job going in, the
 * events coming out while it runs, and the result at the end. Everything here is plain data,
 * structured-cloneable, so the same types serve inline tasks, worker threads and child processes.
 */
import type { ErrorInfo } from './errors.ts';

/** One file to download. */
export interface DownloadJob {
  /** Index of the URL on the command line / in the input file; events and results carry it. */
  id: number;
  /** Unique per command run: tells this run's `.part.lock` files from those of dead runs. */
  run: string;
  url: string;
  /** Absolute output directory (created by the command before any job starts). */
  dir: string;
  /** Expected sha256 (lower-case hex) of the complete file, if known. */
  sha256?: string;
  /** `-c`: resume from an existing `NAME.part`; without it a stale `.part` is overwritten. */
  resume: boolean;
  /** `--force`: replace a different existing file. */
  force: boolean;
  /** Tries after the first for transient errors without progress in between. */
  retries: number;
  /** First backoff delay; doubles per failed try, with jitter. */
  retryBaseMs: number;
  /** Cap on one backoff delay, including a server's `Retry-After`. */
  retryMaxMs: number;
  /** Idle time-out: no byte for this long fails the try (transient). */
  timeoutMs: number;
  /** Connecting (TCP, a proxy's CONNECT, TLS) taking longer fails the try (transient). */
  connectTimeoutMs: number;
  /** Extra trusted certificates (PEM text of `--ca-certificate FILE`) for https:. */
  ca?: string;
  maxRedirects: number;
  /** Minimum time between two progress events of this job. */
  progressIntervalMs: number;
  /** Set when the job was moved to a download thread: the name the first request got and still holds. */
  claimedName?: string;
  /**
   * Set with `claimedName`: the URL the first request ended at, after its redirects, which the
   * download thread asks again (a redirect may answer once only). `url` stays the URL given.
   */
  reachedUrl?: string;
  /**
   * Set where the downloads of this run do not share one thread (`--workers thread` and
   * `process`): the pid of the command. The `.part.lock` of a name this run saved then stays,
   * marked saved and held by this pid, until the command ends and removes it (`removeSavedLocks`),
   * so that a later URL of the run that saves to the same name is refused (TK_DL_NAME_TAKEN)
   * instead of replacing the file (--force) or being told it exists. Inline downloads keep their
   * names in a `Map` instead.
   */
  namesHeldBy?: number;
}

/** Who runs a job: for the seed's "启动下载进程，进程号[1530]" line. */
export interface WorkerIdentity {
  pid: number;
  /** 0 on a main thread (inline and process workers). */
  threadId: number;
}

export type DownloadEvent =
  /** Once per worker that runs the job: twice when `auto` moves a large body to a download thread. */
  | ({ type: 'start'; id: number; url: string; at: number } & WorkerIdentity)
  /** Headers arrived: the name is known, and where this try starts (`offset` > 0 when resuming). */
  | { type: 'response'; id: number; name: string; status: number; offset: number; total: number | null }
  | { type: 'progress'; id: number; bytes: number; total: number | null }
  /** What is on disk cannot be resumed (the file changed on the server, an untrusted `.part`): the download starts from zero. */
  | { type: 'restart'; id: number; reason: string }
  /** A try failed with a transient error; the next starts after `delayMs` from `bytes` on disk. */
  | { type: 'retry'; id: number; attempt: number; delayMs: number; bytes: number; error: ErrorInfo };

export type DownloadStatus =
  /** Downloaded, verified when a checksum was given, and renamed to its final name. */
  | 'done'
  /** The final file already existed with the same content; nothing was written. */
  | 'skipped'
  | 'failed'
  /** Stopped by Ctrl-C; the `.part` file is kept for `--continue`. */
  | 'interrupted';

export interface DownloadResult extends WorkerIdentity {
  id: number;
  url: string;
  status: DownloadStatus;
  /** The output file name, once known (from the headers or the URL). */
  name?: string;
  /** The final path for `done`/`skipped`, else the `.part` path if one is left. */
  path?: string;
  /** Size of the file (or of the `.part` left behind). */
  bytes: number;
  /** Bytes transferred by this run (less than `bytes` when resumed). */
  received: number;
  /** Where this run started in the file: > 0 when it resumed a `.part`. */
  resumedFrom: number;
  /** Wall-clock seconds from the worker's start to the end of this job. */
  seconds: number;
  /** Tries made (1 when the first succeeded). */
  attempts: number;
  /** sha256 of the complete file when a checksum was requested or compared. */
  sha256?: string;
  error?: ErrorInfo;
}

/** How a worker reports events; in a child it posts them to the parent. */
export type EmitEvent = (event: DownloadEvent) => void;

/** What the command tells a download lane (a Thread running many jobs; worker-target.ts). */
export type LaneOrder = { type: 'start'; job: DownloadJob } | { type: 'cancel'; id: number } | { type: 'close' };

/** What a download lane tells the command. */
export type LaneReport = { type: 'event'; event: DownloadEvent } | { type: 'result'; result: DownloadResult };
