/**
 * The modules a module statically imports, read from its source without running anything. The
 * parent uses them only as places to look for a target *by identity* (an export that `===` the
 * function it was given), never to pick a function by its name.
 *
 * Type-only imports are left out (TypeScript erases them, so those modules are not loaded), and so
 * are dynamic `import()`s (they may not have run yet): looking into a module must never load it.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtin } from './builtin.ts';

const { readFileSync, statSync } = builtin('node:fs');

const STRIP = /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;
const FROM = /(?:^|[;\s}])(import|export)(\s+type\b)?\s*(?:[\w$*{}\s,]*?\s*from\s*)?(['"])([^'"\n]+)\3/g;
const REQUIRE = /(?:^|[^\w$.])require\(\s*(['"])([^'"\n]+)\1\s*\)/g;

interface Specifier {
  spec: string;
  /** Named by `require()`: it may sit in a function that never ran, so it may not be loaded. */
  viaRequire: boolean;
}

const cache = new Map<string, Specifier[]>();

function stripComments(source: string): string {
  // Keep string literals (specifiers live in them), blank out comments.
  return source.replace(STRIP, (match, str: string | undefined) => (str !== undefined ? match : ' '));
}

/** The specifiers `url` statically imports, re-exports or requires. */
function specifiers(url: string): Specifier[] {
  let list = cache.get(url);
  if (!list) {
    list = [];
    try {
      const text = stripComments(readFileSync(fileURLToPath(url), 'utf8'));
      for (const m of text.matchAll(FROM)) if (!m[2]) list.push({ spec: m[4]!, viaRequire: false });
      for (const m of text.matchAll(REQUIRE)) list.push({ spec: m[2]!, viaRequire: true });
    } catch {
      // Unreadable: nothing to follow.
    }
    cache.set(url, list);
  }
  return list;
}

const EXTENSIONS = ['.ts', '.js', '.mts', '.mjs', '.cts', '.cjs', '.tsx', '/index.ts', '/index.js'];
const BUILTIN = /^(node:|data:)/;

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

const resolved = new Map<string, string | undefined>();

/** Resolves a specifier as Node would, also for the extensionless and `.js`-for-`.ts` forms that tsx and tsc accept. */
function resolve(specifier: string, parentUrl: string): string | undefined {
  if (BUILTIN.test(specifier)) return undefined;
  const key = `${parentUrl}\0${specifier}`;
  if (resolved.has(key)) return resolved.get(key);
  let out: string | undefined;
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    // A relative file: look on disk (cheaper than require.resolve's throws for every form tried).
    const base = fileURLToPath(new URL(specifier, parentUrl));
    const tries = [base, ...EXTENSIONS.map((e) => base + e)];
    if (/\.[cm]?js$/.test(base)) tries.splice(1, 0, base.replace(/js$/, 'ts'));
    const hit = tries.find(isFile);
    out = hit && pathToFileURL(hit).href;
  } else {
    try {
      // A package: resolve it the way the parent module would see it.
      out = pathToFileURL(createRequire(parentUrl).resolve(specifier)).href;
    } catch {
      out = undefined;
    }
  }
  resolved.set(key, out);
  return out;
}

/**
 * The modules reachable from `roots` by static imports, breadth first (roots excluded), at most
 * `max`, produced as they are found (the caller stops at its match). Packages are followed only
 * one step from a root: a target is rarely deep inside one. Modules for which `skip` says true
 * are neither produced nor followed.
 */
export function* importedModules(roots: string[], skip: (url: string) => boolean = () => false, max = 300): Generator<{ url: string; viaRequire: boolean }> {
  const seen = new Set(roots);
  let count = 0;
  const queue = roots.map((url) => ({ url, depth: 0 }));
  for (let i = 0; i < queue.length && count < max; i++) {
    const { url, depth } = queue[i]!;
    for (const { spec, viaRequire } of specifiers(url)) {
      const next = resolve(spec, url);
      if (!next || seen.has(next) || !next.startsWith('file:')) continue;
      seen.add(next);
      if ((next.includes('/node_modules/') && depth > 0) || skip(next)) continue;
      count++;
      yield { url: next, viaRequire };
      queue.push({ url: next, depth: depth + 1 });
    }
  }
}

/**
 * True when the module file at `url` can export nothing: its source has no `export` and no
 * `exports` word anywhere, comments and strings included (any doubt says false). Sound whatever
 * the module's state: it is read from the file, not from the running module, whose exports
 * cannot be read while its top-level await runs.
 */
export function exportsNothing(url: string): boolean {
  try {
    return !/\bexports?\b/.test(readFileSync(fileURLToPath(url), 'utf8'));
  } catch {
    return false;
  }
}
