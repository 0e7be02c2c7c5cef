/**
 * The bootstrap guard (Python's "An attempt has been made to start a new process before the
 * current process has finished its bootstrapping phase"). A child imports the module that
 * exports its target; a program without an `isMain(import.meta)` guard would then start its
 * work again at the top level, and each child would start another child, without end.
 *
 * While a worker imports a target's module, that import runs inside this async context; a
 * `start()` (or a new pool) reached from it fails at once with a BootstrapError instead of
 * starting anything. Kept on `globalThis` so that two copies of threadkit share it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { BootstrapError } from '../errors.ts';

interface Importing {
  url: string;
  name: string;
}

const KEY = Symbol.for('threadkit.bootstrap');
const storage = ((globalThis as Record<symbol, unknown>)[KEY] ??= new AsyncLocalStorage<Importing>()) as AsyncLocalStorage<Importing>;

/** Runs `load` (an import of the module at `url`, for the target `name`) inside the guard. */
export function importing<T>(url: string, name: string, load: () => Promise<T>): Promise<T> {
  return storage.run({ url, name }, load);
}

/** Throws when called while a worker is importing a target's module. `what` names the call. */
export function assertNotBootstrapping(what: string): void {
  const at = storage.getStore();
  if (!at) return;
  throw new BootstrapError(
    `${what} was called while this ${at.url.startsWith('file:') ? 'child' : 'worker'} was importing ${at.url} to find its target \`${at.name}\`: ` +
      "that module starts work at its top level, so every child would start another. Put the program's work behind " +
      "`if (isMain(import.meta)) { … }` (Python's `if __name__ == '__main__'`), or move the target into a module of its own.",
  );
}
