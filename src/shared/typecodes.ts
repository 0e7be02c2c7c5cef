/**
 * Python's `array`/`ctypes` typecodes, mapped to typed arrays. 'q' and 'Q' hold `bigint`s;
 * every other code holds `number`s. 'l' and 'L' are 32-bit here (JavaScript has no 64-bit
 * number type; use 'q'/'Q' for 64-bit integers).
 */
import { InvalidArgumentError } from '../errors.ts';
import { region, type MemoryOptions, type SharedMemory } from '../internal/cells.ts';
import { originOf } from '../internal/shm.ts';

export const TYPECODES = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  l: Int32Array,
  L: Uint32Array,
  q: BigInt64Array,
  Q: BigUint64Array,
  f: Float32Array,
  d: Float64Array,
} as const;

export type Typecode = keyof typeof TYPECODES;
export type BigTypecode = 'q' | 'Q';
/** The JavaScript type of an element: `bigint` for 'q'/'Q', `number` otherwise. */
export type ElementOf<T extends Typecode> = T extends BigTypecode ? bigint : number;
interface Views {
  b: Int8Array<SharedMemory>;
  B: Uint8Array<SharedMemory>;
  h: Int16Array<SharedMemory>;
  H: Uint16Array<SharedMemory>;
  i: Int32Array<SharedMemory>;
  I: Uint32Array<SharedMemory>;
  l: Int32Array<SharedMemory>;
  L: Uint32Array<SharedMemory>;
  q: BigInt64Array<SharedMemory>;
  Q: BigUint64Array<SharedMemory>;
  f: Float32Array<SharedMemory>;
  d: Float64Array<SharedMemory>;
}
/** The typed array that views elements of typecode `T` in shared memory. */
export type ViewOf<T extends Typecode> = Views[T];
type ViewCtor<T extends Typecode> = { new (buffer: SharedMemory, byteOffset?: number, length?: number): ViewOf<T>; BYTES_PER_ELEMENT: number };

export function ctorOf(typecode: string, what: string): (typeof TYPECODES)[Typecode] {
  if (!Object.hasOwn(TYPECODES, typecode)) {
    throw new InvalidArgumentError(`${what}: expected a typecode among ${Object.keys(TYPECODES).join(', ')}, got \`${String(typecode)}\``);
  }
  return TYPECODES[typecode as Typecode];
}

/** Allocates or attaches `length` elements of `typecode` in shared memory. */
export function viewFor<T extends Typecode>(
  typecode: T,
  length: number,
  options: MemoryOptions | undefined,
  what: string,
): { view: ViewOf<T>; fresh: boolean } {
  const Ctor = ctorOf(typecode, what) as unknown as ViewCtor<T>;
  const bytes = length * Ctor.BYTES_PER_ELEMENT;
  const buffer = options?.buffer;
  if (buffer === undefined) {
    const r = region(Math.max(bytes, 8), { memory: options?.memory }, what);
    return { view: new Ctor(r.buffer, r.byteOffset, length), fresh: true };
  }
  if (!(buffer instanceof SharedArrayBuffer) && !originOf(buffer)) {
    throw new InvalidArgumentError(`${what}: expected \`buffer\` to be a SharedArrayBuffer or threadkit's process-shared memory`);
  }
  const byteOffset = options?.byteOffset ?? 0;
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % Ctor.BYTES_PER_ELEMENT !== 0 || byteOffset + bytes > buffer.byteLength) {
    throw new InvalidArgumentError(
      `${what}: expected \`byteOffset\` to be a multiple of ${Ctor.BYTES_PER_ELEMENT} with ${bytes} bytes after it inside a ${buffer.byteLength}-byte buffer, got \`${String(byteOffset)}\``,
    );
  }
  return { view: new Ctor(buffer, byteOffset, length), fresh: false };
}

/** Checks an element value for `typecode`: a bigint for 'q'/'Q', a number otherwise. */
export function checkElement(typecode: Typecode, v: unknown, what: string): void {
  const big = typecode === 'q' || typecode === 'Q';
  if (big ? typeof v !== 'bigint' : typeof v !== 'number') {
    throw new InvalidArgumentError(`${what}: typecode '${typecode}' holds ${big ? 'bigint' : 'number'}s, got \`${String(v)}\` (${typeof v})`);
  }
}
