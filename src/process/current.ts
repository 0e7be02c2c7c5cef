/**
 * `currentProcess()`: the process this code runs in (Python's `multiprocessing.current_process()`),
 * and `isMain(import.meta)`, the twin of `if __name__ == '__main__'`.
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { builtin } from '../internal/builtin.ts';
import { InvalidArgumentError } from '../errors.ts';

const { realpathSync } = builtin('node:fs');

export interface ProcessInfo {
  /** `'MainProcess'` in the program the user started; the Process's name in a child. */
  readonly name: string;
  readonly pid: number;
  readonly daemon: boolean;
  /** Sends a structured-cloneable value to the parent's `Process` object, which emits it as `'message'`. */
  postMessage(data: unknown): void;
}

let current: ProcessInfo = {
  name: 'MainProcess',
  pid: process.pid,
  daemon: false,
  postMessage() {
    throw new TypeError('currentProcess().postMessage() works only inside a threadkit Process; this is the main process.');
  },
};

/** @internal Set by the child bootstrap. */
export function setCurrentProcess(info: ProcessInfo): void {
  current = info;
}

export function currentProcess(): ProcessInfo {
  return current;
}

let childOfThreadkit = false;
/** @internal Set by the child bootstrap before any user module is imported. */
export function markThreadkitChild(): void {
  childOfThreadkit = true;
}

/** @internal Whether this process is a threadkit child (a Process or a process pool worker). */
export function inThreadkitChild(): boolean {
  return childOfThreadkit;
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

/**
 * True when the module whose `import.meta` you pass is the program being run — not when a
 * Thread or Process imported it to find a target. Guard your `main()` with it:
 * `if (isMain(import.meta)) await main();`
 */
export function isMain(meta: ImportMeta): boolean {
  if (typeof (meta as { url?: unknown } | null)?.url !== 'string') {
    throw new InvalidArgumentError(
      `isMain(): expected \`import.meta\` of an ES module, got ${meta === null ? 'null' : typeof meta === 'object' ? 'an object without a url (CommonJS `module`?)' : typeof meta}; in CommonJS, write \`if (require.main === module)\``,
    );
  }
  if (!isMainThread || childOfThreadkit) return false;
  const flag = (meta as ImportMeta & { main?: boolean }).main;
  if (typeof flag === 'boolean') return flag;
  const entry = process.argv[1];
  if (!entry || !meta.url.startsWith('file:')) return false;
  return samePath(fileURLToPath(meta.url), entry);
}
