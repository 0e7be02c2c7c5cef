/**
 * `activeChildren()`: Python's `multiprocessing.active_children()`, the Processes this process
 * started that are still running.
 */
import type { Process } from './process.ts';

const started = new Set<Process>();

/** @internal A Process calls it once launched. */
export function trackChild(child: Process): void {
  started.add(child);
}

/**
 * The Processes started by this process that are still running, in start order. As in Python,
 * asking also "joins" the finished ones: they are dropped from the list for good (a Node child
 * is reaped by Node as soon as it exits, so nothing is left running or as a zombie either way).
 * A child that exited a moment ago may still be listed until Node has reported its exit.
 */
export function activeChildren(): Process[] {
  const alive: Process[] = [];
  for (const p of started) {
    if (p.isAlive()) alive.push(p);
    else started.delete(p);
  }
  return alive;
}
