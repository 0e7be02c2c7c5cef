/**
 * Making a fresh worker or child start its target quickly. The largest cost of a cold start is
 * Node's type stripper for `.ts` targets (its WebAssembly takes ~100 ms to start in each
 * isolate); Node's compile cache keeps stripped output on disk, so later children skip it.
 */
import { enableCompileCache } from 'node:module';
import { warmSites } from './function-site.ts';

/**
 * Node's on-disk compile cache also keeps the output of type stripping: with it, a child imports
 * a `.ts` target in ~3 ms instead of ~100 ms. Called first thing in every child and carrier.
 */
export function enableCache(): void {
  try {
    enableCompileCache?.();
  } catch {
    // A read-only temp dir: run without the cache.
  }
}

/** Loads the rest of threadkit ahead of the first run, so a warm spare starts its target at once. */
export async function warmUp(): Promise<void> {
  await import('../index.ts');
  // The inspector session that checks each target's definition, opened before the first run needs it.
  warmSites();
}
