/**
 * `RawArray`: a fixed-length array of numbers in shared memory, without a lock (Python's
 * `multiprocessing.RawArray`).
 */
import { InvalidArgumentError } from '../errors.ts';
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import type { MemoryOptions } from '../internal/cells.ts';
import { checkElement, viewFor, type ElementOf, type Typecode, type ViewOf } from './typecodes.ts';
import type { SharedMemory } from '../internal/cells.ts';

export interface RawArrayState {
  typecode: Typecode;
  buffer: SharedMemory;
  byteOffset: number;
  length: number;
}

/**
 * A fixed-length array of one typecode in shared memory; every thread it is passed to sees the
 * same elements. Created zeroed from a length, or from initial elements:
 * `new RawArray('d', 10)`, `new RawArray('i', [1, 2, 3])`.
 *
 * Single element accesses behave as `RawValue`'s; nothing makes a sequence of them atomic.
 */
export class RawArray<T extends Typecode = Typecode> implements Iterable<ElementOf<T>> {
  readonly typecode: T;
  /** A typed array over the elements' memory (fast bulk access, `Atomics` for integer codes). */
  readonly view: ViewOf<T>;

  /**
   * @param sizeOrInit the length (elements start at 0), or the initial elements; when
   *   attaching to `options.buffer` pass the length.
   */
  constructor(typecode: T, sizeOrInit: number | Iterable<ElementOf<T>>, options?: MemoryOptions) {
    const what = `new ${new.target.name}()`;
    const init = typeof sizeOrInit === 'number' ? undefined : Array.from(sizeOrInit);
    const length = init ? init.length : (sizeOrInit as number);
    if (!Number.isInteger(length) || length < 0) {
      throw new InvalidArgumentError(`${what}: expected a length (an integer from 0 up) or an iterable of initial elements, got \`${String(sizeOrInit)}\``);
    }
    const { view } = viewFor(typecode, length, options, what);
    this.typecode = typecode;
    this.view = view;
    if (init) {
      init.forEach((v, i) => {
        checkElement(typecode, v, `${what}[${i}]`);
        view[i] = v;
      });
    }
  }

  /** The number of elements. */
  get length(): number {
    return this.view.length;
  }

  /** The element at `index`; a negative one counts from the end, as in Python (`-1`: the last). Out of range: `InvalidArgumentError`. */
  get(index: number): ElementOf<T> {
    return this.view[this.#check(index, 'get')] as ElementOf<T>;
  }

  /** Writes the element at `index` (negative: from the end, as for `get`). */
  set(index: number, value: ElementOf<T>): void {
    const i = this.#check(index, 'set');
    checkElement(this.typecode, value, `${this.constructor.name}.set()`);
    this.view[i] = value;
  }

  /** A copy of the elements as a plain array. */
  toArray(): ElementOf<T>[] {
    return Array.from(this.view as Iterable<ElementOf<T>>);
  }

  [Symbol.iterator](): Iterator<ElementOf<T>> {
    return (this.view as Iterable<ElementOf<T>>)[Symbol.iterator]();
  }

  [kShare](): SharedState {
    return { type: 'RawArray', state: this.rawState() };
  }

  protected rawState(): RawArrayState {
    return { typecode: this.typecode, buffer: this.view.buffer, byteOffset: this.view.byteOffset, length: this.view.length };
  }

  #check(index: number, op: string): number {
    const n = this.view.length;
    if (!Number.isInteger(index) || index < -n || index >= n) {
      throw new InvalidArgumentError(
        `${this.constructor.name}.${op}(): index \`${String(index)}\` is out of range ${-n}..${n - 1} (negative counts from the end)`,
      );
    }
    return index < 0 ? index + n : index;
  }
}

registerShareable('RawArray', (s: RawArrayState) => new RawArray(s.typecode, s.length, s));
