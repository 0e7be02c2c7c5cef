/**
 * How child processes come to be (Python's start methods). `'forkserver'` keeps one idle child
 * booted ahead of time, so `start()` only hands it the work; `'spawn'` boots a fresh Node for
 * every start. The spare is unref'd: it never keeps the parent alive, and it exits with it.
 *
 * A child is told its role (`run`: its run is on the way; `spare`: it waits, maybe long) so
 * that only a spare spends its idle time loading the rest of threadkit; a child that is to run
 * at once goes straight to its target. A new spare boots only after the children ahead of it
 * have booted and a moment has passed, so it never takes a core from a start it follows.
 */
import type { ChildProcess } from 'node:child_process';
import { InvalidArgumentError } from '../errors.ts';
import { builtin } from '../internal/builtin.ts';
import { childExecArgv } from '../internal/execute.ts';
import { entryPoint } from '../internal/package-files.ts';
import { startRuntime } from '../internal/runtime.ts';

export type StartMethod = 'forkserver' | 'spawn';

const CHILD = entryPoint('process/child');
let method: StartMethod = 'forkserver';
let spare: ChildProcess | undefined;
let spareScheduled = false;
/** Children still booting: a spare waits for them, so that it does not slow their start on a small machine. */
let booting = 0;
/** How long after the last child booted a spare starts booting: the child's target has the cores first. */
const SPARE_DELAY_MS = 25;

/** Python's `set_start_method`: `'forkserver'` (default: a warm spare child) or `'spawn'`. */
export function setStartMethod(value: StartMethod): void {
  if (value !== 'forkserver' && value !== 'spawn') {
    throw new InvalidArgumentError(`Expected a start method of 'forkserver' or 'spawn', got ${JSON.stringify(value)}.`);
  }
  method = value;
  if (value === 'spawn') dropSpare();
}

export function getStartMethod(): StartMethod {
  return method;
}

function forkChild(role: 'run' | 'spare'): ChildProcess {
  startRuntime(); // the child finds the thread table in the environment it inherits
  const child = builtin('node:child_process').fork(CHILD, [String(process.pid), role], {
    serialization: 'advanced',
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    execArgv: childExecArgv(process.execArgv),
  });
  booting++;
  let booted = false;
  const onBooted = () => {
    if (booted) return;
    booted = true;
    booting--;
    child.off('message', onMessage);
    if (spareWanted) scheduleSpare();
  };
  const onMessage = (message: { type?: string }) => message?.type === 'ready' && onBooted();
  child.on('message', onMessage);
  child.once('exit', onBooted);
  return child;
}

let spareWanted = false;

function dropSpare(): void {
  spare?.kill('SIGKILL');
  spare = undefined;
}

function scheduleSpare(): void {
  spareWanted = true;
  if (method !== 'forkserver' || spare || spareScheduled || booting > 0) return;
  spareScheduled = true;
  const timer = setTimeout(() => {
    spareScheduled = false;
    if (method !== 'forkserver' || spare || booting > 0) return;
    spareWanted = false;
    keepAsSpare(forkChild('spare'));
  }, SPARE_DELAY_MS);
  timer.unref();
}

function keepAsSpare(child: ChildProcess): void {
  child.unref();
  child.channel?.unref();
  child.once('exit', () => {
    if (spare === child) spare = undefined;
  });
  spare = child;
}

function usable(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}

/** A child ready for one run: the warm spare when there is one, else a fresh fork. */
export function takeChild(): ChildProcess {
  let child = spare;
  spare = undefined;
  if (!child || !usable(child)) child = forkChild('run');
  scheduleSpare();
  return child;
}

/**
 * A child from `takeChild()` that will not run after all (its start was refused before any
 * message went to it): it becomes the spare when there is none, else it is stopped.
 */
export function returnChild(child: ChildProcess): void {
  if (method === 'forkserver' && !spare && usable(child)) {
    keepAsSpare(child);
  } else {
    child.kill('SIGKILL');
  }
}
