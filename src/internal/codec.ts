/**
 * What crosses to a thread or process: arguments, results, instances of user classes, errors.
 *
 * The structured-clone algorithm alone would copy a `Lock` as an empty object and flatten a
 * class instance into a plain one, silently. The codec walks the value first and turns
 * - threadkit primitives (anything with `[kShare]`) into `{ type, state }` that revive over the same memory,
 * - instances of exported user classes into their class (the export that is that very class) plus their fields (Python's pickle rule),
 * - errors into their class (built-in, threadkit's, or an exported subclass), message, stack, cause and own properties,
 * and rejects what cannot cross (functions, symbols, promises…) with the path of the bad value.
 */
import * as errorClasses from '../errors.ts';
import { NotCloneableError } from '../errors.ts';
import { isShareable, kShare, reviverFor } from './shareable.ts';
import { attach, originOf, type ShmRef } from './shm.ts';
import { describeTarget, loadTarget, type TargetRef } from './target.ts';

export type Destination = 'thread' | 'process';

const TAG = '__threadkit';
type Tagged =
  | { [TAG]: 'share'; type: string; state: unknown }
  | { [TAG]: 'object'; cls: TargetRef; fields: Record<string, unknown> }
  | { [TAG]: 'error'; name: string; cls?: TargetRef; message: string; stack?: string; cause?: unknown; hasCause: boolean; props: Record<string, unknown> }
  | { [TAG]: 'plain'; value: Record<string, unknown> }
  | { [TAG]: 'shm'; ref: ShmRef; view?: string; byteOffset?: number; length?: number };

/** Built-in types that the structured-clone algorithm copies faithfully. */
const CLONEABLE: Function[] = [Date, RegExp, Map, Set, ArrayBuffer, DataView, Boolean, Number, String, BigInt, Blob];
const TYPED_ARRAY = Object.getPrototypeOf(Int8Array) as Function;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return value.name ? `the function \`${value.name}\`` : 'an anonymous function';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const ctor = (value as object).constructor as Function | undefined;
  return ctor?.name ? `a ${ctor.name}` : 'an object without a prototype';
}

interface EncodeContext {
  dest: Destination;
  memo: Map<object, unknown>;
}

function fail(path: string, value: unknown, ctx: EncodeContext, why: string): never {
  throw new NotCloneableError(path, `${path} is ${kindOf(value)}, which cannot be sent to a ${ctx.dest}: ${why}`);
}

function encodeValue(value: unknown, path: string, ctx: EncodeContext): unknown {
  switch (typeof value) {
    case 'function':
      return fail(path, value, ctx, 'functions do not cross. Pass data, or export the function and pass it as the `target`.');
    case 'symbol':
      return fail(path, value, ctx, 'symbols are unique to one thread. Pass a string instead.');
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  const seen = ctx.memo.get(value);
  if (seen !== undefined) return seen;

  if (isShareable(value)) {
    const { type, state } = value[kShare]();
    if (ctx.dest === 'process' && containsSharedMemory(state)) {
      fail(
        path,
        value,
        ctx,
        "its state lives in a SharedArrayBuffer, which cannot cross fork(). Create it with `{ memory: 'process' }` " +
          '(needs the shared-memory addon, built at install on Linux), or use a Thread.',
      );
    }
    const out: Tagged = { [TAG]: 'share', type, state: undefined };
    ctx.memo.set(value, out);
    out.state = encodeValue(state, `${path}.<${type}>`, ctx);
    return out;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    ctx.memo.set(value, out);
    for (let i = 0; i < value.length; i++) out[i] = encodeValue(value[i], `${path}[${i}]`, ctx);
    return out;
  }
  if (value instanceof Error) return encodeError(value, path, ctx);
  const shm = encodeProcessShared(value);
  if (shm) return shm;
  if (value instanceof SharedArrayBuffer) {
    if (ctx.dest === 'process') fail(path, value, ctx, 'shared memory cannot cross fork(). Use a Thread for shared memory.');
    return value;
  }
  if (value instanceof Map) return encodeMap(value, path, ctx);
  if (value instanceof Set) return encodeSet(value, path, ctx);
  if (value instanceof TYPED_ARRAY || CLONEABLE.some((c) => value instanceof c)) return value;

  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const fields: Record<string, unknown> = {};
    const out: unknown = TAG in value ? { [TAG]: 'plain', value: fields } : fields;
    ctx.memo.set(value, out);
    for (const key of Object.keys(value)) fields[key] = encodeValue((value as Record<string, unknown>)[key], `${path}.${key}`, ctx);
    return out;
  }
  return encodeInstance(value, proto, path, ctx);
}

