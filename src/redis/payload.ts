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
import { NotCloneableError } from '../errors.ts';
import { builtin } from '../internal/builtin.ts';
import { decodeAsync, encode, encodeThrown } from '../internal/codec.ts';
import type { TargetRef } from '../internal/target.ts';
import { localModule, portableModule, type ModuleRef } from './target-ref.ts';

const { deserialize, serialize } = builtin('node:v8');

/** The codec's tag key (src/internal/codec.ts). */
const TAG = '__threadkit';
const PORTABLE = 'tk-portable:';

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
  walk(
    encoded,
    (node, at) => {
      const tag = node[TAG];
      if (tag === 'share' || tag === 'shm') {
        throw new NotCloneableError(
          at,
          `${at} is threadkit shared memory (a Lock, Value, Queue… or a /dev/shm buffer), which lives on one machine and cannot cross to another. Use RedisLock, RedisQueue or plain data.`,
        );
      }
      if ((tag === 'object' || tag === 'error') && node.cls) {
        const cls = node.cls as TargetRef;
        const where = portableModule(cls.url);
        if (where) node.cls = { ...cls, url: PORTABLE + JSON.stringify(where) };
        // An error whose class another machine cannot import arrives as an Error with its name.
        else if (tag === 'error') delete node.cls;
        else
          throw new NotCloneableError(
            at,
            `${at} is an instance of \`${cls.exportName}\` from ${cls.url}, which is not a file inside a package; another machine cannot import it.`,
          );
      }
    },
    path,
  );
  return serialize(encoded).toString('base64');
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
      if ((node[TAG] !== 'object' && node[TAG] !== 'error') || !node.cls) return;
      const cls = node.cls as TargetRef;
      if (!cls.url.startsWith(PORTABLE)) return;
      const where = JSON.parse(cls.url.slice(PORTABLE.length)) as ModuleRef;
      node.cls = { ...cls, url: pathToFileURL(localModule(where, root)).href };
    },
    'value',
  );
  return decodeAsync(encoded);
}
