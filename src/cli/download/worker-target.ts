/**
 * The target a `Thread` or `Process` runs for one download: it posts the job's events to the
 * parent as messages and returns the result. Exported, because a worker finds its target by
 * importing this module.
 */
import * as threadkit from '../../index.ts';
import { downloadFile } from './downloader.ts';
import type { DownloadEvent, DownloadJob, DownloadResult } from './protocol.ts';

interface Current {
  readonly ident?: number;
  readonly signal?: AbortSignal;
  postMessage(data: DownloadEvent): void;
}

export async function downloadInWorker(job: DownloadJob): Promise<DownloadResult> {
  // Looked up by name so that this file type-checks against any stage of the Process/Thread work.
  const api = threadkit as Record<string, unknown>;
  const thread = (api.currentThread as () => Current)();
  if (thread.ident) {
    // In a Thread: terminate() aborts its signal, which stops the download and keeps the .part.
    return downloadFile(job, { emit: (e) => thread.postMessage(e), ...(thread.signal && { signal: thread.signal }) });
  }
  const me = (api.currentProcess as () => Current)();
  return downloadFile(job, { emit: (e) => me.postMessage(e) });
}