/** Memory mapped from /dev/shm crosses by name: the other side maps the same file. */
function encodeProcessShared(value: object): Tagged | undefined {
  if (value instanceof ArrayBuffer) {
    const ref = originOf(value);
    return ref && { [TAG]: 'shm', ref };
  }
  if (ArrayBuffer.isView(value)) {
    const ref = originOf(value.buffer);
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return ref && { [TAG]: 'shm', ref, view: value.constructor.name, byteOffset: value.byteOffset, length };
  }
  return undefined;
}

function encodeMap(map: Map<unknown, unknown>, path: string, ctx: EncodeContext): unknown {
  const out = new Map();
  ctx.memo.set(map, out);
  let i = 0;
  for (const [k, v] of map) {
    out.set(encodeValue(k, `${path}.<key ${i}>`, ctx), encodeValue(v, `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : i})`, ctx));
    i++;
  }
  return out;
}

function encodeSet(set: Set<unknown>, path: string, ctx: EncodeContext): unknown {
  const out = new Set();
  ctx.memo.set(set, out);
  let i = 0;
  for (const v of set) out.add(encodeValue(v, `${path}.<item ${i++}>`, ctx));
  return out;
}

function encodeInstance(value: object, proto: object, path: string, ctx: EncodeContext): unknown {
  const ctor = (proto as { constructor?: unknown }).constructor;
  if (typeof ctor !== 'function' || value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) {
    return fail(path, value, ctx, 'only data, threadkit primitives and instances of exported classes can cross.');
  }
  let cls: TargetRef;
  try {
    cls = describeTarget(ctor, 'class');
  } catch (err) {
    throw new NotCloneableError(
      path,
      `${path} is ${kindOf(value)}: an instance crosses as its class (imported in the ${ctx.dest}) plus its fields, and ${(err as Error).message}`,
      { cause: err },
    );
  }
  const fields: Record<string, unknown> = {};
  const out: Tagged = { [TAG]: 'object', cls, fields };
  ctx.memo.set(value, out);
  for (const key of Object.keys(value)) fields[key] = encodeValue((value as Record<string, unknown>)[key], `${path}.${key}`, ctx);
  return out;
}

function encodeError(err: Error, path: string, ctx: EncodeContext): unknown {
  const props: Record<string, unknown> = {};
  const out: Tagged = { [TAG]: 'error', name: err.name, message: err.message, stack: err.stack, hasCause: 'cause' in err, props };
  const cls = errorClassRef(err);
  if (cls) out.cls = cls;
  ctx.memo.set(err, out);
  if ('cause' in err) out.cause = encodeLoosely(err.cause, `${path}.cause`, ctx);
  for (const key of Object.keys(err)) {
    if (key === 'cause' || key === 'name' || key === 'message' || key === 'stack') continue;
    props[key] = encodeLoosely((err as unknown as Record<string, unknown>)[key], `${path}.${key}`, ctx);
  }
  return out;
}

const BUILT_IN_ERRORS = new Set<Function>([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]);

/**
 * The class of a user's Error subclass, when it is exported (so the other side rebuilds that very
 * class); undefined for built-in and threadkit errors (rebuilt by name) and for classes no module
 * exports (they arrive as an Error with their `name`).
 */
