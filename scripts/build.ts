/**
 * Builds dist/: `tsc` writes the type declarations and the CLI (src/cli/, one file per module,
 * which imports the library only as `threadkit`), then esbuild bundles the library: one file per
 * entry point (the package's exports and the files a worker or child starts at), with the code
 * entries share in dist/chunks/, so each module still exists once and every registry is one
 * instance. A fresh isolate then loads a handful of files instead of ~75, which was most of a
 * cold Process or Thread start (the ESM loader's cost is per file).
 *
 * Run by `npm run build`; run it with Node 24 (the repository's pinned `node`).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');

/** Where a worker or child starts, and what users import: each becomes dist/<name>.js. */
export const ENTRIES = ['index', 'redis/index', 'process/child', 'thread/carrier', 'pool/thread-worker', 'pool/process-worker', 'internal/for-tests'];

rmSync(DIST, { recursive: true, force: true });
execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });

// tsc's one-file-per-module JavaScript of the library is replaced by the bundle: remove it, so
// that nothing can import a second copy of a module by path. The CLI's files stay.
const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
for (const file of walk(DIST)) {
  const path = relative(DIST, file);
  if (!path.startsWith('cli/') && (path.endsWith('.js') || path.endsWith('.js.map'))) rmSync(file);
}

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: Object.fromEntries(ENTRIES.map((e) => [e, `src/${e}.ts`])),
  outdir: DIST,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // Peers (bullmq, ioredis) and dependencies are the user's to install and resolve.
  packages: 'external',
  // Names users see (`fn.name`, error classes, messages) stay as written: bundling renames clashing top-level names.
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
  metafile: true,
});
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
console.log(`threadkit: bundled the library into ${files.length} files (${ENTRIES.length} entry points)`);
