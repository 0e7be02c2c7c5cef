/**
 * A Node 22 binary (the oldest `engines` allows) from the npm registry's `node` package, installed
 * once into a cache folder and shared by the tests that run programs on it. Test files run
 * concurrently, so each installs into a folder of its own and renames it into place: the first
 * rename wins and the others use it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CACHE = join(tmpdir(), 'threadkit-node22');
const BIN = join(CACHE, 'node_modules', 'node', 'bin', 'node');
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

/** Why a Node 22 run cannot happen here, or undefined; used in skip messages. */
export let node22Missing: string | undefined;

/** The Node 22 binary, installed on first use; undefined (with `node22Missing` set) where npm cannot get it. */
export async function node22(): Promise<string | undefined> {
  if (existsSync(BIN)) return BIN;
  const staging = mkdtempSync(join(tmpdir(), 'threadkit-node22-'));
  try {
    await run('npm', ['install', '--prefix', staging, '--no-save', '--no-package-lock', 'node@22'], { env: NPM_ENV, timeout: 180_000 });
    try {
      renameSync(staging, CACHE);
    } catch {
      // Another test file's install got there first.
    }
  } catch (err) {
    node22Missing = `Node 22 could not be installed (${(err as Error).message.split('\n')[0]}): npm install --prefix ${CACHE} node@22`;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return existsSync(BIN) ? BIN : undefined;
}
