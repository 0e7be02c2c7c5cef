/**
 * The target a `Thread` or `Process` runs for one download: it posts the job's events to the
 * parent as messages and returns the result. Exported, because a worker finds its target by
 * importing this module.
 */
import { currentProcess, currentThread } from 'threadkit';
import { downloadFile } from './downloader.ts';
import type { DownloadJob, DownloadResult } from './messages.ts';

export async function downloadInWorker(job: DownloadJob): Promise<DownloadResult> {
  const thread = currentThread();
  if (thread.ident) {
    // In a Thread: terminate() aborts its signal, which stops the download and keeps the .part.
    return downloadFile(job, { emit: (e) => thread.postMessage(e), signal: thread.signal });
  }
  const me = currentProcess();
  return downloadFile(job, { emit: (e) => me.postMessage(e) });
}