function errorClassRef(err: Error): TargetRef | undefined {
  const ctor = (Object.getPrototypeOf(err) as { constructor?: unknown } | null)?.constructor;
  if (typeof ctor !== 'function' || BUILT_IN_ERRORS.has(ctor) || ERROR_CLASSES[ctor.name] === ctor) return undefined;
  try {
    return describeTarget(ctor, 'class');
  } catch {
    return undefined;
  }
}

/** Error classes imported once here: later errors of the same class decode synchronously. */
const loadedClasses = new Map<string, Function>();

function classKey(ref: TargetRef): string {
  return `${ref.format}:${ref.url}#${ref.exportName}`;
}

/** Errors must always get through: a property that cannot cross becomes its description. */
function encodeLoosely(value: unknown, path: string, ctx: EncodeContext): unknown {
  try {
    return encodeValue(value, path, ctx);
  } catch {
    return `[${kindOf(value)}]`;
  }
}

/** Whether a value holds thread-only shared memory (a SharedArrayBuffer), which cannot cross fork(). */
function containsSharedMemory(value: unknown, depth = 0): boolean {
  if (value instanceof SharedArrayBuffer) return true;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer;
  if (!value || typeof value !== 'object' || depth > 8) return false;
  if (isShareable(value)) return containsSharedMemory(value[kShare]().state, depth + 1);
  return Object.values(value).some((v) => containsSharedMemory(v, depth + 1));
}

/** Turns `value` into something the structured-clone algorithm copies faithfully. `path` names it in errors. */
export function encode(value: unknown, path: string, dest: Destination): unknown {
  if (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol') return value;
  return encodeValue(value, path, { dest, memo: new Map() });
}

/** Encodes an error for the way back; never throws. */
export function encodeThrown(err: unknown, dest: Destination): unknown {
  try {
    return encode(err, 'error', dest);
  } catch {
    return encode(new Error(String(err)), 'error', dest);
  }
}

// ---- decoding --------------------------------------------------------------------------------

function isTagged(value: unknown): value is Tagged {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[TAG] === 'string';
}

/** Imports every class an encoded value names, so that `decode` can stay synchronous. */
export async function loadClasses(encoded: unknown): Promise<Map<string, Function>> {
  const refs = new Map<string, TargetRef>();
  const errorRefs = new Map<string, TargetRef>();
  const visit = (v: unknown, seen: Set<object>): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (isTagged(v) && v[TAG] === 'object') refs.set(classKey(v.cls), v.cls);
    if (isTagged(v) && v[TAG] === 'error' && v.cls) errorRefs.set(classKey(v.cls), v.cls);
    const children = v instanceof Map ? [...v.keys(), ...v.values()] : v instanceof Set ? [...v] : ArrayBuffer.isView(v) ? [] : Object.values(v);
    for (const child of children) visit(child, seen);
  };
  visit(encoded, new Set());
  const classes = new Map<string, Function>();
  for (const [key, ref] of refs) classes.set(key, await loadTarget(ref));
  // An error must always get through: one whose class cannot be loaded here keeps its name on a plain Error.
  for (const [key, ref] of errorRefs) {
    if (!classes.has(key))
      await loadTarget(ref).then(
        (cls) => void classes.set(key, cls),
        () => void classes.set(key, Error),
      );
    loadedClasses.set(key, classes.get(key)!);
  }
  return classes;
}

const ERROR_CLASSES: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  ...(errorClasses as unknown as Record<string, new (message?: string) => Error>),
};

