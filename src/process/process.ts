/**
 * `Process`: runs a target in a child process (Python's `multiprocessing.Process`).
 *
 * ```ts
 * export function downloadTask(filename: string) { … }
 * const p = new Process({ target: downloadTask, args: ['Peking Hot.avi'] });
 * p.start();
 * await p.join();
 * ```
 * The child imports the module that exports `target` and calls it; arguments cross by the
 * structured-clone algorithm (plus instances of exported classes). The child's stdout and
 * stderr are the parent's.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { decodeAsync } from '../internal/codec.ts';
import type { Destination } from '../internal/codec.ts';
import type { FromWorker, RunPlan, ToWorker } from '../internal/run-messages.ts';
import { Runnable, type AnyFunction, type RunnableOptions } from '../internal/runnable.ts';
import { returnChild, takeChild } from './start-method.ts';
import { trackChild } from './children.ts';

let counter = 0;

export type ProcessOptions<F extends AnyFunction = AnyFunction> = RunnableOptions<F>;

export class Process<F extends AnyFunction = AnyFunction> extends Runnable<F> {
  #child: ChildProcess | undefined;
  #outcome: { error?: unknown; result?: unknown } | undefined;
  #pending: Promise<void> = Promise.resolve();

  constructor(options: ProcessOptions<F> = {}) {
    super(options, `Process-${++counter}`);
  }

  /** The child's process id, once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  protected get kindName(): string {
    return 'Process';
  }

  protected get destination(): Destination {
    return 'process';
  }

  #booting: ChildProcess | undefined;

  protected override beforePlan(): void {
    this.#booting = takeChild();
  }

  protected override planFailed(): void {
    // Its run was refused (the target or the arguments): the child never gets a message.
    if (this.#booting) returnChild(this.#booting);
    this.#booting = undefined;
  }

  protected launch(plan: RunPlan): void {
    const child = this.#booting ?? takeChild();
    this.#booting = undefined;
    this.#child = child;
    trackChild(this);
    if (plan.daemon) {
      child.unref();
      child.channel?.unref();
    } else {
      child.ref();
      child.channel?.ref();
    }
    child.on('message', (message: FromWorker) => this.#onMessage(message));
    child.once('close', (code, signal) => {
      const exitCode = signal ? -(constants.signals[signal] ?? 1) : (code ?? 1);
      // Results decode asynchronously (they may name classes to import); finish after them.
      void this.#pending.then(() => this.finish(exitCode, this.#outcome));
    });
    child.on('error', () => {}); // 'close' follows and reports the exit
    const message: ToWorker = { type: 'run', id: 1, plan };
    child.send(message);
  }

  #onMessage(message: FromWorker): void {
    if (message.type === 'message') {
      this.emit('message', message.data);
    } else if (message.type === 'done') {
      this.#pending = (async () => {
        try {
          this.#outcome = message.ok ? { result: await decodeAsync(message.result) } : { error: await decodeAsync(message.error) };
        } catch (err) {
          this.#outcome = { error: err };
        }
      })();
    }
  }

  /** Sends SIGTERM (Python's `terminate()`); `exitCode` becomes -15. */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /** Sends SIGKILL (Python's `kill()`); `exitCode` becomes -9. */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}
