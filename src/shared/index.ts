// Shared memory: Value and Array (multiprocessing.Value / multiprocessing.Array), and their raw forms.
export { RawValue } from './raw-value.ts';
export { Value, type SynchronizedOptions } from './value.ts';
export { RawArray } from './raw-array.ts';
export { SharedArray } from './array.ts';
export { TYPECODES, type Typecode, type ElementOf, type ViewOf } from './typecodes.ts';
