/**
 * Python's `array`/`ctypes` typecodes, mapped to typed arrays. 'q' and 'Q' hold `bigint`s;
 * every other code holds `number`s. 'l' and 'L' are 32-bit here (JavaScript has no 64-bit
 * number type; use 'q'/'Q' for 64-bit integers). An integer code takes only integers in its
 * range: anything else is refused, not wrapped (see `checkElement`).
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

/** The integers each integer typecode holds; a typed array would wrap anything else silently. */
const RANGES: Partial<Record<Typecode, readonly [number | bigint, number | bigint]>> = {
  b: [-(2 ** 7), 2 ** 7 - 1],
  B: [0, 2 ** 8 - 1],
  h: [-(2 ** 15), 2 ** 15 - 1],
  H: [0, 2 ** 16 - 1],
  i: [-(2 ** 31), 2 ** 31 - 1],
  I: [0, 2 ** 32 - 1],
  l: [-(2 ** 31), 2 ** 31 - 1],
  L: [0, 2 ** 32 - 1],
  q: [-(2n ** 63n), 2n ** 63n - 1n],
  Q: [0n, 2n ** 64n - 1n],
};

/**
 * Checks an element value for `typecode`: a bigint for 'q'/'Q', a number otherwise; for an
 * integer typecode, an integer it can hold. A typed array would store 1.5 as 1, NaN as 0 and
 * 2 ** 40 in 'l' as 0 (CPython raises TypeError for the float; its C long holds 2 ** 40).
 */
export function checkElement(typecode: Typecode, v: unknown, what: string): void {
  const big = typecode === 'q' || typecode === 'Q';
  if (big ? typeof v !== 'bigint' : typeof v !== 'number') {
    throw new InvalidArgumentError(`${what}: typecode '${typecode}' holds ${big ? 'bigint' : 'number'}s, got \`${String(v)}\` (${typeof v})`);
  }
  const range = RANGES[typecode];
  if (range === undefined) return; // 'f', 'd': any number
  if (!big && !Number.isInteger(v)) {
    throw new InvalidArgumentError(
      `${what}: typecode '${typecode}' holds integers, got \`${String(v)}\`; round it first (Math.round, Math.trunc), or use 'd' for fractions`,
    );
  }
  const [min, max] = range;
  if ((v as number | bigint) < min || (v as number | bigint) > max) {
    const wider =
      typecode === 'l' || typecode === 'L'
        ? ` ('${typecode}' is 32-bit here, where CPython's C long is 64-bit on Linux: use '${typecode === 'l' ? 'q' : 'Q'}', which holds bigints, for 64-bit integers)`
        : '';
    throw new InvalidArgumentError(`${what}: typecode '${typecode}' holds integers from ${min} to ${max}, got \`${String(v)}\`${wider}`);
  }
}
