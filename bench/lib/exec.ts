/**
 * Running other programs: timing them, finding the project's Node and threadkit's build, and
 * installing command-line peers from Debian when they are missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** This very Node (the project's Node 24), so children do not fall back to the system's. */
export const NODE = process.execPath;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  wallMs: number;
  /** Killed for running past its time limit. */
  timedOut?: boolean;
}

/**
 * The environment of a threadkit program run with Node's compile cache on from its first line
 * (`NODE_COMPILE_CACHE`, in a folder of the bench's own): Node then strips the types of the
 * program's own `.ts` file once, not on every run. Without it, starting Node's type stripper in
 * the main thread costs ~45 ms of every run of a `.ts` program, before threadkit loads.
 */
export const COMPILE_CACHE_ENV: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'threadkit-bench-compile-cache') };

/** How long a program run by {@link run} may take unless told otherwise. */
export const RUN_LIMIT_MS = 120_000;

/**
 * Runs a program to completion, capturing its output, and times it from spawn to exit. It never
 * hangs: past `timeoutMs` (default {@link RUN_LIMIT_MS}) the program is killed and the result
 * says so (`code` null, `timedOut`). It stays in our process group, so that stopping the suite
 * stops it too.
 */
export function run(command: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const limitMs = options.timeoutMs ?? RUN_LIMIT_MS;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let exitedAt: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const kill = () => void child.kill('SIGKILL');
    let settled = false;
    const done = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(orphanTimer);
      if (timedOut) stderr += `\n(killed: still running after ${(limitMs / 1000).toFixed(0)} s)`;
      resolve({ code: timedOut ? null : code, stdout, stderr, wallMs: (exitedAt ?? performance.now()) - t0, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, limitMs);
    // A grandchild that inherited the pipes keeps 'close' from coming: give it a moment after
    // the program exited, then finish without it.
    let orphanTimer: ReturnType<typeof setTimeout> | undefined;
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      exitedAt = performance.now();
      orphanTimer = setTimeout(() => done(code), 2000);
    });
    child.once('close', (code) => done(code));
  });
}

/** Throws with the program's own words when it failed. */
export function check(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join(' / ');
    throw new Error(`${what} exited with ${result.code}: ${tail}`);
  }
  return result;
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;

/**
 * Makes `command` available, installing Debian's `pkg` when it is missing and we are root.
 * Returns undefined when available, else why not (for the report's skip note).
 */
export function ensureCommand(command: string, pkg: string): string | undefined {
  if (hasCommand(command)) return undefined;
  if (process.getuid?.() !== 0) return `\`${command}\` is not installed (install Debian's \`${pkg}\`, or run the bench as root to let it do so)`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    process.stderr.write(`  · apt-get update (to install ${pkg})\n`);
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    aptUpdated = true;
  }
  process.stderr.write(`  · apt-get install ${pkg}\n`);
  const r = spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'ignore', env });
  if (r.status !== 0 || !hasCommand(command)) return `\`${command}\` is missing and \`apt-get install ${pkg}\` failed`;
  return undefined;
}

/** First line a program prints for `--version` (for the report). */
export function versionOf(command: string, args = ['--version']): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0 && !r.stdout && !r.stderr) return 'not installed';
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '?';
}

/** threadkit as built at the repo root (`npm run build`); the bench measures what users install. */
export const THREADKIT_DIST = new URL('../../dist/index.js', import.meta.url);

export async function loadThreadkit(): Promise<typeof import('../../dist/index.js')> {
  if (!existsSync(THREADKIT_DIST)) {
    throw new Error(`threadkit is not built: ${fileURLToPath(THREADKIT_DIST)} is missing. Run \`npm run build\` at the repo root first.`);
  }
  return import('../../dist/index.js');
}

let python: string | undefined;
/**
 * CPython's real executable. `python3` on PATH may be a shim (pyenv's is a shell script that
 * adds ~1 s to every start), which would be charged to Python's wall times.
 */
export function pythonExecutable(): string {
  if (python) return python;
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.trim()) throw new Error('python3 is not installed');
  return (python = r.stdout.trim());
}
