/**
 * The pool's task queue: one FIFO of tasks waiting for a worker (Python's `Pool._taskqueue`,
 * `ProcessPoolExecutor._pending_work_items`). Tasks leave it from the front, in batches; a task
 * withdrawn while queued (cancelled) stays in the array, marked `done`, and is skipped, so a
 * cancel costs O(1); tasks whose worker died before they started go back to the front.
 */
import type { Task } from './task.ts';

export class TaskQueue {
  #tasks: Task[] = [];
  /** Index of the first entry not taken yet (entries before it have left). */
  #head = 0;
  /** Tasks still `queued`: withdrawn ones are not counted. */
  #size = 0;

  /** Tasks waiting for a worker. */
  get size(): number {
    return this.#size;
  }

  push(task: Task): void {
    this.#tasks.push(task);
    this.#size++;
  }

  /** Puts tasks back at the front, in their order (their worker died before they started). */
  pushFront(tasks: Task[]): void {
    if (tasks.length === 0) return;
    this.#tasks.splice(this.#head, 0, ...tasks);
    this.#size += tasks.length;
  }

  /** The first task still queued, left in the queue; skips withdrawn ones for good. */
  peek(): Task | undefined {
    const tasks = this.#tasks;
    while (this.#head < tasks.length) {
      const task = tasks[this.#head]!;
      if (task.state === 'queued') return task;
      this.#head++;
    }
    if (this.#head > 0) {
      // Only tasks that left were there: let them go.
      this.#tasks = [];
      this.#head = 0;
    }
    return undefined;
  }

  /** Takes the task {@link peek} returned. */
  shift(): void {
    this.#head++;
    this.#size--;
    if (this.#head > 1024 && this.#head * 2 > this.#tasks.length) {
      this.#tasks = this.#tasks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** A queued task was withdrawn (its state is now `done`); it stays in the array until it reaches the front. */
  withdrawn(): void {
    this.#size--;
  }

  /** Every task still queued, front first; tasks pushed while iterating are included. */
  *queued(): Generator<Task> {
    for (let i = this.#head; i < this.#tasks.length; i++) {
      const task = this.#tasks[i]!;
      if (task.state === 'queued') yield task;
    }
  }
}
