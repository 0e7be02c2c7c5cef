/**
 * `RawValue`: one number in shared memory, without a lock (Python's
 * `multiprocessing.sharedctypes.RawValue`).
 */
import { kShare, registerShareable, type SharedState } from '../internal/shareable.ts';
import type { MemoryOptions } from '../internal/cells.ts';
import { checkElement, viewFor, type ElementOf, type Typecode, type ViewOf } from './typecodes.ts';
import type { SharedMemory } from '../internal/cells.ts';

export interface RawValueState {
  typecode: Typecode;
  buffer: SharedMemory;
  byteOffset: number;
}

/**
 * One element of a typecode ('i', 'd', 'q'…, see `Typecode`) in shared memory. Every thread the
 * value is passed to reads and writes the same memory.
 *
 * A single read or write of an element of up to 32 bits is never torn; `'d'`, `'q'` and `'Q'`
 * reads may in theory be torn by a concurrent write. Nothing makes `v.value += 1` atomic: guard
 * read-modify-write with a lock (see `Value`).
 */
export class RawValue<T extends Typecode = Typecode> {
  /** The typecode, such as 'i' or 'd'. */
  readonly typecode: T;
  /** A one-element typed array over the value's memory. */
  readonly view: ViewOf<T>;

  /**
   * @param value the initial value (default 0, or 0n for 'q'/'Q'); ignored when attaching to
   *   `options.buffer`.
   */
  constructor(typecode: T, value?: ElementOf<T>, options?: MemoryOptions) {
    const what = `new ${new.target.name}()`;
    const { view, fresh } = viewFor(typecode, 1, options, what);
    this.typecode = typecode;
    this.view = view;
    if (fresh && value !== undefined) {
      checkElement(typecode, value, what);
      view[0] = value;
    }
  }

  /** The value (the memory as it is now). */
  get value(): ElementOf<T> {
    return this.view[0] as ElementOf<T>;
  }

  set value(v: ElementOf<T>) {
    checkElement(this.typecode, v, `${this.constructor.name}.value`);
    this.view[0] = v;
  }

  [kShare](): SharedState {
    return { type: 'RawValue', state: this.rawState() };
  }

  protected rawState(): RawValueState {
    return { typecode: this.typecode, buffer: this.view.buffer, byteOffset: this.view.byteOffset };
  }
}

registerShareable('RawValue', (s: RawValueState) => new RawValue(s.typecode, undefined, s));
