/**
 * How a target crosses to another thread, process or machine: by identity, never by name.
 *
 * - `describeTarget(fn)` (parent, synchronous, cached per function) finds the module export that
 *   *is* `fn` (`===`): V8 tells where `fn` was defined, and the parent looks in that module (and,
 *   when V8's script id cannot be named cheaply, in the modules on the stack and what they
 *   import) for an export whose value is `fn` itself. The result is a serializable `TargetRef`.
 * - `loadTarget(ref)` (child) imports the module, takes the export and checks that it is the
 *   same definition — same line and column — before anything runs it.
 *
 * A function that no module exports (a closure, a method, a local function) is refused with an
 * error that names the module, the function and the fix. Code with no module to import (a
 * bundle, the REPL) names its targets with `registerTarget(name, fn)`.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError, TargetNotFoundError } from '../errors.ts';
import { importing } from './bootstrap.ts';
import { knownUrl, originalLine, scopeBinding, scriptUrl, siteOf, stackUrls } from './function-site.ts';
import { exportsNothing, importedModules } from './module-scan.ts';
import { LIBRARY_ROOT } from './package-files.ts';
import { enableCache } from './warm.ts';
import { builtin } from './builtin.ts';

const { readFileSync, realpathSync } = builtin('node:fs');

export type TargetKind = 'function' | 'class';

/** A target named so that another thread, process or machine can import it and check it. JSON-safe. */
export interface TargetRef {
  /** The module to import (a file URL). For `registered`, the module whose import registers it. */
  url: string;
  /** `module`: `import(url)`; `commonjs`: `require(url)`; `registered`: import `url`, then look the name up. */
  format: 'module' | 'commonjs' | 'registered';
  /**
   * The export's name (`default`; `module.exports` for a CommonJS module that is the function;
   * the registered name), or `@line:column` when only the child can read the module's exports
   * (the parent's copy was still evaluating): the child then takes the export defined there.
   */
  exportName: string;
  /** The function's own name, for messages. */
  name: string;
  kind: TargetKind;
  /** Where the definition starts (zero-based, as V8 runs the script); the child's copy must match. */
  line: number;
  /** `-1` when only the line can be compared (the parent ran a loader's transform of the source). */
  column: number;
  /**
   * A hash of the definition's source text (`sourceHash`), which the child's must match: a module
   * changed on disk can put another body at the same line and column. Absent when `column` is -1
   * (the parent's text is a transform the child may not share).
   */
  source?: string;
}

/** The name the pool protocol uses. */
export type ExportRef = TargetRef;

/** threadkit's library files: not where a user's targets live (its own programs in cli/ are). */
const OWN = LIBRARY_ROOT.href;
const OWN_PROGRAMS = new URL('cli/', LIBRARY_ROOT).href;
/**
 * threadkit's library files, where the search for a module that exports a target neither looks
 * nor goes on: they import none of a user's modules. (A program that imports threadkit by path,
 * not from node_modules, would otherwise have its ~75 files read and required on a first start.)
 */
const inOwnLibrary = (url: string): boolean => url.startsWith(OWN) && !url.startsWith(OWN_PROGRAMS);
/** Test runners that load modules with their own loader: Node's cache does not hold them, so never `require` there. */
const foreignLoader = Boolean(process.env.VITEST || process.env.JEST_WORKER_ID);
/**
 * Loader hooks (tsx, ts-node, `--import`/`--require`/`--loader`): `require()` of an ES module may
 * then compile a second copy instead of returning the loaded one, so ES modules are read only
 * from the require cache, and the child finds the export by its definition site.
 */
const hookedLoader =
  foreignLoader ||
  [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /^(--import|--require|-r|--loader|--experimental-loader)\b/.test(a));

// ---- the registry: names for code with no module to import -----------------------------------

