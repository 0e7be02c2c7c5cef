/**
 * Values that cross machines through Redis: arguments, results, errors, queue items. They go
 * through the core's codec (as between processes: instances of exported classes, errors with
 * their class, Map/Set/Date/typed arrays…), then `v8.serialize`, then base64.
 *
 * Two things differ from crossing to a local process: threadkit primitives and memory mapped from
 * /dev/shm cannot cross (they live on one machine) and are refused with the path of the value; and
 * the class of an instance is named by package and path (see target-ref.ts), not by file URL.
 */
import { pathToFileURL } from 'node:url';
import * as coreErrors from '../errors.ts';
import { NotCloneableError } from '../errors.ts';
import { builtin } from '../internal/builtin.ts';
import { decodeAsync, encode, encodeThrown } from '../internal/codec.ts';
import { describeTarget, type TargetRef } from '../internal/target.ts';
import { REDIS_ERRORS } from './errors.ts';
import { localModule, portableModule, type ModuleRef } from './target-ref.ts';

const { deserialize, serialize } = builtin('node:v8');

/** The codec's tag key (src/internal/codec.ts). */
const TAG = '__threadkit';
const PORTABLE = 'tk-portable:';
/**
 * A class ref that no side can import: the core's decoder then rebuilds the error as a plain
 * `Error` that keeps its name, message, stack and fields (codec.ts, loadClasses).
 */
const FOREIGN = 'tk-foreign:';
/** Set by the encoding side on an error node whose class is the built-in or threadkit class its name says. */
const OWN = 'tkOwn';

/**
 * The classes an error may be rebuilt as from its name alone, because the encoding side saw that
 * very class: the built-ins, the core's errors and threadkit/redis's. Any other class — a user's
 * class named `StaleFenceError`, say — never is (identity, not names).
 */
const BUILT_IN = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
const OWN_ERRORS = new Set<Function>([
  ...BUILT_IN,
  ...Object.values(coreErrors).filter((v) => typeof v === 'function' && v.prototype instanceof Error),
  ...Object.values(REDIS_ERRORS),
]);

type Node = Record<string, unknown>;

function walk(value: unknown, visit: (node: Node, path: string) => void, path: string, seen = new Set<object>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return;
  seen.add(value);
  if (typeof (value as Node)[TAG] === 'string') visit(value as Node, path);
  if (value instanceof Map) for (const [k, v] of value) walk(k, visit, path, seen), walk(v, visit, `${path}.get(…)`, seen);
  else if (value instanceof Set) for (const v of value) walk(v, visit, path, seen);
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(v, visit, `${path}[${i}]`, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)
    for (const [k, v] of Object.entries(value)) walk(v, visit, `${path}.${k}`, seen);
}

/** Plain JSON keeps these exactly: finite numbers other than -0, strings, booleans, null. */
function jsonSafe(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0));
}

/**
 * Encodes `value` for Redis; throws `NotCloneableError` (with the value's path) for what cannot
 * cross machines. A primitive, or an array of primitives (the arguments of most tiny tasks),
 * goes as JSON (`j:` …): no codec walk, no V8 serializer.
 */
export function pack(value: unknown, path: string): string {
  if (jsonSafe(value) || (Array.isArray(value) && value.length <= 64 && value.every(jsonSafe))) return `j:${JSON.stringify(value)}`;
  const encoded = encode(value, path, 'process');
  let errors = false;
  walk(
    encoded,
    (node, at) => {
      const tag = node[TAG];
      if (tag === 'error') errors = true;
      if (tag === 'share' || tag === 'shm') {
        throw new NotCloneableError(
          at,
          `${at} is threadkit shared memory (a Lock, Value, Queue… or a /dev/shm buffer), which lives on one machine and cannot cross to another. Use RedisLock, RedisQueue or plain data.`,
        );
      }
      if (tag === 'object' && node.cls) {
        const cls = node.cls as TargetRef;
        const where = portableModule(cls.url);
        if (where) node.cls = { ...cls, url: PORTABLE + JSON.stringify(where) };
        else
          throw new NotCloneableError(
            at,
            `${at} is an instance of \`${cls.exportName}\` from ${cls.url}, which is not a file inside a package; another machine cannot import it.`,
          );
      }
    },
    path,
  );
  // A second walk, beside the original, only where there is an error to mark (most results have none).
  if (errors) pairErrors(value, encoded, markError, new Set());
  return serialize(encoded).toString('base64');
}

/**
 * Says how the other side may rebuild `err`, seen here with its class: as the class its name says
 * (marked OWN: a built-in or threadkit's own), as the user's exported class (by package and path),
 * or else as a plain Error with its name.
 */
