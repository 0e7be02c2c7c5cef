/**
 * Where a queue contract runs: async tasks of this thread, `Thread`s using the async API, or
 * `Thread`s using the blocking (`…Sync`) API. Each test is written once and run on each
 * (as CPython's lock_tests.py plugs every backend into one suite).
 */
import assert from 'node:assert/strict';
import { Thread } from 'threadkit';
import { within } from '../helpers/deadline.ts';
// Threads constructed here find their targets among this module's imports.
import '../fixtures/queue-targets.ts';

export type Backend = 'tasks' | 'threads' | 'threads-sync';
export const BACKENDS: readonly Backend[] = ['tasks', 'threads', 'threads-sync'];

type Target = (...args: any[]) => unknown;
export type Call = readonly [target: Target, args: readonly unknown[]];

const started: Thread[] = [];

/**
 * Starts every call (the backend's `sync` flag appended to its arguments); `results` settles
 * with their results in order. Threads are daemons: one stuck by a bug fails its test (and
 * `assertNoThreadLeft`) instead of keeping the test process alive.
 */
export function start(backend: Backend, calls: readonly Call[]): { results: Promise<unknown[]> } {
  if (backend === 'tasks') return { results: Promise.all(calls.map(([f, args]) => f(...args, false))) };
  const threads = calls.map(([target, args]) => new Thread({ target, args: [...args, backend === 'threads-sync'], daemon: true } as never) as Thread);
  for (const t of threads) {
    started.push(t);
    t.start();
  }
  const results = Promise.all(threads.map((t) => t.join())).then(() =>
    threads.map((t) => {
      if (t.exitCode !== 0) throw t.error ?? new Error(`${t.name} ended with exit code ${t.exitCode}`);
      return t.result;
    }),
  );
  return { results };
}

/** Runs every call to its end, within `ms`. */
export async function run(backend: Backend, calls: readonly Call[], ms = 30_000): Promise<unknown[]> {
  return within(ms, start(backend, calls).results, `${calls.length} ${backend}`);
}

/** For an `after()` hook: every Thread these tests started has ended. */
export function assertNoThreadLeft(): void {
  assert.deepEqual(
    started.filter((t) => t.isAlive()).map((t) => t.name),
    [],
    'every Thread started by the tests has ended',
  );
}
