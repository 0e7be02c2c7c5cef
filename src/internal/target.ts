/**
 * Naming a target so another thread or process can find it, and finding it there.
 *
 * The parent turns a function (or a class, for subclasses that override `run()` and for
 * instances passed as arguments) into `{ url, exportName }`; the child imports `url` and takes
 * the export. This is Python's "module + qualified name" rule, with ES modules.
 */
import { TargetNotFoundError } from '../errors.ts';
import { findExport, isDeclaredIn, type ExportRef } from './module-scan.ts';

export type { ExportRef } from './module-scan.ts';

const resolved = new WeakMap<Function, ExportRef>();

function describe(fn: Function, what: string): string {
  return fn.name ? `${what} \`${fn.name}\`` : `an anonymous ${what}`;
}

/**
 * The export under which `fn` can be imported, searching from `callerUrl` and the modules it
 * imports. Throws a TargetNotFoundError that says how to fix it.
 */
export function resolveExport(fn: Function, callerUrl: string | undefined, what = 'function'): ExportRef {
  const hit = resolved.get(fn);
  if (hit) return hit;
  const name = fn.name;
  if (!name) {
    throw new TargetNotFoundError(
      `The target is ${describe(fn, what)}. A thread or process imports its target by name, so it must be an ` +
        `exported, named ${what}: write \`export ${what === 'class' ? 'class' : 'function'} myTask(…) { … }\` in a module and pass \`target: myTask\`.`,
    );
  }
  if (!callerUrl) {
    throw new TargetNotFoundError(
      `Cannot tell which module defines ${describe(fn, what)}: threadkit was called from code that is not an ES module file ` +
        `(a REPL, eval or data: URL). Put the ${what} in a .ts/.js module file and export it.`,
    );
  }
  const ref = findExport(name, callerUrl);
  if (!ref) {
    const where = isDeclaredIn(name, callerUrl)
      ? `${describe(fn, what)} is declared in ${callerUrl} but not exported. Add \`export\` before it ` +
        `(\`export ${what === 'class' ? 'class' : 'function'} ${name}\`) so the child can import it.`
      : `${describe(fn, what)} is not exported by ${callerUrl} or by any module it imports. Export it from the module ` +
        `that declares it (\`export ${what === 'class' ? 'class' : 'function'} ${name}\`) and import it from there.`;
    throw new TargetNotFoundError(`${where} A thread or process runs its target by importing it; closures, methods and local ${what}s cannot cross.`);
  }
  resolved.set(fn, ref);
  return ref;
}

/** In the child: import the module and take the export, checking it is what the parent meant. */
const imported = new Map<string, Function>();

export async function importExport(ref: ExportRef, kind: 'function' | 'class' = 'function'): Promise<Function> {
  // A carrier or pool worker runs the same targets again and again: skip the loader after the first time.
  const key = `${ref.url}#${ref.exportName}`;
  const known = imported.get(key);
  if (known) return known;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ref.url)) as Record<string, unknown>;
  } catch (err) {
    throw new TargetNotFoundError(`Could not import ${ref.url} in the child to find \`${ref.exportName}\`: ${(err as Error)?.message ?? err}`, {
      cause: err,
    });
  }
  const value = mod[ref.exportName];
  if (typeof value !== 'function') {
    throw new TargetNotFoundError(
      `${ref.url} has no exported ${kind} named \`${ref.exportName}\` when imported in the child ` +
        `(found ${value === undefined ? 'nothing' : typeof value}). Export the ${kind} itself, under its own name, from the module that declares it.`,
    );
  }
  imported.set(key, value);
  return value;
}