function decodeValue(value: unknown, classes: Map<string, Function>, memo: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const seen = memo.get(value);
  if (seen !== undefined) return seen;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    memo.set(value, out);
    for (let i = 0; i < value.length; i++) out[i] = decodeValue(value[i], classes, memo);
    return out;
  }
  if (value instanceof Map) {
    const out = new Map();
    memo.set(value, out);
    for (const [k, v] of value) out.set(decodeValue(k, classes, memo), decodeValue(v, classes, memo));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    memo.set(value, out);
    for (const v of value) out.add(decodeValue(v, classes, memo));
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Date, typed arrays, …
  if (!isTagged(value)) return decodeFields(value as Record<string, unknown>, {}, classes, memo, value);
  switch (value[TAG]) {
    case 'plain':
      return decodeFields(value.value, {}, classes, memo, value);
    case 'share': {
      const revive = reviverFor(value.type);
      if (!revive) throw new TypeError(`threadkit: no reviver for shared type ${value.type}; is threadkit loaded twice?`);
      const out = revive(decodeValue(value.state, classes, memo));
      memo.set(value, out);
      return out;
    }
    case 'object': {
      const cls = classes.get(classKey(value.cls));
      if (!cls) throw new TypeError(`threadkit: class ${value.cls.exportName} of ${value.cls.url} was not loaded before decoding`);
      return decodeFields(value.fields, Object.create(cls.prototype as object) as Record<string, unknown>, classes, memo, value);
    }
    case 'error':
      return decodeError(value, classes, memo);
    case 'shm': {
      const buffer = attach(value.ref);
      if (!value.view) return buffer;
      const View = (globalThis as unknown as Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView>)[value.view]!;
      const out = new View(buffer, value.byteOffset!, value.length!);
      memo.set(value, out);
      return out;
    }
  }
}

function decodeFields(
  fields: Record<string, unknown>,
  out: Record<string, unknown>,
  classes: Map<string, Function>,
  memo: Map<object, unknown>,
  key: object,
): unknown {
  memo.set(key, out);
  for (const k of Object.keys(fields)) out[k] = decodeValue(fields[k], classes, memo);
  return out;
}

function decodeError(e: Extract<Tagged, { [TAG]: 'error' }>, classes: Map<string, Function>, memo: Map<object, unknown>): Error {
  const own = e.cls && (classes.get(classKey(e.cls)) ?? loadedClasses.get(classKey(e.cls)));
  // Not imported yet: `decode` throws so that the caller takes the async path (`decodeAsync`).
  if (e.cls && !own) throw new TypeError(`threadkit: error class ${e.cls.exportName} of ${e.cls.url} was not loaded before decoding`);
  const Ctor = own ? (own as new () => Error) : ERROR_CLASSES[e.name];
  const err = Object.create((Ctor ?? Error).prototype as object) as Error;
  memo.set(e, err);
  const define = (key: string, v: unknown) => Object.defineProperty(err, key, { value: v, writable: true, configurable: true, enumerable: false });
  define('message', e.message);
  if (!Ctor || Ctor.prototype.name !== e.name) define('name', e.name);
  if (e.stack !== undefined) define('stack', e.stack);
  if (e.hasCause) define('cause', decodeValue(e.cause, classes, memo));
  for (const k of Object.keys(e.props)) (err as unknown as Record<string, unknown>)[k] = decodeValue(e.props[k], classes, memo);
  return err;
}

/** Rebuilds a value encoded by `encode`. Classes it names must have been loaded with `loadClasses`. */
export function decode(encoded: unknown, classes: Map<string, Function> = new Map()): unknown {
  if (typeof encoded !== 'object' || encoded === null) return encoded;
  return decodeValue(encoded, classes, new Map());
}

/** `loadClasses` then `decode`. */
export async function decodeAsync(encoded: unknown): Promise<unknown> {
  if (typeof encoded !== 'object' || encoded === null) return encoded;
  return decode(encoded, await loadClasses(encoded));
}

/**
 * Decodes now when it can, later when it must: the value itself when every class `encoded`
 * names is already loaded here (the common case: no promise, no tick), else a promise of it
 * that loads them first (`decodeAsync`). A native `Promise` comes back only in that second case,
 * as no decoded value is one (`encode` refuses promises): tell them apart with
 * `instanceof Promise`. A value that cannot be decoded at all comes as that promise's rejection.
 */
export function decodeMaybeAsync(encoded: unknown): unknown {
  try {
    return decode(encoded);
  } catch {
    return decodeAsync(encoded);
  }
}
