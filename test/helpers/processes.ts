/** Helpers to find a process's descendants, tell whether a pid is still running (not a zombie), and find the /dev/shm files dead ones left. */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

function stat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

export function isRunning(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) for (const c of children.get(queue.shift()!) ?? []) out.push(c), queue.push(c);
  return out;
}

export async function waitUntilGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let alive = pids.filter(isRunning);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(isRunning);
  }
  return alive;
}

const RUNTIME = new URL('../../dist/internal/for-tests.js', import.meta.url).href;

/**
 * Starts a threadkit program of its own that starts its runtime (which sweeps the /dev/shm files
 * of dead processes), then returns the names in /dev/shm that still belong to `pids`.
 */
export async function shmLeftBy(pids: number[]): Promise<string[]> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.THREADKIT_RUNTIME; // a program of its own, not a child of the caller
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', `(await import(${JSON.stringify(RUNTIME)})).startRuntime();`], {
    env,
    timeout: 20_000,
  });
  return readdirSync('/dev/shm').filter((name) => pids.includes(Number(/^threadkit-(\d+)-/.exec(name)?.[1])));
}