interface Registry {
  byName: Map<string, Function>;
  byFn: WeakMap<Function, string>;
}
const REGISTRY = Symbol.for('threadkit.targets');
const registry = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= { byName: new Map(), byFn: new WeakMap() }) as Registry;

/**
 * Names a target (or a class that crosses) for code that has no module a child can import it from:
 * a single-file bundle, or a module whose export the child cannot see. Call it at the top level
 * of the entry module, outside `isMain(import.meta)`, so the child registers the same function
 * when it imports that module. Returns `fn`.
 */
export function registerTarget<F extends Function>(name: string, fn: F): F {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError(`Expected \`name\` to be a non-empty string, got ${JSON.stringify(name)} (${typeof name}).`);
  if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected a function to register as "${name}", got ${fn === null ? 'null' : typeof fn}.`);
  const prior = registry.byName.get(name);
  if (prior !== undefined && prior !== fn) {
    throw new InvalidArgumentError(
      `The target name "${name}" is already registered for another function (\`${prior.name || 'anonymous'}\`). Each name must stand for one function.`,
    );
  }
  const priorName = registry.byFn.get(fn);
  if (priorName !== undefined && priorName !== name) {
    throw new InvalidArgumentError(`\`${fn.name || 'anonymous'}\` is already registered as "${priorName}"; register a function under one name only.`);
  }
  registry.byName.set(name, fn);
  registry.byFn.set(fn, name);
  return fn;
}

// ---- parent: describing a target --------------------------------------------------------------

interface Container {
  value: Record<string, unknown>;
  format: 'module' | 'commonjs';
  /** All exports are in place (an evaluated ES module, a loaded CommonJS module). */
  complete: boolean;
  /** Read by `import()` of the script's own URL (query and hash included): the very copy that script belongs to. */
  byUrl?: boolean;
}

const TYPESCRIPT = /\.[cm]?ts$/;

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && Reflect.ownKeys(v).length === 0;
}

function isNamespace(v: unknown): boolean {
  return Object.prototype.toString.call(v) === '[object Module]';
}

/**
 * The exports of a module already loaded, read synchronously: a CommonJS module from the require
 * cache, an ES module by `require(esm)` (which returns the loaded namespace, the same objects).
 * `cacheOnly`: never load (for modules named by a `require()` that may not have run).
 */
/** ES module namespaces read once (they are live views), and modules `require` can never read (top-level await). */
const namespaces = new Map<string, Container | null>();

function containerOf(url: string, cacheOnly = false): Container | undefined {
  if (foreignLoader || !url.startsWith('file:')) return undefined;
  const known = namespaces.get(url);
  if (known !== undefined) return known ?? undefined;
  const path = fileURLToPath(url);
  const req = createRequire(url);
  const cached = req.cache[path];
  // A loaded entry that exports nothing is no sign of CommonJS: Node leaves one behind when it
  // tried a .ts or .js file of a package without "type" as CommonJS, then ran it as an ES module
  // (top-level await keeps require() from ever reading that one). Either way nothing is found in it.
  if (cached?.loaded && isEmptyObject(cached.exports)) return undefined;
  if (cached && !isNamespace(cached.exports)) return { value: cached.exports as Record<string, unknown>, format: 'commonjs', complete: cached.loaded };
  if ((cacheOnly || hookedLoader) && !cached) return undefined;
  // require() of an ES module already loaded strips a .ts file's types again before it finds the
  // loaded copy (~6 ms of a cold start() for a 300-line module); the compile cache, which every
  // child already uses, keeps that output.
  if (TYPESCRIPT.test(path)) enableCache();
  try {
    const value = req(path) as Record<string, unknown>;
    const container: Container = { value, format: isNamespace(value) ? 'module' : 'commonjs', complete: true };
    if (container.format === 'module') namespaces.set(url, container);
    return container;
  } catch (err) {
    // Top-level await (for good), still evaluating (it is the caller: maybe later), or Node 22 before require(esm).
    const code = (err as { code?: unknown })?.code;
    if (code === 'ERR_REQUIRE_ASYNC_MODULE' || code === 'ERR_REQUIRE_ESM') {
      namespaces.set(url, null);
      readWhenEvaluated(url);
    }
    return undefined;
  }
}

