/**
 * Where threadkit's own files are, whether it runs from source (`src/*.ts`) or built (`dist/`,
 * where the library is bundled: each entry point is one file and what entries share lives in
 * `dist/chunks/`, so a module's own `import.meta.url` no longer says where its neighbours are).
 * Every path threadkit computes to one of its files starts here.
 */

import { NotSupportedError } from '../errors.ts';

const HERE = import.meta.url;
/** Running the TypeScript sources (tests of the sources, tsx, `node src/…`), not the built package. */
export const FROM_SOURCE = HERE.endsWith('.ts');
const FOLDER = FROM_SOURCE ? '/src/' : '/dist/';
// The package's own folder is the last one of that name on the path: a user's project may sit under another.
const at = HERE.lastIndexOf(FOLDER);
if (at < 0) {
  throw new NotSupportedError(
    `threadkit cannot tell where its files are: ${HERE} is not under its package's ${FOLDER} folder, so threadkit was bundled into your program. ` +
      'Keep it out of the bundle (esbuild --external:threadkit; Rollup or Vite: external: ["threadkit"]; webpack: externals) and install it beside the bundle: ' +
      'it starts its workers from its own files and loads its native addon from its package.',
  );
}

/** The package's root folder (where package.json and native/ are). */
export const PACKAGE_ROOT = new URL(HERE.slice(0, at + 1));
/** The library's folder: src/ or dist/. */
export const LIBRARY_ROOT = new URL(HERE.slice(0, at + FOLDER.length));

/** An entry point that a worker or child starts at, by its path under src/ without extension: `process/child`. */
export function entryPoint(path: string): URL {
  return new URL(`${path}${FROM_SOURCE ? '.ts' : '.js'}`, LIBRARY_ROOT);
}
