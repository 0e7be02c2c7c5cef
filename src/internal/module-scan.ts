/**
 * Finds, without running anything, the module and export name under which a function or class
 * can be imported. A child thread or process cannot receive a function; it imports the module
 * that exports it and calls the export, so the parent must name that module and export.
 *
 * The search starts at the caller's module and follows its imports and re-exports (breadth
 * first), reading each module's source for `export` declarations. Reading source keeps
 * `start()` synchronous and works while the caller's module is still evaluating (a top-level
 * `await main()`), where importing it again would not. The child verifies what it finds.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ExportRef {
  /** The module's URL. */
  url: string;
  /** The export's name (`'default'` for a default export). */
  exportName: string;
}

interface ModuleInfo {
  /** Local binding name → exported names. */
  exports: Map<string, string[]>;
  /** Declared local names (functions, classes, variables). */
  declared: Set<string>;
  /** Specifiers of the modules it imports from or re-exports. */
  sources: string[];
}

const IDENT = '[A-Za-z_$][\\w$]*';
const STRIP = /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;
const DECL = new RegExp(
  `(?:^|[;\\s}])(export\\s+)?(default\\s+)?(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(function\\s*\\*?|class|const|let|var)\\s+(${IDENT})`,
  'g',
);
const EXPORT_LIST = /export\s+(?:type\s+)?\{([^}]*)\}(\s*from\s*(['"])([^'"]+)\3)?/g;
const EXPORT_DEFAULT_NAME = new RegExp(`export\\s+default\\s+(${IDENT})\\s*;?`, 'g');
const FROM = /(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?(['"])([^'"]+)\1/g;
const DYNAMIC_IMPORT = /import\(\s*(['"])([^'"]+)\1\s*\)/g;

const cache = new Map<string, ModuleInfo | null>();

function stripComments(source: string): string {
  // Keep string literals (specifiers live in them), blank out comments.
  return source.replace(STRIP, (match, str: string | undefined) => (str !== undefined ? match : ' '));
}

function parseModule(source: string): ModuleInfo {
  const text = stripComments(source);
  const exports = new Map<string, string[]>();
  const declared = new Set<string>();
  const addExport = (local: string, exported: string) => {
    const list = exports.get(local) ?? [];
    list.push(exported);
    exports.set(local, list);
  };
  for (const m of text.matchAll(DECL)) {
    const [, exported, isDefault, , name] = m;
    declared.add(name!);
    if (exported) addExport(name!, isDefault ? 'default' : name!);
  }
  for (const m of text.matchAll(EXPORT_LIST)) {
    if (m[2]) continue; // `export { a } from '…'`: the binding lives in the other module
    for (const part of m[1]!.split(',')) {
      const [local, alias] = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/);
      if (local) addExport(local, (alias ?? local).trim());
    }
  }
  for (const m of text.matchAll(EXPORT_DEFAULT_NAME)) {
    if (m[1] !== 'function' && m[1] !== 'class' && m[1] !== 'async') addExport(m[1]!, 'default');
  }
  const sources = [...text.matchAll(FROM), ...text.matchAll(DYNAMIC_IMPORT)].map((m) => m[2]!);
  return { exports, declared, sources };
}

function infoFor(url: string): ModuleInfo | null {
  let info = cache.get(url);
  if (info === undefined) {
    try {
      info = parseModule(readFileSync(fileURLToPath(url), 'utf8'));
    } catch {
      info = null;
    }
    cache.set(url, info);
  }
  return info;
}

function resolveSpecifier(specifier: string, parentUrl: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.startsWith('data:')) return undefined;
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/')) {
    return new URL(specifier, parentUrl).href;
  }
  if (specifier.startsWith('file:')) return specifier;
  try {
    // Bare specifier (a package): resolve it the way the parent module would see it.
    return pathToFileURL(createRequire(parentUrl).resolve(specifier)).href;
  } catch {
    return undefined;
  }
}

const MAX_MODULES = 400;

/**
 * Where `name` (a function's or class's own name) is declared and exported, searching from
 * `fromUrl` through the modules it imports. Packages (node_modules) are searched only when the
 * caller's module imports them directly.
 */
export function findExport(name: string, fromUrl: string): ExportRef | undefined {
  if (!fromUrl.startsWith('file:')) return undefined;
  const queue: Array<{ url: string; depth: number }> = [{ url: fromUrl, depth: 0 }];
  const seen = new Set([fromUrl]);
  for (let i = 0; i < queue.length && i < MAX_MODULES; i++) {
    const { url, depth } = queue[i]!;
    const info = infoFor(url);
    if (!info) continue;
    const exported = info.exports.get(name);
    if (exported && info.declared.has(name)) return { url, exportName: exported[0]! };
    for (const spec of info.sources) {
      const next = resolveSpecifier(spec, url);
      if (!next || seen.has(next) || !next.startsWith('file:')) continue;
      if (next.includes('/node_modules/') && depth > 0) continue;
      seen.add(next);
      queue.push({ url: next, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Whether `name` is declared in the module at `url` at all (for a better error message). */
export function isDeclaredIn(name: string, url: string): boolean {
  return infoFor(url)?.declared.has(name) ?? false;
}