/**
 * `require()` never reads a module with top-level await, even once it has finished evaluating
 * (nor any ES module on Node 22 before require(esm)): `import()` of the module, already loaded,
 * resolves once its evaluation is over, and from then on its exports are known here too — so a
 * function such a module (a program's entry, typically) defines but does not export is refused
 * at `start()` instead of in the child. While its top-level await still runs it is not known.
 */
function readWhenEvaluated(url: string): void {
  import(url).then(
    (value: Record<string, unknown>) => namespaces.set(url, { value, format: 'module', complete: true, byUrl: true }),
    () => {}, // it threw while evaluating: nothing to find in it
  );
}

function read(container: Record<string, unknown>, key: string): unknown {
  try {
    return container[key];
  } catch {
    return undefined; // an export still in its temporal dead zone
  }
}

/** The name under which `container` exports `fn`, preferring its own name, then `default`. */
function exportNameOf(container: Container, fn: Function): string | undefined {
  if (container.format === 'commonjs' && (container.value as unknown) === fn) return 'module.exports';
  const keys = Object.keys(container.value);
  const preferred = [fn.name, 'default', ...keys];
  for (const key of preferred) if (key && keys.includes(key) && read(container.value, key) === fn) return key;
  return undefined;
}

type Found = Pick<TargetRef, 'url' | 'format' | 'exportName'>;

function matchIn(url: string, fn: Function, cacheOnly = false): Found | null | undefined {
  const container = containerOf(url, cacheOnly);
  if (!container) return undefined;
  const exportName = exportNameOf(container, fn);
  if (exportName !== undefined) return { url, format: container.format, exportName };
  return container.complete ? null : undefined;
}

/**
 * Whether `container` is the very copy of the module in which `fn` was defined: one of its
 * functions comes from the same script. Only then does "no export is `fn`" mean "not exported".
 */
