// The package as a user gets it: `npm pack`, install the tarball into a fresh plain-JavaScript
// project, and use it there — on Node 22 (the oldest `engines` allows) and on this Node.
import './helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { node22, node22Missing } from './helpers/node22.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
let dir: string;

const USER_SCRIPT = `
import { Process, Thread, Lock, isMain } from 'threadkit';
export function square(x) { return x * x; }
if (isMain(import.meta)) {
  const p = new Process({ target: square, args: [7] });
  const t = new Thread({ target: square, args: [8] });
  p.start(); t.start();
  await p.join(); await t.join();
  const lock = new Lock();
  console.log(JSON.stringify({ process: p.result, thread: t.result, lock: await lock.acquire({ timeoutMs: 100 }), node: process.version }));
}
`;

const USER_TYPES = `
import { Process, type ThreadkitError } from 'threadkit';
export function twice(x: number): number { return 2 * x; }
const p = new Process({ target: twice, args: [1] });
const n: number | undefined = p.result;
// @ts-expect-error: the argument types follow the target's
new Process({ target: twice, args: ['one'] });
export type E = ThreadkitError;
export { n };
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'threadkit-pack-'));
  // --ignore-scripts: `prepare` would rebuild dist/ under the other tests' feet.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env: NPM_ENV });
  const [{ filename }] = JSON.parse(stdout) as Array<{ filename: string }>;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-package-lock', join(dir, filename!)], { cwd: dir, env: NPM_ENV, timeout: 180_000 });
  writeFileSync(join(dir, 'use.js'), USER_SCRIPT);
  writeFileSync(join(dir, 'types.ts'), USER_TYPES);
});

after(() => rmSync(dir, { recursive: true, force: true }));

it('ships compiled JavaScript with type declarations and a runnable bin, and no sources or tests', () => {
  const pkg = join(dir, 'node_modules', 'threadkit');
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/process/child.js', 'dist/thread/carrier.js', 'bin/threadkit.js']) {
    assert.ok(existsSync(join(pkg, file)), `${file} is missing from the package`);
  }
  assert.ok(!existsSync(join(pkg, 'src')), 'sources should not ship');
  assert.ok(!existsSync(join(pkg, 'test')), 'tests should not ship');
});

it('works from plain JavaScript in an installed project on Node 22 and on this Node', { timeout: 240_000 }, async () => {
  const binaries = [process.execPath];
  const old = await node22();
  // npm ci needs the registry too, so a machine that installed the project can install Node 22.
  if (!old) assert.fail(node22Missing ?? 'no Node 22 here');
  binaries.push(old);
  for (const node of binaries) {
    const { stdout } = await run(node, ['use.js'], { cwd: dir, timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { process: number; thread: number; lock: boolean; node: string };
    assert.deepEqual({ ...out, node: undefined }, { process: 49, thread: 64, lock: true, node: undefined });
    if (node !== process.execPath) assert.match(out.node, /^v22\./);
  }
});

it('type-checks a TypeScript user of the installed package, with argument types that follow the target', async () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2024',
      '--types',
      'node',
      '--typeRoots',
      join(ROOT, 'node_modules', '@types'),
      'types.ts',
    ],
    { cwd: dir },
  );
});
