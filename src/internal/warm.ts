/**
 * Warming a fresh worker or child before it is needed: loading threadkit and, when the program
 * is written in TypeScript, Node's type stripper (its WebAssembly takes ~100 ms to start, the
 * largest part of a cold start). A warm spare then starts a `.ts` target in a few milliseconds.
 */
import { stripTypeScriptTypes } from 'node:module';

/** Whether the program the user started is TypeScript, so workers will import `.ts` modules. */
export function programIsTypeScript(): boolean {
  return /\.[cm]?ts$/.test(process.argv[1] ?? '');
}

export async function warmUp(typescript: boolean): Promise<void> {
  if (typescript && typeof stripTypeScriptTypes === 'function') {
    // The call only exists to start the stripper; keep its "experimental" warning out of the user's stderr.
    const emitWarning = process.emitWarning;
    process.emitWarning = () => {};
    try {
      stripTypeScriptTypes('let warm: number = 0;');
    } catch {
      // An older Node without the stripper: nothing to warm.
    } finally {
      process.emitWarning = emitWarning;
    }
  }
  await import('../index.ts');
}
