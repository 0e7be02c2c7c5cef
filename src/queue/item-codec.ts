/**
 * How an item becomes bytes in a ring and back: the structured-clone algorithm, as
 * `v8.serialize` writes it, with short cuts that give the same result faster.
 *
 * `v8.serialize` builds a serializer object per call, which costs microseconds. So:
 * - numbers, well-formed strings, booleans, `null` and `undefined` are written by hand (one
 *   tag byte, then the value);
 * - small plain data (plain objects and short dense arrays of strings, finite numbers other
 *   than -0, booleans and `null`, without shared references) is written as JSON, which
 *   round-trips exactly that data exactly as structured clone does; each property is read once;
 * - everything else goes through V8's serializer.
 *
 * On the way back, typed arrays get a buffer of their own: `v8.deserialize` would return views
 * into the bytes it read, so `item.buffer` would be larger than the array (structured clone,
 * as `postMessage` does it, gives each its own exact buffer).
 */
import type { DefaultDeserializer as Deserializer } from 'node:v8';
import { builtin } from '../internal/builtin.ts';
import { NotCloneableError } from '../errors.ts';
import { isShareable } from '../internal/shareable.ts';

const V8 = 0;
const NUMBER = 1;
const STRING = 2;
const TRUE = 3;
const FALSE = 4;
const NULL = 5;
const UNDEFINED = 6;
const JSON_TEXT = 7;

const ONE_BYTE: Record<number, Uint8Array> = {
  [V8]: Uint8Array.of(V8),
  [TRUE]: Uint8Array.of(TRUE),
  [FALSE]: Uint8Array.of(FALSE),
  [NULL]: Uint8Array.of(NULL),
  [UNDEFINED]: Uint8Array.of(UNDEFINED),
};

// Encodings of primitives are written into these per-thread buffers; see `stable`.
const scratch = Buffer.allocUnsafeSlow(1024);
const numberBytes = new Uint8Array(9);
const numberView = new DataView(numberBytes.buffer);
const decodeBytes = new Uint8Array(8);
const decodeView = new DataView(decodeBytes.buffer);
const utf8 = new TextEncoder();
const isProxy = builtin('node:util').types.isProxy;

/**
 * Encodes `item`; `what` names the call in errors (`Queue.put()`). The bytes may live in a
 * buffer the next call reuses: copy them in at once, or keep `stable(bytes)`.
 */
export function encodeItem(item: unknown, what: string): Uint8Array {
  switch (typeof item) {
    case 'number':
      numberBytes[0] = NUMBER;
      numberView.setFloat64(1, item, true);
      return numberBytes;
    case 'string':
      if (item.isWellFormed()) return encodeString(item, STRING);
      break;
    case 'boolean':
      return ONE_BYTE[item ? TRUE : FALSE]!;
    case 'undefined':
      return ONE_BYTE[UNDEFINED]!;
    case 'object':
      if (item === null) return ONE_BYTE[NULL]!;
      // `seen` in use: a getter of an item being written puts another; let V8 write that one.
      if (seen.length === 0) {
        let text: string | undefined;
        try {
          text = plainJson(item, 0);
        } finally {
          seen.length = 0;
        }
        if (text !== undefined) return encodeString(text, JSON_TEXT);
      }
      break;
  }
  if (typeof item === 'object' && item !== null) refuseUncopyable(item, 'item', what);
  try {
    const ser = new (builtin('node:v8').DefaultSerializer)();
    ser.writeRawBytes(ONE_BYTE[V8]!);
    ser.writeHeader();
    ser.writeValue(item);
    return ser.releaseBuffer();
  } catch (err) {
    throw new NotCloneableError('item', `${what}: the item cannot be copied by the structured-clone algorithm: ${(err as Error).message}`, { cause: err });
  }
}

/** Objects on the path being written, and every object written: a second visit means a shared reference or a cycle. */
const seen: object[] = [];
const MAX_JSON_OBJECTS = 64;
const MAX_JSON_ARRAY = 256;
const MAX_JSON_DEPTH = 16;

/**
 * `value` as JSON text if JSON carries it exactly as structured clone would, else `undefined`
 * (then V8's serializer takes the whole item). Property values are read once, here.
 */
