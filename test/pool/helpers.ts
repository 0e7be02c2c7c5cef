// Shared by the pool tests: both kinds of pool, deadlines, and the check that nothing leaked.
import assert from 'node:assert/strict';
import { descendants, waitUntilGone } from '../helpers/processes.ts';
import { within } from '../helpers/deadline.ts';

export { within };

/** Every pool contract runs against both kinds of workers (as CPython runs one suite per backend). */
export const KINDS = ['thread', 'process'] as const;

/** The child processes of this test process that are still running. */
export function children(): number[] {
  return descendants(process.pid);
}

/** Asserts that the pool left no worker behind: its own count is 0 and no child process of ours runs. */
export async function assertNoLeaks(pool: { stats(): { workers: number } }): Promise<void> {
  assert.equal(pool.stats().workers, 0, 'the pool still counts live workers');
  const left = await waitUntilGone(children(), 5_000);
  assert.deepEqual(left, [], `child processes still running: ${left.join(', ')}`);
}

/** Rejects with the error `promise` rejects with, or fails when it resolves. */
export async function rejection(promise: Promise<unknown>, ms = 20_000): Promise<any> {
  try {
    const value = await within(ms, promise, 'the task');
    assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

export const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
