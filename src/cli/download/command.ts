/**
 * `threadkit download [options] URL...`: the seed's parallel download, for real. Each URL is a
 * job; up to `-j` jobs run at once, each in its own worker (workers.ts); the reporter prints
 * the story, bars or JSON (report.ts, progress.ts). `--demo` serves the seed's two files from
 * a local throttled server (demo-server.ts) and downloads them.
 *
 * Exit codes: 0 all complete and verified, 1 some failed, 2 bad usage, 130 Ctrl-C (143 SIGTERM,
 * 129 SIGHUP).
 *
 * What lives where in src/cli/download, and what a change there may touch:
 * - The command line: args.ts (options, `USAGE`, a job per URL; light, as `--help` loads it),
 *   command.ts (this: the run), redis.ts (`--redis`: the jobs go to `threadkit worker`s).
 *   A change of an option shows in test/download/cli.test.ts and the README's usage.
 * - Where a download runs: workers.ts (inline, Thread, Process; the only file that knows about
 *   workers), worker-target.ts (the worker's side), messages.ts (the job, events and result
 *   that cross; plain data). A change of messages.ts is one of every reporter and the --ndjson
 *   output too.
 * - One download: downloader.ts (the HTTP semantics of resuming, restarting, naming and skipping,
 *   orchestrating the pieces below), part-file.ts (`NAME.part`, its `.part.meta` record and
 *   `.part.lock`: crash-consistent resume and changed-file detection live there),
 *   part-writer.ts (writes a body in order, so the `.part` is always a prefix), retry-policy.ts
 *   (what is retried, backoff), names.ts (the file's name), errors.ts (codes; local errors name
 *   the file). Their tests: test/download/resume, changed, crash, files, errors, disk-full.
 * - HTTP: follow-redirects.ts (redirects) over http-get.ts (one GET, its body to a file or to
 *   memory) over connection.ts (keep-alive sockets, TLS, proxy.ts's CONNECT); http-answers.ts
 *   reads statuses and headers. Tests: test/download/http-get, https; bench/suites/download.ts
 *   measures them.
 * - What is printed: report.ts (plain, JSON, NDJSON, quiet) and progress.ts (bars on a TTY).
 * - demo-server.ts: the throttled local server of `--demo`, which the tests use too.
 *
 * Only the public API of threadkit is used (`threadkit`, `threadkit/redis`), and only where a
 * worker model or `--redis` needs it: an inline run never loads it.
 */
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { jobOf, newRunId, noteRepeats, parseDownloadArgs, USAGE, type DownloadArgs, type UrlSpec } from './args.ts';
import type { DemoServer } from './demo-server.ts';
import { DownloadError, UsageError, localFileError } from './errors.ts';
import type { DownloadResult } from './messages.ts';
import { JsonReporter, NdjsonReporter, PlainReporter, printable, QuietReporter, summarize, type Reporter, type Summary } from './report.ts';
import { exitCodeOf, STOP_SIGNALS } from '../signals.ts';
import { createBackend, failedResult, type RunningDownload } from './workers.ts';

/** `scheme://user:password@` in a URL: what is printed shows `user:***@` instead. */
const CREDENTIALS = /(\b[a-z][a-z\d+.-]*:\/\/[^/\s:@]*):[^/\s@]*@/gi;

/**
 * A password given in a URL (as `https://user:secret@host/…`, on the command line or in -i) is
 * never printed: every line of this command's output (errors, results, JSON) has it masked, as
 * wget does.
 */
const masked = new WeakSet<NodeJS.WriteStream>();

function maskPasswords(stream: NodeJS.WriteStream): void {
  if (masked.has(stream)) return; // run() again in this process: wrapped already
  masked.add(stream);
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(typeof chunk === 'string' && chunk.includes('@') ? chunk.replace(CREDENTIALS, '$1:***@') : chunk, ...rest)) as typeof stream.write;
}

export async function run(argv: string[]): Promise<number> {
  maskPasswords(process.stdout);
  maskPasswords(process.stderr);
  if (argv.some((a) => a === '--redis' || a.startsWith('--redis='))) return (await import('./redis.ts')).run(argv);
  try {
    return await runParsed(await parseDownloadArgs(argv));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`threadkit download: ${printable(err.message)}\nRun 'threadkit download --help' for the options.\n`);
    // The command line may not parse: a --json or --ndjson on it is still honoured.
    const output = argv.includes('--json') ? 'json' : argv.includes('--ndjson') ? 'ndjson' : undefined;
    machineRefusal(output, 'TK_DL_USAGE', err.message);
    return 2;
  }
}

/**
 * With --json or --ndjson, a run refused before any download (exit 2) still prints its one
 * object, so that a program reading stdout gets an answer: `ok: false`, `exitCode: 2`, no
 * files, and the `error` that stderr names.
 */
function machineRefusal(output: string | undefined, code: string, message: string): void {
  if (output !== 'json' && output !== 'ndjson') return;
  const summary = { ok: false, exitCode: 2, error: { code, message }, files: [] };
  process.stdout.write(output === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : `${JSON.stringify({ type: 'summary', ...summary })}\n`);
}

