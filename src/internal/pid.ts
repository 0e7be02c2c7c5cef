/**
 * Whether an OS process is alive, by pid: the one check of it in threadkit (a lock holder's
 * process, the owner of a /dev/shm file). The CLI, which uses only the public API, keeps its own.
 */
import { builtin } from './builtin.ts';

const { readFileSync } = builtin('node:fs');

/**
 * Whether process `pid` exists: `kill(pid, 0)` succeeds, or fails with `EPERM` (it exists and
 * belongs to someone we may not signal). False for anything but a positive integer, which
 * `kill` would take for a process group or every process.
 */
export function isPidAlive(pid: number): boolean {
  return pidExists(pid) && !isZombie(pid);
}

/**
 * `kill(pid, 0)` alone: one system call, for checks on a hot path (a lock's wait loop asks
 * whether the holder's process lives on every turn). A zombie passes until it is reaped.
 */
export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` has ended but is not reaped yet: `kill(pid, 0)` still succeeds on it. A child
 * whose parent was killed is reparented to init, which may take a second or more to reap it;
 * all that time it would pass for alive. Linux only (/proc); elsewhere, false.
 */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // pid (comm) STATE …, where comm may hold spaces and parentheses: the state follows the last ')'.
    const state = stat[stat.lastIndexOf(')') + 2];
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}
