/**
 * `threadkit download --redis URL [--queue NAME] [options] URL…`: the downloads go on a cluster
 * queue and `threadkit worker` processes on any machine fetch them, one file per task, with the
 * same downloader (retries, resume, checksums) as a local run.
 *
 * What must be shared between machines: the output directory, at the same path on every worker
 * (a network file system), since each worker writes its file (and its `.part`, which `-c`
 * resumes) there; and the same threadkit version, since a worker refuses a target whose module
 * differs. Progress is not streamed back: each file's result is.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClusterExecutor, clusterTask } from 'threadkit/redis';
import { queueNameOption, redisUrlOption, UsageError as OptionError } from '../options.ts';
import { STOP_SIGNALS } from '../signals.ts';
import { jobOf, newRunId, noteRepeats, parseDownloadArgs } from './args.ts';
import { downloadFile } from './downloader.ts';
import { UsageError } from './errors.ts';
import type { DownloadJob, DownloadResult } from './messages.ts';

/** The task a worker runs for one file. Exported: the worker imports it by package and path. */
export async function downloadOnWorker(job: DownloadJob): Promise<DownloadResult> {
  return downloadFile(job, { emit: () => {}, signal: clusterTask().signal });
}

/** Takes `--redis URL` and `--queue NAME` out of argv; the rest is parsed as for a local download. */
function split(argv: string[]): { redis: string | undefined; queue: string; rest: string[] } {
  let redis: string | undefined;
  let queue = 'threadkit-download';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag === '--redis' || flag === '--queue') {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value.`);
      if (flag === '--redis') redis = v;
      else queue = v;
    } else rest.push(a);
  }
  return { redis, queue, rest };
}

export async function run(argv: string[]): Promise<number> {
  let redis: string;
  let queue: string;
  let args;
  try {
    const parts = split(argv);
    redis = redisUrlOption(parts.redis);
    queue = queueNameOption(parts.queue);
    args = await parseDownloadArgs(parts.rest);
    if (args.demo) throw new UsageError('--demo is local only; give the URLs to download.');
    if (!args.help && args.urls.length === 0) throw new UsageError('give at least one URL to download.');
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof OptionError)) throw err;
    process.stderr.write(`threadkit download: ${err.message}\nRun 'threadkit download --help' for the options.\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(
      'threadkit download --redis URL [--queue NAME] [options] URL…\n\nPuts each URL on queue NAME (default threadkit-download) for `threadkit worker --redis URL --queue NAME` processes.\nThe output directory must be the same path on every worker machine (a shared file system).\n',
    );
    return 0;
  }
  noteRepeats(args);
  const dir = resolve(args.outputDir ?? '.');
  await mkdir(dir, { recursive: true });
  const runId = newRunId();
  const executor = new ClusterExecutor({ redis, queue });
  const stop = () => void executor.shutdown({ wait: false, cancelFutures: true });
  for (const signal of STOP_SIGNALS) process.once(signal, stop);
  try {
    const futures = args.urls.map((spec, id) => executor.submit(downloadOnWorker, jobOf(args, spec, id, runId, dir, 1000)));
    let failed = 0;
    for (const [i, f] of futures.entries()) {
      let line: string;
      try {
        const r = await f.result();
        if (r.status !== 'done' && r.status !== 'skipped') failed++;
        line =
          args.output === 'json' || args.output === 'ndjson'
            ? JSON.stringify(r)
            : `${r.status} ${r.url} → ${r.path ?? '?'} (${r.bytes} bytes, worker pid ${r.pid}${r.error ? `: ${r.error.message}` : ''})`;
      } catch (err) {
        // Redis never reached: every file would fail the same way; say it once.
        if ((err as { code?: unknown })?.code === 'TK_REDIS_UNAVAILABLE') {
          process.stderr.write(`threadkit download: ${(err as Error).message}\n`);
          return 1;
        }
        failed++;
        line =
          args.output === 'json' || args.output === 'ndjson'
            ? JSON.stringify({ id: i, url: args.urls[i]!.url, status: 'failed', error: { message: (err as Error).message } })
            : `failed ${args.urls[i]!.url}: ${(err as Error).message}`;
      }
      if (args.output !== 'quiet') process.stdout.write(`${line}\n`);
    }
    return failed === 0 ? 0 : 1;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
    await executor.shutdown({ wait: false });
  }
}