async function runParsed(args: DownloadArgs): Promise<number> {
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let server: DemoServer | undefined;
  try {
    noteRepeats(args);
    let specs = args.urls;
    let dir = args.outputDir;
    if (args.demo) {
      const { DemoServer, demoFiles } = await import('./demo-server.ts');
      const files = demoFiles(args.demoSeconds);
      server = await DemoServer.start({ files });
      specs = files.map((f) => ({ url: server!.url(f.path) }));
      dir ??= await mkdtemp(join(tmpdir(), 'threadkit-demo-'));
      if (args.output === 'auto') {
        const times = files.map((f) => `${f.seconds} s`).join(' and ');
        const hint = args.workers === 'process' ? '' : ' (--workers process gives each its own process, as in the seed)';
        process.stdout.write(`Demo: a local server on ${server.url('/')} sends the seed's two files, taking ${times}${hint}.\n`);
      }
    }
    dir = resolve(dir ?? '.');
    const existing = await stat(dir).catch(() => undefined);
    if (existing && !existing.isDirectory()) {
      const message = `the output folder is unusable: ${dir} is a file, not a folder; give -o a folder`;
      process.stderr.write(`threadkit download: ${printable(message)} [TK_DL_NO_FOLDER]\n`);
      machineRefusal(args.output, 'TK_DL_NO_FOLDER', message);
      return 2;
    }
    try {
      if (!existing) await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    } catch (err) {
      const e = localFileError(await whyNotWritable(dir, err), dir, existing ? 'write' : 'create');
      process.stderr.write(`threadkit download: the output folder is unusable: ${printable(e.message)} [${e.code}]\n`);
      machineRefusal(args.output, e.code, `the output folder is unusable: ${e.message}`);
      return 2;
    }
    // Locks left by a run killed with -9 (a new folder has none; loaded only then).
    if (existing) await (await import('./part-file.ts')).sweepStaleLocks(dir);
    const summary = await downloadAll(args, specs, dir, await chooseReporter(args, specs.length));
    if (args.demo && args.output === 'auto') process.stdout.write(`The files are in ${dir}\n`);
    return summary.exitCode;
  } finally {
    await server?.close();
  }
}

/**
 * The real cause when `dir` cannot be created or written: mkdir -p under a read-only mount
 * reports ENOENT for the missing part; the nearest existing folder tells EROFS or EACCES.
 */
async function whyNotWritable(dir: string, err: unknown): Promise<unknown> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT') return err;
  for (let up = dirname(dir); ; up = dirname(up)) {
    const found = await stat(up).catch(() => undefined);
    if (found?.isDirectory()) {
      try {
        await access(up, constants.W_OK);
        return err;
      } catch (inner) {
        return inner;
      }
    }
    if (up === dirname(up)) return err;
  }
}

/** The bars (and cli-progress) are loaded only for a terminal. */
async function chooseReporter(args: DownloadArgs, files: number): Promise<Reporter> {
  switch (args.output) {
    case 'json':
      return new JsonReporter();
    case 'ndjson':
      return new NdjsonReporter();
    case 'quiet':
      return new QuietReporter();
    case 'auto':
      return process.stdout.isTTY && !args.plain ? new (await import('./progress.ts')).BarsReporter(files) : new PlainReporter();
  }
}

/**
 * Runs every URL through the worker backend, `-j` at a time. Ctrl-C, `kill` or a closed terminal
 * (STOP_SIGNALS) stops them all: each keeps its `.part` for -c and lets its lock go, and the
 * summary is printed.
 */
export async function downloadAll(args: DownloadArgs, specs: UrlSpec[], dir: string, reporter: Reporter): Promise<Summary> {
  const run = newRunId();
  const progressIntervalMs = args.output === 'auto' ? 100 : 500;
  const jobs = specs.map((spec, id) => jobOf(args, spec, id, run, dir, progressIntervalMs));
  // Downloads that do not share this thread keep the names they saved taken by lock files (DownloadJob.namesHeldBy).
  const holdsNames = args.workers === 'thread' || args.workers === 'process';
  if (holdsNames) for (const job of jobs) job.namesHeldBy = process.pid;
  const backend = await createBackend(args.workers, { concurrency: Math.min(args.jobs, jobs.length), ca: args.ca });
  const results: DownloadResult[] = new Array(jobs.length);
  const running = new Set<RunningDownload>();
  let stopSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal) {
      // A second Ctrl-C: the user does not want to wait for the workers to stop.
      process.stderr.write(`threadkit download: ${signal} again: stopping at once; the .part files are kept (run the same command with -c to resume)\n`);
      process.exit(exitCodeOf(signal));
    }
    stopSignal = signal;
    for (const r of running) r.cancel();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      if (stopSignal) {
        results[job.id] = failedResult(job, 'interrupted', new DownloadError('TK_DL_INTERRUPTED', 'not started: interrupted'));
        continue;
      }
      const r = backend.start(job, (e) => reporter.event(e));
      running.add(r);
      const result = await r.result;
      running.delete(r);
      results[job.id] = result;
      reporter.result(result);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(args.jobs, jobs.length) }, lane));
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    await backend.close();
    if (holdsNames)
      (await import('./part-file.ts')).removeSavedLocks(
        results.flatMap((r) => (r?.status === 'done' && r.path ? [r.path] : [])),
        run,
      );
  }
  const summary = summarize(results, {
    workers: args.workers,
    jobs: args.jobs,
    outputDir: dir,
    totalSeconds: (performance.now() - started) / 1000,
    interrupted: stopSignal !== undefined,
  });
  if (stopSignal) summary.exitCode = exitCodeOf(stopSignal);
  reporter.finish(summary);
  return summary;
}
