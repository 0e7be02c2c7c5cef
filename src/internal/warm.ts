/**
 * Making a fresh worker or child start its target quickly. The largest cost of a cold start is
 * Node's type stripper for `.ts` targets (its WebAssembly takes ~100 ms to start in each
 * isolate); Node's compile cache keeps stripped output on disk, so later children skip it.
 */
import * as nodeModule from 'node:module';
import { warmSites } from './function-site.ts';

/**
 * Node's on-disk compile cache also keeps the output of type stripping: with it, a child imports
 * a `.ts` target in ~3 ms instead of ~100 ms. Called first thing in every child and carrier, and
 * in a parent before it reads a `.ts` module's exports to describe a target (target.ts).
 */
export function enableCache(): void {
  try {
    // Read off the namespace: a named import of it fails to link on Node 22.0, which lacks it (22.1+).
    (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  } catch {
    // A read-only temp dir: run without the cache.
  }
}

let warming: Promise<void> | undefined;

/**
 * Loads the rest of threadkit (once; later calls return the same promise). A spare does it
 * while idle, so that its run starts at once; a child or carrier booted for a run that is
 * waiting skips it unless the run's arguments need it ({@link needsThreadkit}).
 */
export function warmUp(): Promise<void> {
  // Then the inspector session that checks each target's definition, opened before the first run needs it.
  return (warming ??= import('../index.ts').then(() => warmSites()));
}

/** The key codec.ts tags encoded values with (its `TAG`). */
const TAG = '__threadkit';

/**
 * Whether an encoded payload holds threadkit primitives (a Lock, a Queue, a Value…): their
 * revivers register as threadkit's modules load, so decoding it needs {@link warmUp} first.
 * A false positive costs only the warm-up.
 */
export function needsThreadkit(encoded: unknown): boolean {
  const seen = new Set<object>();
  const visit = (v: unknown): boolean => {
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) return false;
    seen.add(v);
    if ((v as Record<string, unknown>)[TAG] === 'share') return true;
    const children = v instanceof Map ? [...v.keys(), ...v.values()] : v instanceof Set ? [...v] : Object.values(v);
    return children.some(visit);
  };
  return visit(encoded);
}
