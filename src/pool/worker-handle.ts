/**
 * One pool worker as the pool sees it, whatever it runs on: a worker thread or a child process.
 * Like Python's popen_*.py, each backend is a small class behind one interface.
 *
 * Both are unref'd while idle, so a pool that is never shut down does not keep the program alive
 * (an idle child process exits when its parent does, by its IPC channel closing); the pool refs a
 * worker while it holds tasks, so the program waits for work that was submitted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { childExecArgv } from '../internal/execute.ts';
import { RUNTIME_KEY, markSlotDead, reserveSlot } from '../internal/runtime.ts';
import type { FromPoolWorker, ToPoolWorker } from './protocol.ts';

export type WorkerKind = 'thread' | 'process';

export interface WorkerEvents {
  message(message: FromPoolWorker): void;
  /** Called once, when the worker has exited (after every message it sent was delivered). */
  exit(description: string): void;
}

export interface WorkerHandle {
  /** `pid` of the child process, or `threadId` of the worker thread. */
  readonly id: number;
  send(message: ToPoolWorker): void;
  ref(): void;
  unref(): void;
  /** Stops it now, whatever it runs (SIGKILL for a process, `worker.terminate()` for a thread). */
  kill(): void;
}

const DEV = import.meta.url.endsWith('.ts');
const THREAD_ENTRY = new URL(DEV ? './thread-worker.ts' : './thread-worker.js', import.meta.url);
const PROCESS_ENTRY = new URL(DEV ? './process-worker.ts' : './process-worker.js', import.meta.url);

class ThreadHandle implements WorkerHandle {
  readonly #worker: Worker;
  readonly id: number;

  constructor(events: WorkerEvents) {
    const runtime = reserveSlot();
    this.#worker = new Worker(THREAD_ENTRY, { workerData: { [RUNTIME_KEY]: runtime } });
    this.id = this.#worker.threadId;
    this.#worker.unref();
    let error: Error | undefined;
    this.#worker.on('message', events.message);
    this.#worker.on('error', (err) => (error = err));
    this.#worker.once('exit', (code) => {
      // Locks its tasks held are now poisoned for their waiters instead of hanging them.
      markSlotDead(runtime.slot);
      events.exit(error ? `the worker thread died of an uncaught ${error.name}: ${error.message}` : `the worker thread exited with code ${code}`);
    });
  }

  send(message: ToPoolWorker): void {
    this.#worker.postMessage(message);
  }
  ref(): void {
    this.#worker.ref();
  }
  unref(): void {
    this.#worker.unref();
  }
  kill(): void {
    void this.#worker.terminate();
  }
}

class ProcessHandle implements WorkerHandle {
  readonly #child: ChildProcess;
  readonly id: number;

  constructor(events: WorkerEvents) {
    this.#child = fork(PROCESS_ENTRY, [String(process.pid)], {
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
      events.exit(signal ? `the worker process was killed by ${signal}` : `the worker process exited with code ${code}`),
    );
  }

  send(message: ToPoolWorker): void {
    if (this.#child.connected) this.#child.send(message);
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

export function startWorker(kind: WorkerKind, events: WorkerEvents): WorkerHandle {
  return kind === 'thread' ? new ThreadHandle(events) : new ProcessHandle(events);
}