function markError(err: Error, node: Node): void {
  const ctor = (Object.getPrototypeOf(err) as { constructor?: unknown } | null)?.constructor;
  if (typeof ctor === 'function' && OWN_ERRORS.has(ctor) && ctor.name === node.name) {
    node[OWN] = 1;
    // threadkit/redis's classes are found on the other side by the marker, not by the module they came from here.
    delete node.cls;
    return;
  }
  const cls = node.cls as TargetRef | undefined;
  const where = cls && portableModule(cls.url);
  if (cls && where) node.cls = { ...cls, url: PORTABLE + JSON.stringify(where) };
  else delete node.cls;
}

/**
 * Walks the value and its encoding side by side (the shapes codec.ts produces) and calls `visit`
 * for each error with its encoded node: only the original knows the error's class.
 */
function pairErrors(value: unknown, encoded: unknown, visit: (err: Error, node: Node) => void, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || typeof encoded !== 'object' || encoded === null || seen.has(encoded)) return;
  seen.add(encoded);
  const node = encoded as Node;
  const read = (key: string): unknown => (value as Node)[key];
  if (value instanceof Error) {
    if (node[TAG] !== 'error') return;
    visit(value, node);
    if (node.hasCause) pairErrors(value.cause, node.cause, visit, seen);
    const props = node.props as Node;
    for (const key of Object.keys(props)) pairErrors(read(key), props[key], visit, seen);
  } else if (Array.isArray(value)) {
    if (Array.isArray(encoded)) for (let i = 0; i < value.length; i++) pairErrors(value[i], encoded[i], visit, seen);
  } else if (value instanceof Map || value instanceof Set) {
    if (!(encoded instanceof Map || encoded instanceof Set)) return;
    const a = [...(value instanceof Map ? value.entries() : value)];
    const b = [...(encoded instanceof Map ? encoded.entries() : encoded)];
    for (let i = 0; i < a.length; i++) pairErrors(a[i], b[i], visit, seen);
  } else if (!ArrayBuffer.isView(value)) {
    const fields = (node[TAG] === 'object' ? node.fields : node[TAG] === 'plain' ? node.value : node[TAG] === undefined ? node : undefined) as Node | undefined;
    if (fields) for (const key of Object.keys(fields)) pairErrors(read(key), fields[key], visit, seen);
  }
}

/** Encodes a thrown value for Redis; never throws. */
export function packError(err: unknown): string {
  try {
    return pack(err, 'error');
  } catch {
    return serialize(encodeThrown(new Error(String((err as Error)?.message ?? err)), 'process')).toString('base64');
  }
}

/** Rebuilds a packed value, importing the classes it names from the project at `root`. */
export async function unpack(text: string, root: string): Promise<unknown> {
  if (text.startsWith('j:')) return JSON.parse(text.slice(2));
  const encoded = deserialize(Buffer.from(text, 'base64'));
  walk(
    encoded,
    (node) => {
      if (node[TAG] === 'error') return rebuildError(node, root);
      if (node[TAG] !== 'object' || !node.cls) return;
      const cls = node.cls as TargetRef;
      if (!cls.url.startsWith(PORTABLE)) return;
      const where = JSON.parse(cls.url.slice(PORTABLE.length)) as ModuleRef;
      node.cls = { ...cls, url: pathToFileURL(localModule(where, root)).href };
    },
    'value',
  );
  return decodeAsync(encoded);
}

/** threadkit/redis's error classes as the core's codec names them here (it knows only the core's by name). */
const redisRefs = new Map<string, TargetRef | undefined>();

function redisErrorRef(name: string): TargetRef | undefined {
  if (!redisRefs.has(name)) {
    let ref: TargetRef | undefined;
    try {
      ref = describeTarget(REDIS_ERRORS[name]!, 'class');
    } catch {
      // Not found as an export here: it arrives as an Error with its name.
    }
    redisRefs.set(name, ref);
  }
  return redisRefs.get(name);
}

/**
 * Points an encoded error at the class it is rebuilt as: threadkit's own (marked by the encoding
 * side) by its name; a user's class by identity (the same package, path and definition) or, when
 * that cannot be found here, none — then it is a plain Error with its name, never another class.
 */
function rebuildError(node: Node, root: string): void {
  const name = String(node.name);
  const foreign = { format: 'module', url: FOREIGN + encodeURIComponent(name), exportName: name, name, kind: 'class', line: 0, column: 0 };
  if (node[OWN] === 1) {
    if (Object.hasOwn(REDIS_ERRORS, name)) node.cls = redisErrorRef(name) ?? foreign;
    return;
  }
  const cls = node.cls as TargetRef | undefined;
  if (!cls?.url.startsWith(PORTABLE)) {
    node.cls = foreign;
    return;
  }
  try {
    const where = JSON.parse(cls.url.slice(PORTABLE.length)) as ModuleRef;
    node.cls = { ...cls, url: pathToFileURL(localModule(where, root)).href };
  } catch {
    node.cls = foreign;
  }
}
