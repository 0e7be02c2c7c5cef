/**
 * The root's half of tracing: the process that starts a trace (by `THREADKIT_TRACE=run.json` or
 * `trace.start()`) makes the directory every thread writes into, tells the threads, and at
 * `trace.stop()` or at exit merges their files into one trace-event file.
 *
 * The file is written to a temporary name and renamed into place: a trace is whole or absent.
 */
import { resolve } from 'node:path';
import { BroadcastChannel, isMainThread } from 'node:worker_threads';
import { InvalidArgumentError, InvalidStateError } from '../errors.ts';
import { CHANNEL, DIR_ENV, TRACING, disable, enable } from './recorder.ts';
import { mergeTraceDir, writeTraceFile } from './merge.ts';
import { builtin } from '../internal/builtin.ts';

const { mkdirSync, rmSync } = builtin('node:fs');

/** The environment variable that traces a whole program: `THREADKIT_TRACE=run.json node app.ts`. */
export const TRACE_ENV = 'THREADKIT_TRACE';

export interface TraceStartOptions {
  /** Where the trace-event JSON goes (default: `THREADKIT_TRACE`, else `threadkit-trace.json`). */
  path?: string;
}

export interface TraceResult {
  /** The trace file written. */
  path: string;
  /** Events in it (metadata included). */
  events: number;
  /** Lines of the threads' files that could not be read (a thread killed mid-write); 0 normally. */
  unreadable: number;
}

let active: { path: string; dir: string } | undefined;
let exitHook = false;
let channel: BroadcastChannel | undefined;

function tell(dir: string | null): void {
  channel ??= new BroadcastChannel(CHANNEL);
  channel.unref();
  channel.postMessage({ dir });
}

/**
 * Starts tracing this process and every Thread, Process and pool worker it starts from now on
 * (worker threads already running join within one turn of their event loop). Call it in the
 * main thread of the program; throws `InvalidStateError` when a trace is already running.
 */
export function start(options: TraceStartOptions = {}): void {
  if (!isMainThread) throw new InvalidStateError('trace.start() works in the main thread of a program; a Thread is traced when its program is.');
  if (active) throw new InvalidStateError(`A trace is already being recorded into ${active.path}; call trace.stop() first.`);
  if (TRACING)
    throw new InvalidStateError('This process is traced by the program that started it (THREADKIT_TRACE_DIR is set); its events go into that trace.');
  const given = options.path ?? process.env[TRACE_ENV] ?? 'threadkit-trace.json';
  if (typeof given !== 'string' || given === '')
    throw new InvalidArgumentError(`trace.start(): expected \`path\` to be a file name, got ${JSON.stringify(given)}.`);
  const path = resolve(given);
  const dir = `${path}.d`;
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new InvalidArgumentError(
      `trace.start(): cannot create the trace directory ${dir} (${(err as Error).message}); give a path in a writable directory.`,
      { cause: err },
    );
  }
  active = { path, dir };
  process.env[DIR_ENV] = dir;
  enable(dir);
  tell(dir);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      if (active) finish();
    });
  }
}

/** Whether this process is recording (as the root or as one of its threads or children). */
export function isTracing(): boolean {
  return TRACING;
}

function finish(): TraceResult {
  const { path, dir } = active!;
  active = undefined;
  disable();
  delete process.env[DIR_ENV];
  const { trace, unreadable } = mergeTraceDir(dir);
  writeTraceFile(path, trace);
  rmSync(dir, { recursive: true, force: true });
  return { path, events: trace.traceEvents.length, unreadable };
}

/**
 * Stops the trace and writes it. Threads still running are told to stop and given a moment
 * (`graceMs`, default 50) to write what they buffered; join them first for a complete trace.
 */
export async function stop(options: { graceMs?: number } = {}): Promise<TraceResult> {
  if (!active) throw new InvalidStateError('trace.stop(): no trace is being recorded here; call trace.start() first (or set THREADKIT_TRACE).');
  disable();
  tell(null);
  await new Promise((r) => setTimeout(r, options.graceMs ?? 50));
  return finish();
}

// THREADKIT_TRACE=run.json: the program's main thread starts the trace; its threads and child
// processes (which see THREADKIT_TRACE_DIR too) only record.
if (isMainThread && process.env[TRACE_ENV] && !process.env[DIR_ENV]) start();
