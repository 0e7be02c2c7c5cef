/**
 * The protocol by which an object that lives in shared memory crosses to another thread.
 *
 * A shareable class implements `[kShare]()`, returning a description of its state (usually a
 * `SharedArrayBuffer` and offsets; it may contain other shareables), and registers a reviver
 * under a stable type name. The argument codec sends `{ type, state }` and the receiving side
 * calls the reviver, which rebuilds an object over the same memory.
 */
export const kShare: unique symbol = Symbol.for('threadkit.share');

export interface Shareable {
  [kShare](): SharedState;
}

export interface SharedState {
  /** The registered type name, such as `'Lock'`. */
  type: string;
  /** Structured-cloneable state; may contain other shareables, which the codec encodes too. */
  state: unknown;
}

export type Reviver = (state: any) => object;

const revivers = new Map<string, Reviver>();

export function registerShareable(type: string, revive: Reviver): void {
  revivers.set(type, revive);
}

export function reviverFor(type: string): Reviver | undefined {
  return revivers.get(type);
}

export function isShareable(value: object): value is Shareable {
  return typeof (value as Partial<Shareable>)[kShare] === 'function';
}
