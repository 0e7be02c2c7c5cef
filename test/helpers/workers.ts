/**
 * Runs the same "thread body" as async tasks on the main thread or in raw worker threads, so
 * each contract of the sync primitives is written once and checked in every context (the way
 * CPython's Lib/test/lock_tests.py plugs each backend into one suite).
 *
 * Primitives cross to workers through threadkit's codec (their `[kShare]` protocol); workers
 * get a runtime slot (as threadkit's own workers do) so `currentSlot()` and owner-died
 * detection work, and the slot is marked dead when the worker exits.
 */
import { Worker } from 'node:worker_threads';
import 'threadkit';
import { markSlotDead, newTaskId, reserveSlot, RUNTIME_KEY, taskStorage } from '../../dist/internal/for-tests.js';
import { decode as decodeValue, encode as encodeValue } from '../../dist/internal/for-tests.js';

/** Encodes primitives for `workerData` with threadkit's own codec (it knows every kind of shared memory). */
export function encode(value: unknown): unknown {
  return encodeValue(value, 'args', 'thread');
}

/** Reverses `encode` on the receiving side: revives each primitive over the same memory. */
export function decode(value: unknown): any {
  return decodeValue(value);
}

/** Where a body runs: async tasks on the main thread, or worker threads using the async or the blocking API. */
export type Mode = 'tasks' | 'workers' | 'workers-sync';
export const MODES: readonly Mode[] = ['tasks', 'workers', 'workers-sync'];

/** What a body gets: its arguments, its index among the bunch, whether to use the `…Sync` API. */
export type Body = (args: any, index: number, sync: boolean) => unknown;

const BODIES = new URL('../fixtures/sync-bodies.ts', import.meta.url);
const RUNNER = new URL('../fixtures/sync-worker.ts', import.meta.url);

const live = new Set<Worker>();

/** Workers started here that have not exited yet. */
export function liveWorkers(): number {
  return live.size;
}

export interface Bunch {
  /** Each body's result, in index order; rejects with the first body's error. */
  results: Promise<unknown[]>;
  /** The workers (empty for tasks). */
  workers: Worker[];
  /** Resolves when every worker has exited (at once for tasks). */
  exited: Promise<void>;
}

/** Starts `n` copies of the body named `name` (an export of test/fixtures/sync-bodies.ts). */
export function startBunch(mode: Mode, name: string, n: number, args: object): Bunch {
  if (mode === 'tasks') {
    const results = import(BODIES.href).then((bodies) =>
      Promise.all(Array.from({ length: n }, (_, i) => taskStorage.run(newTaskId(), async () => (bodies[name] as Body)(args, i, false)))),
    );
    return { results, workers: [], exited: Promise.resolve() };
  }
  const workers: Worker[] = [];
  const exits: Promise<void>[] = [];
  const results: Promise<unknown>[] = [];
  const encoded = encode(args);
  for (let i = 0; i < n; i++) {
    const runtime = reserveSlot();
    const worker = new Worker(RUNNER, {
      workerData: { [RUNTIME_KEY]: runtime, name, index: i, sync: mode === 'workers-sync', args: encoded },
    });
    live.add(worker);
    workers.push(worker);
    let settle!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
    results.push(new Promise((resolve, reject) => (settle = { resolve, reject })));
    worker.on('message', (m: { ok: boolean; value?: unknown; error?: { name: string; code?: string; message: string } }) => {
      if (m.ok) settle.resolve(m.value);
      else settle.reject(Object.assign(new Error(m.error!.message), { name: m.error!.name, code: m.error!.code }));
    });
    worker.on('error', (err) => settle.reject(err));
    exits.push(
      new Promise((resolve) =>
        worker.once('exit', (code) => {
          markSlotDead(runtime.slot);
          live.delete(worker);
          settle.reject(new Error(`worker ${i} exited (code ${code}) without a result`));
          resolve();
        }),
      ),
    );
  }
  // A bunch that is only stopped, never awaited, must not report unhandled rejections.
  const all = Promise.all(results);
  all.catch(() => {});
  return { results: all, workers, exited: Promise.all(exits).then(() => {}) };
}

/** Runs `n` copies of a body to completion and returns their results (workers have exited). */
export async function runBunch(mode: Mode, name: string, n: number, args: object): Promise<unknown[]> {
  const bunch = startBunch(mode, name, n, args);
  try {
    return await bunch.results;
  } finally {
    await stopBunch(bunch);
  }
}

/** Terminates what still runs of a bunch and waits until every worker has exited. */
export async function stopBunch(bunch: Bunch): Promise<void> {
  for (const w of bunch.workers) void w.terminate();
  await bunch.exited;
}

/** Polls `predicate` until it holds; rejects after `timeoutMs` so a bug fails instead of hanging. */
export async function waitUntil(predicate: () => boolean, timeoutMs = 10_000, what = 'the condition'): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Lets the other side run for a while (only to give a wrong implementation the chance to show). */
export const pauseMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A few Int32 counters in shared memory, readable from the main thread and workers alike. */
export function counters(n = 8): Int32Array<SharedArrayBuffer> {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}
