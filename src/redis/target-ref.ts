/**
 * How a target (and the class of an argument) is named so that a worker on another machine finds
 * the same definition — the one adapter between `threadkit/redis` and the core's target lookup.
 *
 * Locally a target crosses as `{ module URL, export name }`. A file URL means nothing on another
 * machine, so here the module is named by its *package* (the `name` in the nearest package.json)
 * and its path inside that package: `{ pkg: 'my-app', path: 'src/tasks.ts', exportName }`. The
 * worker resolves the package from its own project root (the root itself when the names match, a
 * dependency otherwise) and imports the file there.
 *
 * **Identity.** The ref also carries the SHA-256 of the module file the submitter has. The worker
 * hashes the file it resolved and refuses the task (`ModuleMismatchError`) when the two differ: a
 * target with the same name but other code — another version deployed on that machine — never
 * runs. The hash covers the target's own module, not the modules it imports.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TargetNotFoundError } from '../errors.ts';
import { builtin } from '../internal/builtin.ts';
import { describeTarget as describeLocal, loadTarget as loadLocal, type TargetRef as LocalRef } from '../internal/target.ts';
import { ModuleMismatchError } from './errors.ts';

const { existsSync, readFileSync, statSync } = builtin('node:fs');

export interface ModuleRef {
  /** The `name` of the package.json nearest the module (`''` when it has none). */
  pkg: string;
  /** The module's path inside that package, with `/` separators. */
  path: string;
}

/**
 * The core's ref (see src/internal/target.ts: the export that *is* the function, and where it is
 * defined, so the worker checks its import is the same definition) with the module named
 * portably instead of by a file URL.
 */
export interface TargetRef extends ModuleRef, Omit<LocalRef, 'url' | 'kind'> {
  /** SHA-256 (hex) of the module file on the submitter. */
  sha256: string;
}

const roots = new Map<string, { dir: string; name: string } | undefined>();

/** The folder of the nearest package.json above `file`, and its name. */
function packageOf(file: string): { dir: string; name: string } | undefined {
  let dir = dirname(file);
  for (;;) {
    if (roots.has(dir)) return roots.get(dir);
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      let name = '';
      try {
        name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name ?? '';
      } catch {
        // an unreadable package.json still marks the root
      }
      const hit = { dir, name };
      roots.set(dirname(file), hit);
      return hit;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const hashes = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

/** SHA-256 of a file, cached while its mtime and size stay the same. */
export function hashFile(file: string): string {
  const st = statSync(file);
  const hit = hashes.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.sha256;
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  hashes.set(file, { mtimeMs: st.mtimeMs, size: st.size, sha256 });
  return sha256;
}

/** Names a module file URL portably, or undefined when it is not a file inside a package. */
export function portableModule(url: string): ModuleRef | undefined {
  if (!url.startsWith('file:')) return undefined;
  const file = fileURLToPath(url);
  const pkg = packageOf(file);
  if (!pkg) return undefined;
  return { pkg: pkg.name, path: relative(pkg.dir, file).split(sep).join('/') };
}

const described = new WeakMap<Function, TargetRef>();

/**
 * The target ref of `fn`, found by identity as a local Process finds it. Remembered per
 * function: the hash is of the module as it was when first described, which is the code this
 * process runs (a later edit of the file does not change the loaded module).
 */
export function describeTarget(fn: Function): TargetRef {
  const known = described.get(fn);
  if (known) return known;
  const { url, kind: _kind, ...ref } = describeLocal(fn, 'function');
  const where = portableModule(url);
  if (!where) {
    throw new TargetNotFoundError(
      `\`${fn.name}\` is exported by ${url}, which is not a file inside a package (no package.json above it). ` +
        'A cluster worker finds a target by package and path; put the module in your project (next to its package.json).',
    );
  }
  const out: TargetRef = { ...ref, ...where, sha256: hashFile(fileURLToPath(url)) };
  described.set(fn, out);
  return out;
}

/** The local file of a portable module, resolved from the project at `root`. */
export function localModule(ref: ModuleRef, root: string): string {
  const own = packageOf(join(root, 'package.json'));
  let base: string;
  if (own && own.dir === resolve(root) && own.name === ref.pkg) base = own.dir;
  else {
    try {
      base = dirname(createRequire(join(resolve(root), 'package.json')).resolve(`${ref.pkg}/package.json`));
    } catch (err) {
      throw new TargetNotFoundError(
        `The task's module is in package "${ref.pkg}" (${ref.path}), which is neither the project at ${root} nor one of its dependencies. ` +
          'Run the worker in the same project as the submitter (`threadkit worker --root DIR`).',
        { cause: err },
      );
    }
  }
  const file = resolve(base, ref.path);
  const inside = relative(base, file);
  if (inside.startsWith('..') || isAbsolute(inside))
    throw new TargetNotFoundError(`The task's module path ${JSON.stringify(ref.path)} leaves its package; refusing it.`);
  return file;
}

/** Modules this worker imported, with the hash of the file as it was when imported (the code it runs). */
const loaded = new Map<string, { sha256: string; fn: Function }>();

/** Imports the target on the worker, after checking that its module is the submitter's byte for byte. */
export async function loadTarget(ref: TargetRef, root: string): Promise<Function> {
  const key = `${root}\0${ref.pkg}\0${ref.path}\0${ref.exportName}`;
  const hit = loaded.get(key);
  if (hit) {
    if (hit.sha256 === ref.sha256) return hit.fn;
    throw new ModuleMismatchError(
      `Refused \`${ref.exportName}\` from ${ref.path}: the copy of that module this worker runs (sha256 ${hit.sha256.slice(0, 12)}…) differs from the submitter's ` +
        `(${ref.sha256.slice(0, 12)}…). Deploy the same version of the code on every machine and restart the worker.`,
    );
  }
  const file = localModule(ref, root);
  if (!existsSync(file)) {
    throw new TargetNotFoundError(
      `The task's target \`${ref.exportName}\` is in ${ref.path} of "${ref.pkg}", which this worker does not have (looked for ${file}). Deploy the same code on every machine.`,
    );
  }
  const sha256 = hashFile(file);
  if (sha256 !== ref.sha256) {
    throw new ModuleMismatchError(
      `Refused \`${ref.exportName}\` from ${ref.path}: this worker's copy of that module (sha256 ${sha256.slice(0, 12)}…) differs from the submitter's ` +
        `(${ref.sha256.slice(0, 12)}…). Deploy the same version of the code on every machine and restart the worker.`,
    );
  }
  const { pkg: _pkg, path: _path, sha256: _sha, ...local } = ref;
  const fn = await loadLocal({ ...local, url: pathToFileURL(file).href, kind: 'function' });
  loaded.set(key, { sha256, fn });
  return fn;
}

/** The project folder of the module at `url` (where its package.json is), or the working directory. */
export function projectRoot(url: string | undefined): string {
  if (url?.startsWith('file:')) {
    const pkg = packageOf(fileURLToPath(url));
    if (pkg) return pkg.dir;
  }
  return process.cwd();
}

/** The program's entry module (its project is where classes and targets are looked up from), if it is a file. */
export function callerUrl(): string | undefined {
  const entry = process.argv[1];
  return entry && isAbsolute(entry) ? pathToFileURL(entry).href : undefined;
}
