/**
 * Which user module is calling into threadkit. Python finds a target by module and qualified
 * name; threadkit's equivalent starts from the module that constructed the Process/Thread.
 */
import { pathToFileURL } from 'node:url';
import * as util from 'node:util';

/** The folder of threadkit's library files; frames under it are skipped, except its own programs in cli/. */
const OWN_ROOT = new URL('../', import.meta.url).href;
const OWN_PROGRAMS = new URL('../cli/', import.meta.url).href;

function toUrl(scriptName: string): string {
  return scriptName.startsWith('/') ? pathToFileURL(scriptName).href : scriptName;
}

/** Script names on the current stack, innermost first. `util.getCallSites` exists from Node 22.9. */
function scriptNames(): string[] {
  const getCallSites = (util as { getCallSites?: (n: number) => Array<{ scriptName: string }> }).getCallSites;
  if (getCallSites) return getCallSites(24).map((site) => site.scriptName);
  const stack = new Error().stack ?? '';
  return [...stack.matchAll(/\(?((?:file:\/\/|\/)[^():]+(?::[^():]+)*?):\d+:\d+\)?$/gm)].map((m) => m[1]!);
}

/** The URL of the first module on the stack that is not threadkit itself (undefined from the REPL or eval). */
export function callerModuleUrl(): string | undefined {
  for (const name of scriptNames()) {
    if (!name || name.startsWith('node:')) continue;
    const url = toUrl(name);
    if (url.startsWith(OWN_ROOT) && !url.startsWith(OWN_PROGRAMS)) continue;
    if (url.startsWith('file:') || url.startsWith('data:')) return url;
  }
  return undefined;
}
