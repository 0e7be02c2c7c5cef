/** The options every pool and executor shares, their defaults and their validation. */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '../errors.ts';
import { refuseUnknownOptions } from '../internal/option-names.ts';
import { encode } from '../internal/codec.ts';
import { checkCount, checkDuration, resolveTarget, type AnyFunction } from './call.ts';
import type { DispatcherOptions } from './dispatcher.ts';
import type { WorkerKind } from '../workers/worker-handle.ts';

export interface WorkerOptions<I extends AnyFunction = AnyFunction> {
  /**
   * Workers kept alive even when idle, started with the pool (a warm minimum). Default 0 for the
   * executors (workers start on demand, as Python's do), all of them for `Pool` (as Python's).
   */
  minWorkers?: number;
  /** A worker idle this long beyond `minWorkers` is stopped. Default `Infinity`: idle workers stay (unref'd, they never keep the program alive). */
  idleTimeoutMs?: number;
  /**
   * How long a running task has to end after its `currentTask().signal` fired (a cancel or its
   * time-out) before its worker is killed and replaced. Default 1000.
   */
  cancelGraceMs?: number;
  /**
   * Every task's time limit from when it starts: past it the task's future rejects with a
   * `TimeoutError`, the task's signal fires, and its worker is replaced after `cancelGraceMs` if
   * the task goes on. A task with a time limit has a worker to itself. Default: none.
   */
  taskTimeoutMs?: number;
  /** An exported function each worker runs once before its first task (Python's `initializer`). If it throws, the pool is broken: every task rejects with a `WorkerDiedError` whose `cause` is that error. */
  initializer?: I;
  /** Arguments for `initializer`. */
  initargs?: Parameters<I>;
  /** A name for the workers (`currentProcess().name` in a process worker is `${name}-Worker-N`). */
  name?: string;
}

/** The names of `WorkerOptions`: what every pool and executor takes besides its own. */
const WORKER_OPTIONS = ['minWorkers', 'idleTimeoutMs', 'cancelGraceMs', 'taskTimeoutMs', 'initializer', 'initargs', 'name'];

/** Refuses an option `what` (`new Pool()`) does not know: its `own` names or `WorkerOptions`' (see internal/option-names.ts). */
export function refuseUnknownWorkerOptions(options: object, own: readonly string[], what: string): void {
  refuseUnknownOptions(options, [...own, ...WORKER_OPTIONS], what);
}

let counter = 0;

export function dispatcherOptions(
  kind: WorkerKind,
  options: WorkerOptions & { maxWorkers?: number; maxTasksPerWorker?: number },
  defaults: { minWorkers: 'all' | 0; name: string },
): DispatcherOptions & { taskTimeoutMs: number } {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(`Expected an options object, got ${options === null ? 'null' : typeof options}.`);
  const maxWorkers = checkCount(options.maxWorkers ?? availableParallelism(), 'maxWorkers', 1);
  const minWorkers = checkCount(options.minWorkers ?? (defaults.minWorkers === 'all' ? maxWorkers : 0), 'minWorkers', 0);
  if (minWorkers > maxWorkers) throw new InvalidArgumentError(`Expected \`minWorkers\` (${minWorkers}) to be at most \`maxWorkers\` (${maxWorkers}).`);
  const idleTimeoutMs = checkDuration(options.idleTimeoutMs ?? Infinity, 'idleTimeoutMs');
  const cancelGraceMs = checkDuration(options.cancelGraceMs ?? 1000, 'cancelGraceMs');
  const taskTimeoutMs = checkDuration(options.taskTimeoutMs ?? 0, 'taskTimeoutMs');
  const maxTasksPerWorker = checkCount(options.maxTasksPerWorker ?? Infinity, 'maxTasksPerWorker', 1, true);
  const dest = kind;
  let initializer;
  let initargs;
  if (options.initializer !== undefined) {
    initializer = resolveTarget(options.initializer);
    const args = options.initargs ?? [];
    if (!Array.isArray(args)) throw new InvalidArgumentError(`Expected \`initargs\` to be an array, got ${typeof args}.`);
    initargs = encode(args, 'initargs', dest);
  }
  return {
    kind,
    name: options.name ?? `${defaults.name}-${++counter}`,
    maxWorkers,
    minWorkers,
    idleTimeoutMs,
    cancelGraceMs,
    maxTasksPerWorker,
    initializer,
    initargs,
    taskTimeoutMs,
  };
}