function plainJson(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? String(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  if (depth >= MAX_JSON_DEPTH || seen.length >= MAX_JSON_OBJECTS || seen.includes(value) || isProxy(value)) return undefined;
  seen.push(value);
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    const array = value as unknown[];
    const n = array.length;
    // Holes and extra named properties survive structured clone but not JSON.
    if (n > MAX_JSON_ARRAY || Object.keys(array).length !== n) return undefined;
    let out = '[';
    for (let i = 0; i < n; i++) {
      const v = plainJson(array[i], depth + 1);
      if (v === undefined) return undefined;
      out += i === 0 ? v : ',' + v;
    }
    return out + ']';
  }
  if (proto !== Object.prototype && proto !== null) return undefined;
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const v = plainJson((value as Record<string, unknown>)[key], depth + 1);
    if (v === undefined) return undefined;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + v;
    first = false;
  }
  return out + '}';
}

/** `bytes` from `encodeItem`, copied if they live in a reused buffer: for a put that must wait. */
export function stable(bytes: Uint8Array): Uint8Array {
  // Not `bytes.slice()`: on a Buffer that is a view, not a copy.
  return bytes === numberBytes || bytes.buffer === scratch.buffer ? new Uint8Array(bytes) : bytes;
}

function encodeString(s: string, tag: number): Uint8Array {
  // Worst case 3 bytes per UTF-16 unit; measure long strings instead of over-allocating.
  const size = s.length <= 4096 ? 1 + 3 * s.length : 1 + Buffer.byteLength(s, 'utf8');
  if (size <= scratch.length) {
    scratch[0] = tag;
    return scratch.subarray(0, 1 + utf8.encodeInto(s, scratch.subarray(1)).written);
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = tag;
  return out.subarray(0, 1 + out.write(s, 1, 'utf8'));
}

/** Decodes bytes from `encodeItem`. Keeps no reference to `bytes`, so they may be reused after. */
export function decodeItem(bytes: Uint8Array): unknown {
  switch (bytes[0]) {
    case NUMBER:
      for (let i = 0; i < 8; i++) decodeBytes[i] = bytes[1 + i]!;
      return decodeView.getFloat64(0, true);
    case STRING:
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8', 1);
    case JSON_TEXT:
      return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8', 1));
    case TRUE:
      return true;
    case FALSE:
      return false;
    case NULL:
      return null;
    case UNDEFINED:
      return undefined;
    default: {
      const des = new (exactDeserializer())(bytes.subarray(1));
      des.readHeader();
      return des.readValue();
    }
  }
}

// Node's hook for the typed arrays it writes as host objects (not in @types/node).
type HostReader = { _readHostObject(this: Deserializer): NodeJS.TypedArray | DataView };
let ExactDeserializer: typeof Deserializer | undefined;

/**
 * A deserializer that gives every typed array and `Buffer` it reads an exact buffer of its own.
 * Made on first use: `node:v8` costs a cold start ~2 ms, and most runs never read a queue item.
 */
function exactDeserializer(): typeof Deserializer {
  if (ExactDeserializer) return ExactDeserializer;
  const { DefaultDeserializer } = builtin('node:v8');
  const Exact = class ExactDeserializer extends DefaultDeserializer {};
  const readView = (DefaultDeserializer.prototype as unknown as HostReader)._readHostObject;
  (Exact.prototype as unknown as HostReader)._readHostObject = function () {
    const view = readView.call(this);
    const own = new ArrayBuffer(view.byteLength);
    new Uint8Array(own).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    if (Buffer.isBuffer(view)) return Buffer.from(own);
    if (view instanceof DataView) return new DataView(own);
    return new (view.constructor as new (buffer: ArrayBuffer) => NodeJS.TypedArray)(own);
  };
  ExactDeserializer = Exact;
  return Exact;
}

/**
 * The prototypes structured clone keeps: an object with any other (an instance of the program's
 * own class, an Error subclass) would arrive as a plain object or a plain Error, its class lost.
 */
let keptPrototypes: Set<object> | undefined;
function keepsClass(proto: object | null): boolean {
  keptPrototypes ??= new Set<object>([
    Object.prototype,
    Array.prototype,
    Map.prototype,
    Set.prototype,
    Date.prototype,
    RegExp.prototype,
    ArrayBuffer.prototype,
    DataView.prototype,
    Boolean.prototype,
    Number.prototype,
    String.prototype,
    BigInt.prototype,
    Buffer.prototype,
    ...[Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((E) => E.prototype),
    ...[
      Int8Array,
      Uint8Array,
      Uint8ClampedArray,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
      Float32Array,
      Float64Array,
      BigInt64Array,
      BigUint64Array,
    ].map((T) => T.prototype),
    // Node 24 has it (and structured clone keeps it); Node 22 does not.
    ...(typeof (globalThis as { Float16Array?: { prototype: object } }).Float16Array === 'function'
      ? [(globalThis as unknown as { Float16Array: { prototype: object } }).Float16Array.prototype]
      : []),
  ]);
  return proto === null || keptPrototypes.has(proto);
}

const ERROR_NAMES = new Set(['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError']);

/**
 * Whether an object of prototype `proto` arrives as the same kind of object: a kept prototype,
 * Node's own errors (a `RangeError` with a `code`: it arrives as a RangeError, its kind kept),
 * and, for messages (`platform`), the classes Node's messaging copies as themselves (those on
 * the global object: DOMException, Blob, File…).
 */
function arrivesAsItself(proto: object | null, platform: boolean): boolean {
  if (keepsClass(proto)) return true;
  const ctor = (proto as { constructor?: unknown } | null)?.constructor;
  const name = typeof ctor === 'function' ? ctor.name : '';
  const global = (globalThis as Record<string, unknown>)[name];
  if (typeof global !== 'function') return false;
  if (global !== ctor) return false;
  // Node's own errors have a prototype of their own whose constructor is the built-in one.
  return ERROR_NAMES.has(name) || platform;
}

export interface CopyCheck {
  /** Where it goes: a Thread's message may hold SharedArrayBuffers, which Threads share. */
  sharedOk?: boolean;
  /** A message (Node's messaging), which copies platform objects as themselves; not a queue item (v8.serialize). */
  platform?: boolean;
}

/**
 * Throws `NotCloneableError` naming the path of what cannot be copied as it is inside `value`:
 * a threadkit primitive (V8 would copy it as an empty object, silently), a `SharedArrayBuffer`
 * (V8 rejects it with a less helpful message), or an instance of a class of the program's own
 * (V8 would copy its fields into a plain object: `instanceof` would fail on the other side).
 * Primitives are skipped without building a path; the path is built only for an object.
 */
export function refuseUncopyable(value: object, path: string, what: string, check: CopyCheck = {}, seen: Set<object> = new Set(), depth = 0): void {
  const shared = value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer);
  if (isShareable(value) || (shared && !check.sharedOk)) {
    throw new NotCloneableError(
      path,
      `${what}: ${path} is ${describe(value)}, which lives in shared memory and cannot be copied ${check.platform ? 'into a message to another process. Pass it to the Process in its `args` instead.' : 'into a queue or pipe. Pass it to the Thread in its `args` instead.'}`,
    );
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (!arrivesAsItself(proto, check.platform === true)) {
    const name = (proto?.constructor as Function | undefined)?.name || 'an unnamed class';
    throw new NotCloneableError(
      path,
      `${what}: ${path} is an instance of ${name}, which would arrive as a plain ${value instanceof Error ? 'Error' : 'object'} without its class (messages, queues and pipes copy data by the structured-clone algorithm). Send its fields as a plain object and rebuild it on the other side, or pass it in a Process's or Thread's \`args\`, which keep exported classes.`,
    );
  }
  if (depth > 32 || seen.has(value) || ArrayBuffer.isView(value) || shared) return;
  seen.add(value);
  const visit = (v: unknown, at: () => string) => {
    if (typeof v === 'object' && v !== null) refuseUncopyable(v, at(), what, check, seen, depth + 1);
  };
  if (value instanceof Map) {
    for (const [k, v] of value) {
      visit(k, () => `${path}.<key>`);
      visit(v, () => `${path}.get(${typeof k === 'object' ? '…' : String(k)})`);
    }
  } else if (value instanceof Set) {
    for (const v of value) visit(v, () => `${path}.<member>`);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null) visit(v, () => `${path}[${i}]`);
    }
  } else {
    for (const key of Object.keys(value)) visit((value as Record<string, unknown>)[key], () => `${path}.${key}`);
  }
}

function describe(item: object): string {
  const name = (item.constructor as Function | undefined)?.name;
  return name ? `a ${name}` : 'an object';
}

/**
 * Sends `data` as a message with `send` (a `postMessage` or `process.send`), checked as an item
 * is: what structured clone would change silently is refused first (see `refuseUncopyable`), and
 * what it cannot copy at all (a function, a symbol) fails as `NotCloneableError`, not as V8's
 * `DataCloneError`. `what` names the call in errors.
 */
export function sendChecked(data: unknown, what: string, to: 'thread' | 'process', send: () => void): void {
  if (typeof data === 'object' && data !== null) refuseUncopyable(data, 'message', what, { sharedOk: to === 'thread', platform: true });
  try {
    send();
  } catch (err) {
    if (err instanceof NotCloneableError || !/could not be cloned|DataCloneError|cannot be cloned/i.test(`${(err as Error)?.name} ${(err as Error)?.message}`))
      throw err;
    throw new NotCloneableError('message', `${what}: the message cannot be copied by the structured-clone algorithm: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
