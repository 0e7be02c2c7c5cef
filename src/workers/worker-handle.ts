/**
 * One worker as its owner sees it, whatever it runs on: a worker thread or a child process.
 * Like Python's popen_*.py, each backend is a small class behind one interface; the worker set
 * (worker-set.ts) and everything above it see only {@link WorkerHandle}.
 *
 * A thread gets a slot of the thread table (src/internal/runtime.ts) in its `workerData`, and
 * that slot is marked dead when it exits, so locks its code held are poisoned for their waiters
 * instead of hanging them. A child process finds the table through its environment, so the
 * table is started before the fork.
 *
 * Both start unref'd: the owner refs a worker while the program must wait for it (a pool while
 * it holds tasks, the scheduler while it runs a non-daemon Thread). An idle child process exits
 * when its parent does, by its IPC channel closing.
 */
import type { ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { builtin } from '../internal/builtin.ts';
import { childExecArgv } from '../internal/execute.ts';
import { RUNTIME_KEY, markSlotDead, reserveSlot, startRuntime } from '../internal/runtime.ts';

export type WorkerKind = 'thread' | 'process';

/** How a worker ended. */
export interface WorkerExit {
  /** For error messages: "the worker thread exited with code 1", "the worker process was killed by SIGKILL"… */
  readonly description: string;
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** A worker thread's uncaught error (its `'error'` event), if that is what ended it. */
  readonly error?: Error;
}

export interface WorkerEvents<FromWorker> {
  message(message: FromWorker): void;
  /** Called once, when the worker has exited (after every message it sent was delivered). */
  exit(exit: WorkerExit): void;
}

export interface WorkerHandle<ToWorker = unknown> {
  /** `pid` of the child process, or `threadId` of the worker thread. */
  readonly id: number;
  send(message: ToWorker): void;
  ref(): void;
  unref(): void;
  /** Stops it now, whatever it runs (SIGKILL for a process, `worker.terminate()` for a thread). */
  kill(): void;
}

class ThreadHandle<ToWorker, FromWorker> implements WorkerHandle<ToWorker> {
  readonly #worker: Worker;
  readonly #slot: number;
  readonly id: number;

  constructor(entry: URL, workerData: Record<string, unknown>, events: WorkerEvents<FromWorker>) {
    const runtime = reserveSlot();
    this.#slot = runtime.slot;
    this.#worker = new Worker(entry, { workerData: { ...workerData, [RUNTIME_KEY]: runtime } });
    this.id = this.#worker.threadId;
    this.#worker.unref();
    let error: Error | undefined;
    this.#worker.on('message', events.message);
    this.#worker.on('error', (err) => (error = err));
    this.#worker.once('exit', (code) => {
      markSlotDead(runtime.slot);
      const description = error ? `the worker thread died of an uncaught ${error.name}: ${error.message}` : `the worker thread exited with code ${code}`;
      events.exit({ description, code, error });
    });
  }

  send(message: ToWorker): void {
    this.#worker.postMessage(message);
  }
  ref(): void {
    this.#worker.ref();
  }
  unref(): void {
    this.#worker.unref();
  }
  kill(): void {
    // Dead from now on for every lock and wait that records it (slots are never reused): the
    // worker stops only when JavaScript next runs there (up to a wait slice later, see
    // internal/atomics.ts), and a notify or a lock must not wait for it meanwhile.
    markSlotDead(this.#slot);
    void this.#worker.terminate();
  }
}

class ProcessHandle<ToWorker, FromWorker> implements WorkerHandle<ToWorker> {
  readonly #child: ChildProcess;
  readonly id: number;

  constructor(entry: URL, args: readonly string[], events: WorkerEvents<FromWorker>) {
    startRuntime(); // the child finds the thread table in the environment it inherits
    this.#child = builtin('node:child_process').fork(entry, [String(process.pid), ...args], {
      serialization: 'advanced',
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      execArgv: childExecArgv(process.execArgv),
    });
    this.id = this.#child.pid ?? -1;
    this.unref();
    this.#child.on('message', events.message);
    this.#child.on('error', () => {}); // 'close' follows and reports the end
    // 'close', not 'exit': it comes after the last message on the IPC channel was read.
    this.#child.once('close', (code, signal) =>
      events.exit({ description: signal ? `the worker process was killed by ${signal}` : `the worker process exited with code ${code}`, code }),
    );
  }

  send(message: ToWorker): void {
    if (this.#child.connected) this.#child.send(message as Parameters<ChildProcess['send']>[0]);
  }
  ref(): void {
    this.#child.ref();
    this.#child.channel?.ref();
  }
  unref(): void {
    this.#child.unref();
    this.#child.channel?.unref();
  }
  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

/** Starts a worker thread at `entry`, with `workerData` plus its slot of the thread table. */
export function startThread<ToWorker, FromWorker>(entry: URL, workerData: Record<string, unknown>, events: WorkerEvents<FromWorker>): WorkerHandle<ToWorker> {
  return new ThreadHandle(entry, workerData, events);
}

/** Forks a child process at `entry`; its argv is this process's pid (see die-with-parent.ts), then `args`. */
export function startProcess<ToWorker, FromWorker>(entry: URL, args: readonly string[], events: WorkerEvents<FromWorker>): WorkerHandle<ToWorker> {
  return new ProcessHandle(entry, args, events);
}
