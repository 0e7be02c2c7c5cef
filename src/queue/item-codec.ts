/**
 * How an item becomes bytes in a ring and back: the structured-clone algorithm, as
 * `v8.serialize` writes it, with short cuts that give the same result faster.
 *
 * `v8.serialize` builds a serializer object per call, which costs microseconds; numbers,
 * well-formed strings, booleans, `null` and `undefined` are written by hand instead (one tag
 * byte, then the value). Everything else goes through V8's serializer.
 *
 * On the way back, typed arrays get a buffer of their own: `v8.deserialize` would return views
 * into the bytes it read, so `item.buffer` would be larger than the array (structured clone,
 * as `postMessage` does it, gives each its own exact buffer).
 */
import { DefaultDeserializer, DefaultSerializer } from 'node:v8';
import { NotCloneableError } from '../errors.ts';
import { isShareable } from '../internal/shareable.ts';

const V8 = 0;
const NUMBER = 1;
const STRING = 2;
const TRUE = 3;
const FALSE = 4;
const NULL = 5;
const UNDEFINED = 6;

const ONE_BYTE: Record<number, Uint8Array> = {
  [TRUE]: Uint8Array.of(TRUE),
  [FALSE]: Uint8Array.of(FALSE),
  [NULL]: Uint8Array.of(NULL),
  [UNDEFINED]: Uint8Array.of(UNDEFINED),
};

/** Encodes `item`; `what` names the call in errors (`Queue.put()`). The result may be a shared constant: copy, do not keep. */
export function encodeItem(item: unknown, what: string): Uint8Array {
  switch (typeof item) {
    case 'number': {
      const out = Buffer.allocUnsafe(9);
      out[0] = NUMBER;
      out.writeDoubleLE(item, 1);
      return out;
    }
    case 'string':
      if (item.isWellFormed()) return encodeString(item);
      break;
    case 'boolean':
      return ONE_BYTE[item ? TRUE : FALSE]!;
    case 'undefined':
      return ONE_BYTE[UNDEFINED]!;
    case 'object':
      if (item === null) return ONE_BYTE[NULL]!;
      if (isShareable(item) || item instanceof SharedArrayBuffer) {
        throw new NotCloneableError('item', `${what}: the item is ${describe(item)}, which lives in shared memory and cannot be copied into a queue. Pass it to the Thread in its \`args\` instead.`);
      }
      break;
  }
  try {
    const ser = new DefaultSerializer();
    ser.writeRawBytes(Uint8Array.of(V8));
    ser.writeHeader();
    ser.writeValue(item);
    return ser.releaseBuffer();
  } catch (err) {
    throw new NotCloneableError('item', `${what}: the item cannot be copied by the structured-clone algorithm: ${(err as Error).message}`, { cause: err });
  }
}

function encodeString(s: string): Uint8Array {
  // Worst case 3 bytes per UTF-16 unit; measure long strings instead of over-allocating.
  const size = s.length <= 1024 ? 1 + 3 * s.length : 1 + Buffer.byteLength(s, 'utf8');
  const out = Buffer.allocUnsafe(size);
  out[0] = STRING;
  const n = out.write(s, 1, 'utf8');
  return out.subarray(0, 1 + n);
}

/** Decodes bytes from `encodeItem`. `bytes` must be a private copy (not ring memory). */
export function decodeItem(bytes: Uint8Array): unknown {
  switch (bytes[0]) {
    case NUMBER:
      return new DataView(bytes.buffer, bytes.byteOffset, 9).getFloat64(1, true);
    case STRING:
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8', 1);
    case TRUE:
      return true;
    case FALSE:
      return false;
    case NULL:
      return null;
    case UNDEFINED:
      return undefined;
    default: {
      const des = new ExactDeserializer(bytes.subarray(1));
      des.readHeader();
      return des.readValue();
    }
  }
}

/** Gives every typed array and `Buffer` it reads an exact buffer of its own. */
class ExactDeserializer extends DefaultDeserializer {}

// Node's hook for the typed arrays it writes as host objects (not in @types/node).
type HostReader = { _readHostObject(this: DefaultDeserializer): NodeJS.TypedArray | DataView };
const readView = (DefaultDeserializer.prototype as unknown as HostReader)._readHostObject;
(ExactDeserializer.prototype as unknown as HostReader)._readHostObject = function () {
  const view = readView.call(this);
  const own = new ArrayBuffer(view.byteLength);
  new Uint8Array(own).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  if (Buffer.isBuffer(view)) return Buffer.from(own);
  if (view instanceof DataView) return new DataView(own);
  return new (view.constructor as new (buffer: ArrayBuffer) => NodeJS.TypedArray)(own);
};

function describe(item: object): string {
  const name = (item.constructor as Function | undefined)?.name;
  return name ? `a ${name}` : 'an object';
}
