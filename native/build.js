#!/usr/bin/env node
// Builds threadkit's native addon (shared memory between processes) with the machine's C
// compiler, against the headers of the Node that runs this script. Never fails the install:
// without the addon, threadkit works and only cross-process primitives are unavailable
// (they then throw an error that says so).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'threadkit_shm.node');

function headers() {
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  for (const dir of [join(prefix, 'include', 'node'), '/usr/include/node', '/usr/local/include/node']) {
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  }
  return undefined;
}

try {
  if (process.platform !== 'linux') throw new Error(`futexes are Linux-only (this is ${process.platform})`);
  const include = headers();
  if (!include) throw new Error("Node's C headers (node_api.h) were not found");
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC || 'cc';
  execFileSync(cc, ['-O2', '-shared', '-fPIC', '-Wall', '-DNODE_GYP_MODULE_NAME=threadkit_shm', `-I${include}`, join(here, 'shm.c'), '-o', out, '-lpthread'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  console.log(`threadkit: built the shared-memory addon (${out})`);
} catch (err) {
  const why = (err.stderr?.toString() || err.message || String(err)).trim().split('\n')[0];
  console.log(`threadkit: the shared-memory addon was not built (${why}); processes will not share locks and values.`);
}
