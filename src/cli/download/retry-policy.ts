/**
 * Which failed tries of a download are tried again, and after how long — a layer of its own, as
 * undici keeps its retries in `RetryAgent`:
 *
 * - Retried: transient errors only (`DownloadError.transient`): a connection refused, reset or
 *   dropped mid-body, a time-out, a 5xx, a 429. Never a local error (disk full, permission,
 *   read-only, a missing folder: `localFileError` is never transient, as the same write would
 *   fail the same way), nor a 4xx, DNS, TLS, a bad URL or a checksum mismatch.
 * - How often: up to `retries` failures in a row. A try that took the `.part` further than any
 *   try before it counts as the first of a new row (a slow, flaky server still gets there; one
 *   that drops every answer at the same point does not), and all tries together are bounded at
 *   10 × (`retries` + 1).
 * - How long: `retryBaseMs` × 2^(n−1) for the n-th failure in a row, at most `retryMaxMs`, with
 *   jitter (half to all of it), so that parallel downloads do not retry in step; a longer
 *   `Retry-After` from the server is honoured, up to `retryMaxMs`.
 *
 * A change here changes how `--retries`, `--retry-wait` and `--retry-max-wait` behave
 * (test/download/errors.test.ts, resume.test.ts).
 */
import type { DownloadError } from './errors.ts';
import type { DownloadJob } from './messages.ts';

export type RetrySettings = Pick<DownloadJob, 'retries' | 'retryBaseMs' | 'retryMaxMs'>;

export class RetryPolicy {
  private readonly settings: RetrySettings;
  /** Failures in a row. */
  private failures = 0;

  constructor(settings: RetrySettings) {
    this.settings = settings;
  }

  /**
   * After a failed try: the milliseconds to wait before the next, or undefined to give up.
   * `attempts` counts the tries so far; `progressed` says whether the failed one took the file further than any before it.
   */
  delayAfter(error: DownloadError, attempts: number, progressed: boolean): number | undefined {
    const { retries, retryBaseMs, retryMaxMs } = this.settings;
    this.failures = progressed ? 1 : this.failures + 1;
    if (!error.transient || this.failures > retries || attempts > 10 * (retries + 1)) return undefined;
    const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (this.failures - 1));
    return Math.round(Math.max(backoff * (0.5 + Math.random() / 2), Math.min(error.retryAfterMs ?? 0, retryMaxMs)));
  }
}
