/**
 * Whether an OS process is alive, by pid: the one check of it in threadkit (a lock holder's
 * process, the owner of a /dev/shm file). The CLI, which uses only the public API, keeps its own.
 */

/**
 * Whether process `pid` exists: `kill(pid, 0)` succeeds, or fails with `EPERM` (it exists and
 * belongs to someone we may not signal). False for anything but a positive integer, which
 * `kill` would take for a process group or every process.
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
