/**
 * The batching policy: which tasks go to a worker in one message, and whether a busy worker may
 * be given more. It follows the measured time per task of each function (workers report how long
 * they were busy): a batch holds about `TARGET_BATCH_US` of expected work, at most `MAX_BATCH`
 * tasks, and the dispatcher further caps it at a fair share of the queue.
 *
 * What is learned is per function, never pool-wide: after thousands of tiny `square` calls, the
 * first calls of another function say nothing yet about how long it takes, and batching them as
 * tiny would strand them behind one another on one worker while the others idle. So a task of a
 * function not measured yet travels alone, as does one measured as long, and a worker is given a
 * second batch only while both what it holds and what comes next are tiny and it has not been
 * busy longer than a batch should take. A task whose caller chose a `chunksize` travels alone
 * too, to a worker with nothing else: Python's rule, where a free worker takes the next task.
 * Python's `Pool.map` picks its chunksize once, from the
 * length alone (len / (4 × processes)); this one follows the time the tasks take, so
 * `chunksize` is rarely needed for speed.
 */
import type { Task } from './task.ts';

/** Work per batch the pool aims for, in microseconds of the workers' time. */
const TARGET_BATCH_US = 1000;
/** The most tasks in one message. */
const MAX_BATCH = 1024;
/** Batches a worker holds at once: one running, one waiting, so it never idles for a round trip. */
export const BATCHES_PER_WORKER = 2;
/**
 * A task measured under this may wait on a busy worker as part of a second batch: it hides the
 * round trip for tiny tasks; for longer ones it would only strand work behind a busy worker
 * while another idles.
 */
const QUEUE_BEHIND_US = TARGET_BATCH_US / 4;
/**
 * A worker busy this long with the batch it holds is running something longer than measured
 * (the same function can take longer for other arguments): nothing more waits behind it.
 */
const BUSY_LIMIT_MS = (2 * TARGET_BATCH_US) / 1000;

export class BatchPolicy {
  /** Moving average of the time per task of each function (by index in the function table), in µs; unset until its first results. */
  readonly #avgUs: number[] = [];
  /** Expected µs of the batch being built (`begin`, `admit`). */
  #batchUs = 0;

  /** A worker reported the `n` tasks of `tasks` from `from` on, which kept it busy for `us` microseconds. */
  record(tasks: readonly Task[], from: number, n: number, us: number): void {
    if (n === 0) return;
    const end = from + n;
    const fn = tasks[from]!.fn;
    let mixed = false;
    for (let i = from + 1; i < end && !mixed; i++) mixed = tasks[i]!.fn !== fn;
    if (!mixed) return this.#update(fn, us / n);
    // Only measured functions share a batch (`admit`): the time is shared out as they were expected to take it.
    let expected = 0;
    for (let i = from; i < end; i++) expected += this.#avgUs[tasks[i]!.fn] ?? 0;
    const scale = expected > 0 ? us / expected : 0;
    const done = new Set<number>();
    for (let i = from; i < end; i++) {
      const f = tasks[i]!.fn;
      if (done.has(f)) continue;
      done.add(f);
      this.#update(f, scale > 0 ? (this.#avgUs[f] ?? 0) * scale : us / n);
    }
  }

  #update(fn: number, sample: number): void {
    const avg = this.#avgUs[fn];
    this.#avgUs[fn] = avg === undefined ? sample : avg * 0.7 + sample * 0.3;
  }

  /** The µs `task` is expected to take; Infinity when its function has not been measured, or it must travel alone. */
  expectedUs(task: Task): number {
    return task.alone ? Infinity : (this.#avgUs[task.fn] ?? Infinity);
  }

  /** Starts building a batch. */
  begin(): void {
    this.#batchUs = 0;
  }

  /** Whether `task` joins the batch being built, which holds `n` tasks so far (the first always does). */
  admit(task: Task, n: number): boolean {
    const us = this.expectedUs(task);
    if (n > 0 && (n >= MAX_BATCH || this.#batchUs + us > TARGET_BATCH_US)) return false;
    this.#batchUs += us;
    return true;
  }

  /**
   * Whether a worker holding one batch, whose next task to report is `held` and which has been
   * busy with it for `busyMs`, may be sent a second one starting with `next`.
   */
  mayQueueBehind(held: Task | undefined, busyMs: number, next: Task | undefined): boolean {
    if (!held || !next || busyMs > BUSY_LIMIT_MS) return false;
    return this.expectedUs(held) < QUEUE_BEHIND_US && this.expectedUs(next) < QUEUE_BEHIND_US;
  }

  /** Every one of the `n` tasks of `tasks` from `from` on is measured at under `us` µs: a batch of a few comes back within a spin. */
  quickerThan(tasks: readonly Task[], from: number, n: number, us: number): boolean {
    for (let i = from; i < from + n; i++) if (!(this.expectedUs(tasks[i]!) < us)) return false;
    return true;
  }
}
