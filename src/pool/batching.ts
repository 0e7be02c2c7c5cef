/**
 * The batching policy: how many tasks go to a worker in one message, and how many batches a
 * worker may hold. It follows the measured time per task (workers report how long they were
 * busy): about `TARGET_BATCH_US` of work per batch, at most `MAX_BATCH` tasks. A fresh pool
 * sends one task per batch until it has measured, so tasks longer than ~1 ms always travel
 * alone; the dispatcher further caps a batch at a fair share of the queue. (Python's `Pool.map`
 * picks its chunksize once, from the length alone: len / (4 × processes); this one follows the
 * time the tasks take, so `chunksize` is rarely needed for speed.)
 */

/** Work per batch the pool aims for, in microseconds of the workers' time. */
const TARGET_BATCH_US = 1000;
/** The most tasks in one message. */
const MAX_BATCH = 1024;
/** Batches a worker holds at once: one running, one waiting, so it never idles for a round trip. */
export const BATCHES_PER_WORKER = 2;

export class BatchPolicy {
  /** Moving average of the time per task, in µs; -1 until the first results. */
  #avgUs = -1;

  /** A worker reported `n` results that kept it busy for `us` microseconds. */
  record(n: number, us: number): void {
    if (n === 0) return;
    const sample = us / n;
    this.#avgUs = this.#avgUs < 0 ? sample : this.#avgUs * 0.7 + sample * 0.3;
  }

  /** Tasks in the next batch (before the dispatcher's fair-share cap). */
  size(): number {
    if (this.#avgUs < 0) return 1;
    return Math.max(1, Math.min(MAX_BATCH, Math.floor(TARGET_BATCH_US / Math.max(this.#avgUs, 0.01))));
  }

  /** Tasks measured at under `us` microseconds each: a batch of a few comes back within a spin. */
  quickerThan(us: number): boolean {
    return this.#avgUs >= 0 && this.#avgUs < us;
  }

  /**
   * Batches a worker may hold. A second one hides the round trip for tiny tasks; for tasks of
   * unknown or long duration it would only strand a task behind a busy worker while another idles.
   */
  depth(): number {
    return this.#avgUs >= 0 && this.#avgUs < TARGET_BATCH_US / 4 ? BATCHES_PER_WORKER : 1;
  }
}