function sameCopy(container: Container, url: string, scriptId: string): boolean {
  let functions = false;
  for (const key of Object.keys(container.value)) {
    const v = read(container.value, key);
    if (typeof v !== 'function') continue;
    if (siteOf(v)?.scriptId === scriptId) return true;
    functions = true;
  }
  // No function to compare (a program's entry module that exports nothing, say): the copy read
  // for the script's own URL is its copy. Read by path, a URL with a query or hash is another one.
  return !functions && (container.byUrl === true || !/[?#]/.test(url));
}

/** Modules this worker imported targets from: where the classes of what they return or throw are looked for. */
const targetModules = new Set<string>();

const described = { function: new WeakMap<Function, TargetRef>(), class: new WeakMap<Function, TargetRef>() };

function label(name: string, kind: TargetKind): string {
  return name ? `the ${kind} \`${name}\`` : `an anonymous ${kind}`;
}

function where(url: string, line: number, column: number): string {
  return `${url}:${line + 1}${column >= 0 ? `:${column + 1}` : ''}`;
}

const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$/;
let entry: string | undefined | null = null;

const USES_NODE_TEST = /(?:from\s*|require\(\s*|import\(\s*)(['"])node:test\1/;

/**
 * A test file: by its name, or the file `node --test` runs in this process when it uses node:test
 * (a program a test spawns inherits NODE_TEST_CONTEXT, so the variable alone says nothing).
 * A child importing a test file would run its tests again.
 */
function isTestFile(url: string): boolean {
  if (TEST_FILE.test(url)) return true;
  if (!process.env.NODE_TEST_CONTEXT || !process.argv[1]) return false;
  if (entry === null) {
    try {
      const path = realpathSync(process.argv[1]);
      entry = USES_NODE_TEST.test(readFileSync(path, 'utf8')) ? pathToFileURL(path).href : undefined;
    } catch {
      entry = undefined;
    }
  }
  return url === entry;
}

function refuseTestFile(what: string, url: string, kind: TargetKind): void {
  if (!isTestFile(url)) return;
  throw new TargetNotFoundError(
    `${what} is declared in the test file ${url}: a child imports the module that defines its target, and importing a test file runs its tests again. ` +
      `Move the ${kind} into a module of its own (\`tasks.ts\`), export it there and import it from the test.`,
  );
}

const FIX_REGISTER =
  "For code that no child can import from (a single-file bundle), name it instead with `registerTarget('name', fn)` at the top level of the entry module.";

/**
 * The serializable name of `fn` (cached: a later call for the same function is one WeakMap
 * lookup). Throws a TargetNotFoundError that says how to fix it.
 */
export function describeTarget(fn: Function, kind: TargetKind = 'function'): TargetRef {
  const hit = described[kind].get(fn);
  // A ref left for the child to check (`@line:column`) is looked at again once its module's exports are known (`readWhenEvaluated`).
  if (hit && !(hit.exportName.startsWith('@') && namespaces.get(hit.url))) return hit;
  const ref = find(fn, kind);
  described[kind].set(fn, ref);
  if (foreignLoader && ref.format !== 'registered') {
    let fns = foreignCopies.get(ref.url);
    if (!fns) foreignCopies.set(ref.url, (fns = new Set()));
    fns.add(fn);
  }
  return ref;
}

/**
 * Under a test runner's own module loader (vitest, jest), the program's copy of a module is the
 * runner's, not the one `import()` gives threadkit, so a class coming back from a child (a
 * result's, a thrown error's) must be looked for in the runner's copy, or `instanceof` fails in
 * the test. Such a copy is reached through a function the program passed from that module (a
 * target, a class of an argument): the module's own class is a binding of its scope, which
 * that function's scope chain holds. By module URL: the functions described from each.
 */
const foreignCopies = new Map<string, Set<Function>>();

/** The runner's copy of the class or function `ref` names, when a function passed from its module reaches it (see `foreignCopies`). */
function foreignCopy(ref: TargetRef): Function | undefined {
  const fns = foreignCopies.get(ref.url);
  if (!fns || !ref.name) return undefined;
  for (const fn of fns) {
    if (fn.name === ref.name && described[ref.kind].get(fn)?.exportName === ref.exportName) return fn;
    const value = scopeBinding(fn, ref.name);
    if (typeof value === 'function' && value.name === ref.name) return value;
  }
  return undefined;
}

function find(fn: Function, kind: TargetKind): TargetRef {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected an exported ${kind}, got ${fn === null ? 'null' : typeof fn}.`);
  const what = label(fn.name, kind);
  const site = siteOf(fn);
  if (!site) {
    throw new TargetNotFoundError(
      `${what} is a built-in, bound or proxied function: no module defines it, so a child cannot import it. Pass the exported ${kind} itself (not \`fn.bind(…)\`), and pass bound values as \`args\`.`,
    );
  }
  const base = { name: fn.name, kind, line: site.line, column: site.column, source: sourceHash(fn) };
  let url = knownUrl(site.scriptId);
  if (url) refuseTestFile(what, url, kind);
  const registered = registry.byFn.get(fn);
  if (registered !== undefined) {
    url ??= scriptUrl(site.scriptId);
    if (!url?.startsWith('file:')) {
      throw new TargetNotFoundError(
        `${what} is registered as "${registered}" but defined in code that is not a module file (${url ?? 'the REPL or eval'}): a child has nothing to import. Put it in a .ts/.js module file.`,
      );
    }
    return { url, format: 'registered', exportName: registered, ...base };
  }
  // The module that defines it, when the stack names it: the common case, and the cheapest.
  if (url) {
    const found = matchIn(url, fn);
    if (found) return { ...found, ...base };
  }
  // Re-exports, `export default` of a function from elsewhere, or a module not on the stack.
  if (!foreignLoader) {
    const roots = [...stackUrls(OWN, OWN_PROGRAMS), ...targetModules];
    for (const candidate of roots) {
      const found = candidate !== url ? matchIn(candidate, fn) : undefined;
      if (found) return { ...found, ...base };
    }
    for (const { url: candidate, viaRequire } of importedModules(url ? [url, ...roots] : roots, inOwnLibrary)) {
      const found = candidate !== url ? matchIn(candidate, fn, viaRequire) : undefined;
      if (found) return { ...found, ...base };
    }
  }
  if (!url) {
    // The last resort: the Debugger names every script (costly the first time, ~20 ms).
    url = scriptUrl(site.scriptId);
    if (url) refuseTestFile(what, url, kind);
    const found = url ? matchIn(url, fn) : undefined;
    if (found) return { ...found, ...base };
  }
  if (!url?.startsWith('file:')) {
    throw new TargetNotFoundError(
      `${what} is defined in code that is not a module file (${url || 'the REPL, eval or stdin'}), so a child has no module to import it from. ` +
        `Put it in a .ts/.js module, \`export\` it and pass it as the target. ${FIX_REGISTER}`,
    );
  }
  const own = containerOf(url);
  // A module whose exports cannot be read yet, but whose source exports nothing at all (a program's entry, often), exports nothing.
  if (!own?.complete && !foreignLoader && exportsNothing(url)) throw notExported(what, kind, fn.name, where(url, site.line, site.column));
  if (!own?.complete || !sameCopy(own, url, site.scriptId)) {
    // Still evaluating here (a program's top-level `await main()`): the child, which imports it
    // afresh, takes the export defined at this line and column — or refuses.
    const line = foreignLoader ? originalLine(site.scriptId, site.line, site.column) : undefined;
    const { source: _, ...lineOnly } = base;
    const pos = line === undefined ? base : { ...lineOnly, line, column: -1 };
    return { url, format: own?.format ?? (/\.c[jt]s$/.test(url) ? 'commonjs' : 'module'), exportName: `@${pos.line}:${pos.column}`, ...pos };
  }
  throw notExported(what, kind, fn.name, where(url, site.line, site.column));
}

/**
 * FNV-1a (32 bits) of `fn`'s source text, with its length: it tells two bodies at the same place
 * apart, and costs one pass over the text, once per target (`describeTarget` caches the ref).
 */
function sourceHash(fn: Function): string {
  let text: string;
  try {
    text = Function.prototype.toString.call(fn);
  } catch {
    return '';
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return `${text.length.toString(36)}.${(h >>> 0).toString(36)}`;
}

function notExported(what: string, kind: TargetKind, name: string, at: string): TargetNotFoundError {
  const decl = kind === 'class' ? `export class ${name || 'MyClass'}` : `export function ${name || 'myTask'}(…)`;
  return new TargetNotFoundError(
    `${what}, defined at ${at}, is not exported by the module that defines it, so a child cannot import it. ` +
      `A thread or process runs the very ${kind} it was given by importing it: write \`${decl}\` at the top level of that module ` +
      `(CommonJS: \`exports.${name || 'myTask'} = …\`) and pass it. Closures, methods and local ${kind === 'class' ? 'classe' : 'function'}s cannot cross. ${FIX_REGISTER}`,
  );
}

// ---- child: loading and checking a target -----------------------------------------------------

const loaded = new Map<string, Promise<Function>>();

/**
 * In the child: imports the module `ref` names, takes the export and checks it is the same
 * definition the parent described. Cached per worker: a warm worker skips the loader.
 */
export function loadTarget(ref: TargetRef): Promise<Function> {
  const key = `${ref.format}:${ref.url}#${ref.exportName}:${ref.line}:${ref.column}:${ref.source ?? ''}`;
  let pending = loaded.get(key);
  if (!pending) {
    pending = load(ref);
    loaded.set(key, pending);
    pending.catch(() => loaded.delete(key));
  }
  return pending;
}

async function load(ref: TargetRef): Promise<Function> {
  if (foreignLoader) {
    const copy = foreignCopy(ref);
    if (copy) return copy;
  }
  const what = label(ref.name, ref.kind);
  let container: Record<string, unknown>;
  try {
    container = await importing(ref.url, ref.name || ref.exportName, async () =>
      ref.format === 'commonjs'
        ? (createRequire(ref.url)(fileURLToPath(ref.url)) as Record<string, unknown>)
        : ((await import(ref.url)) as Record<string, unknown>),
    );
  } catch (err) {
    if ((err as { code?: unknown })?.code === 'TK_BOOTSTRAP') throw err;
    throw new TargetNotFoundError(`Could not import ${ref.url} in the child to find ${what}: ${(err as Error)?.message ?? err}`, { cause: err });
  }
  const value = pick(container, ref, what);
  targetModules.add(ref.url);
  const site = siteOf(value);
  if (!site || site.line !== ref.line || (ref.column >= 0 && site.column !== ref.column)) {
    throw new TargetNotFoundError(
      `${ref.url} exports \`${ref.exportName}\` in the child, but it is not the ${ref.kind} the parent passed: the parent's is defined at ` +
        `${where(ref.url, ref.line, ref.column)}, the child's at ${site ? where(ref.url, site.line, site.column) : 'no location'}. ` +
        'The module changed on disk since the parent loaded it, or it loads differently in the child (another loader, other flags). Run both from the same files and flags.',
    );
  }
  if (ref.column >= 0 && ref.source && sourceHash(value) !== ref.source) {
    throw new TargetNotFoundError(
      `${ref.url} defines ${what} at ${where(ref.url, ref.line, ref.column)} in the child too, but with another body: ` +
        'the module changed on disk since the parent loaded it, so the child would run code the parent never had. Restart the program to run the new code.',
    );
  }
  return value;
}

function pick(container: Record<string, unknown>, ref: TargetRef, what: string): Function {
  let value: unknown;
  if (ref.format === 'registered') {
    value = registry.byName.get(ref.exportName);
    if (typeof value !== 'function') {
      throw new TargetNotFoundError(
        `${what} is registered as "${ref.exportName}" in the parent, but importing ${ref.url} in the child did not register it. ` +
          'Call `registerTarget(…)` at the top level of that module, not behind `isMain(import.meta)`.',
      );
    }
    return value;
  }
  if (ref.exportName.startsWith('@')) {
    const matches = Object.keys(container).filter((key) => {
      const v = read(container, key);
      if (typeof v !== 'function') return false;
      const s = siteOf(v);
      return s !== undefined && s.line === ref.line && (ref.column < 0 || s.column === ref.column);
    });
    const distinct = new Set(matches.map((key) => container[key]));
    if (distinct.size === 1) return container[matches[0]!] as Function;
    if (distinct.size > 1) {
      throw new TargetNotFoundError(
        `${ref.url} exports ${matches.map((m) => `\`${m}\``).join(', ')}, all made by the same function literal at ${where(ref.url, ref.line, ref.column)}: pass one declared with its own \`export function\`.`,
      );
    }
    throw notExported(what, ref.kind, ref.name, where(ref.url, ref.line, ref.column));
  }
  value = ref.exportName === 'module.exports' ? container : read(container, ref.exportName);
  if (typeof value !== 'function') {
    throw new TargetNotFoundError(
      `${ref.url} has no exported ${ref.kind} \`${ref.exportName}\` when imported in the child (found ${value === undefined ? 'nothing' : typeof value}). ` +
        'The module changed on disk since the parent loaded it, or it loads differently in the child.',
    );
  }
  return value;
}
