// Shared memory: Value and Array (multiprocessing.Value / multiprocessing.Array), and their raw
// forms; typecodes.ts maps Python's typecodes to typed arrays. Their memory regions come from
// ../internal/cells.ts, as the sync primitives' do.
export { RawValue } from './raw-value.ts';
export { Value } from './value.ts';
export type { SynchronizedOptions } from './synchronized.ts';
export { RawArray } from './raw-array.ts';
export { SharedArray } from './array.ts';
export { TYPECODES, type Typecode, type ElementOf, type ViewOf } from './typecodes.ts';
