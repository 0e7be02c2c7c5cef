/**
 * Shared by the download tests: run the built CLI as a child process (with a time-out), make
 * temporary directories that are removed after the test, and start the fixture server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { DemoServer, type DemoServerOptions } from '../../dist/cli/download/demo-server.js';

export const BIN = fileURLToPath(new URL('../../bin/threadkit.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `threadkit download ARGS`; `done` settles when it exits (killed after `timeoutMs`). */
export interface CliOptions {
  timeoutMs?: number;
  cwd?: string;
  /** Added to the environment (which has no proxy variables unless given here). */
  env?: Record<string, string>;
  /** Run as this user (needs root). */
  uid?: number;
  /** In a process group of its own (its pid), so that a test can signal the group as a terminal does. */
  detached?: boolean;
}

const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];

export function startCli(args: string[], options: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  // The tests talk to servers on loopback: a proxy set for the machine must not get in the way.
  for (const name of PROXY_VARIABLES) delete env[name];
  const child = spawn(process.execPath, [BIN, 'download', ...args], {
    cwd: options.cwd ?? tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, ...options.env },
    ...(options.uid !== undefined && { uid: options.uid, gid: options.uid }),
    ...(options.detached && { detached: true }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** A fresh temporary directory, removed when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'threadkit-dl-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The fixture server, closed when the test ends. */
export async function serve(t: TestContext, options: DemoServerOptions): Promise<DemoServer> {
  const server = await DemoServer.start(options);
  t.after(() => server.close());
  return server;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 20 ms until it returns true; fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
