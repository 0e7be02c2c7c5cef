/**
 * Where V8 says a function was defined: its script and the line and column of its definition
 * (`[[FunctionLocation]]`). This is the definition's identity — exact under source maps, bundlers
 * and loaders, and independent of who called `start()` — so the parent uses it to find the
 * module that defines a target, and the child uses it to check that what it imported is that
 * same definition.
 *
 * `node:inspector` reads it synchronously on this thread (~0.1 ms). V8 names the script only by
 * id; the id's URL comes from the call stack (`util.getCallSites`, the cheap way, which covers
 * the common case of a target defined in a module on the stack), from modules whose exports were
 * already matched, and, failing both, from the Debugger domain (enabled for one moment; its first
 * use costs ~20 ms, so it is the last resort).
 */
import type { Session } from 'node:inspector';
import { SourceMap } from 'node:module';
import { pathToFileURL } from 'node:url';
import { builtin } from './builtin.ts';

export interface FunctionSite {
  /** V8's id of the script; valid only in this thread. */
  scriptId: string;
  /** Zero-based, in the script as V8 runs it (after any loader transform). */
  line: number;
  column: number;
}

let session: Session | undefined;
const PROBE = Symbol.for('threadkit.probe');
const FOUND = Symbol.for('threadkit.found');

function open(): Session {
  if (!session) {
    // Loaded on first use: `node:inspector` costs a cold start ~2 ms, and a child that only runs its target needs none.
    session = new (builtin('node:inspector').Session)();
    session.connect();
  }
  return session;
}

function post<T>(method: string, params?: object): T {
  const s = open();
  let result: T | undefined;
  let error: Error | null = null;
  // A session on this thread answers synchronously, inside post().
  (s.post as (m: string, p: object | undefined, cb: (e: Error | null, r: T) => void) => void)(method, params, (err, res) => {
    error = err;
    result = res;
  });
  if (error) throw error;
  return result as T;
}

interface RemoteObject {
  objectId?: string;
  value?: unknown;
}

type Property = { name: string; value?: RemoteObject & { description?: string } };

/**
 * Runs `look` with `fn` in the inspector's hands: its remote object id and its internal
 * properties (`[[FunctionLocation]]`, `[[Scopes]]`); whatever `look` gets is released after.
 */
function inspect<T>(fn: Function, look: (internal: Property[]) => T): T | undefined {
  const global = globalThis as Record<symbol, unknown>;
  global[PROBE] = fn;
  try {
    const { result } = post<{ result: RemoteObject }>('Runtime.evaluate', {
      expression: "globalThis[Symbol.for('threadkit.probe')]",
      objectGroup: 'threadkit',
      silent: true,
    });
    if (!result.objectId) return undefined;
    const { internalProperties = [] } = post<{ internalProperties?: Property[] }>('Runtime.getProperties', { objectId: result.objectId, ownProperties: true });
    return look(internalProperties);
  } finally {
    delete global[PROBE];
    post('Runtime.releaseObjectGroup', { objectGroup: 'threadkit' });
  }
}

/** Where `fn` was defined, or undefined for a built-in, bound or proxied function. */
export function siteOf(fn: Function): FunctionSite | undefined {
  return inspect(fn, (internal) => {
    const loc = internal.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as
      | { scriptId: string; lineNumber: number; columnNumber: number }
      | undefined;
    return loc && { scriptId: loc.scriptId, line: loc.lineNumber, column: loc.columnNumber };
  });
}

/**
 * The value of the variable `name` that `fn` closes over, looked up through its scope chain
 * (V8's `[[Scopes]]`, innermost first, the global scope left out); undefined when no scope of
 * `fn` holds such a variable. How a module's own bindings are reached from one of its functions
 * when the module object itself is out of reach (a test runner's copy of a module).
 */
