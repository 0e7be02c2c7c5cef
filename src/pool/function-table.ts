/**
 * The functions a pool's tasks call, each registered once under an index. A task names its
 * function by that index; a worker learns the functions in index order, the first time a batch
 * it is sent needs them (a `run` message's `fns`), so a function crosses once per worker, not
 * once per task. The worker's side is the table in worker-loop.ts.
 */
import type { ExportRef } from '../internal/target.ts';

export class FunctionTable {
  /** By the ref object (`resolveTarget` hands out one per function: the common, fast case)… */
  readonly #byRef = new Map<ExportRef, number>();
  /** …then by module#name, for another ref to the same export. */
  readonly #byName = new Map<string, number>();
  readonly #fns: ExportRef[] = [];

  /** The index of `fn`, registering it the first time. */
  indexOf(fn: ExportRef): number {
    const index = this.#byRef.get(fn);
    return index === undefined ? this.#register(fn) : index;
  }

  /** The functions at indices `from` up to `to`, excluded: what a worker that knows `from` of them must learn. */
  slice(from: number, to: number): ExportRef[] {
    return this.#fns.slice(from, to);
  }

  #register(fn: ExportRef): number {
    const key = `${fn.url}#${fn.exportName}`;
    let index = this.#byName.get(key);
    if (index === undefined) {
      index = this.#fns.length;
      this.#fns.push(fn);
      this.#byName.set(key, index);
    }
    this.#byRef.set(fn, index);
    return index;
  }
}