export function scopeBinding(fn: Function, name: string): unknown {
  return inspect(fn, (internal) => {
    const scopes = internal.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (!scopes) return undefined;
    for (const scope of post<{ result: Property[] }>('Runtime.getProperties', { objectId: scopes, ownProperties: true }).result) {
      const id = scope.value?.objectId;
      if (!id || scope.value?.description?.startsWith('Global')) continue;
      const hit = post<{ result: Property[] }>('Runtime.getProperties', { objectId: id, ownProperties: true }).result.find((v) => v.name === name);
      if (!hit?.value) continue;
      if (!hit.value.objectId) return hit.value.value;
      // The variable's value back into this realm: a function call with it as `this`.
      post('Runtime.callFunctionOn', {
        objectId: hit.value.objectId,
        functionDeclaration: "function () { globalThis[Symbol.for('threadkit.found')] = this; }",
        silent: true,
      });
      const found = (globalThis as Record<symbol, unknown>)[FOUND];
      delete (globalThis as Record<symbol, unknown>)[FOUND];
      return found;
    }
    return undefined;
  });
}

/** Opens the inspector session ahead of the first check (a spare child does it before it is needed). */
export function warmSites(): void {
  siteOf(warmSites);
}

const urls = new Map<string, string>();

function toUrl(name: string): string {
  return name.startsWith('/') ? pathToFileURL(name).href : name;
}

type CallSite = { scriptId?: string; scriptName: string };
const getCallSites = (builtin('node:util') as { getCallSites?: (n: number, o?: { sourceMap: boolean }) => CallSite[] }).getCallSites;

/** Records the scripts on the current stack (as V8 runs them: no source-map rewriting). */
function learnFromStack(): void {
  if (!getCallSites) return;
  for (const site of getCallSites(64, { sourceMap: false })) {
    if (site.scriptId && site.scriptName && !urls.has(site.scriptId)) urls.set(site.scriptId, toUrl(site.scriptName));
  }
}

/** The URLs of the module files on the current stack, innermost first, without those under `own` (but those under `except`). */
export function stackUrls(own: string, except: string): string[] {
  if (!getCallSites) return [];
  const out: string[] = [];
  for (const site of getCallSites(64, { sourceMap: false })) {
    if (!site.scriptName) continue;
    const url = toUrl(site.scriptName);
    if (site.scriptId && !urls.has(site.scriptId)) urls.set(site.scriptId, url);
    if (url.startsWith('file:') && (!url.startsWith(own) || url.startsWith(except)) && !out.includes(url)) out.push(url);
  }
  return out;
}

/** Tells this module the URL of a script whose id it learned some other way. */
export function rememberUrl(scriptId: string, url: string): void {
  urls.set(scriptId, url);
}

/** The URL of a script already known (from the stack or an earlier match), without the Debugger. */
export function knownUrl(scriptId: string): string | undefined {
  const hit = urls.get(scriptId);
  if (hit) return hit;
  learnFromStack();
  return urls.get(scriptId);
}

/** Script facts the Debugger reports: its URL and, when it has one, its source map. */
const sourceMaps = new Map<string, string>();

/** The URL of any script, asking the Debugger when nothing cheaper knows it. */
export function scriptUrl(scriptId: string): string | undefined {
  const hit = knownUrl(scriptId);
  if (hit) return hit;
  const s = open();
  const onScript = (m: { params: { scriptId: string; url: string; sourceMapURL?: string } }) => {
    if (m.params.url) urls.set(m.params.scriptId, toUrl(m.params.url));
    if (m.params.sourceMapURL) sourceMaps.set(m.params.scriptId, m.params.sourceMapURL);
  };
  s.on('Debugger.scriptParsed', onScript);
  try {
    post('Debugger.enable');
    post('Debugger.disable');
  } finally {
    s.off('Debugger.scriptParsed', onScript);
  }
  return urls.get(scriptId);
}

/** The source map a script declared (a data: or file URL), once the Debugger has seen the script. */
export function sourceMapOf(scriptId: string): string | undefined {
  return sourceMaps.get(scriptId);
}

/**
 * The line in the original source of a position in a script that a loader transformed (a test
 * runner's own module loader), read from the script's inline source map; undefined without one.
 */
export function originalLine(scriptId: string, line: number, column: number): number | undefined {
  const mapUrl = sourceMaps.get(scriptId);
  const inline = mapUrl?.match(/^data:application\/json[^,]*?(;base64)?,(.*)$/);
  if (!inline) return undefined;
  try {
    const text = inline[1] ? Buffer.from(inline[2]!, 'base64').toString('utf8') : decodeURIComponent(inline[2]!);
    const entry = new SourceMap(JSON.parse(text)).findEntry(line, column) as { originalLine?: number };
    return entry.originalLine;
  } catch {
    return undefined;
  }
}
