// A wait on process-shared memory is a native thread parked on a futex. When every waiter of the
// word is an async wait of the notifying thread, notify() ends one here instead (atomics.ts):
// the native wait is left behind, must not keep a finished program alive, and must pass on a
// kernel wake that reaches it. Waiters elsewhere still get their turn.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lock, Process, RawValue } from 'threadkit';
import { available as addonBuilt, notify, region, waitAsync, wakesHere, words } from '../../dist/internal/for-tests.js';
import { within } from '../helpers/deadline.ts';
import { lockFlags, lockWords } from '../helpers/inspect.ts';
import { liveWorkers } from '../helpers/workers.ts';
import { handAround, takeWhileBusy } from '../fixtures/local-wake.ts';

const T = { timeout: 60_000 };
const skip = addonBuilt ? false : 'needs the native addon for process-shared memory (Linux and a C compiler: node native/build.js)';
const PROGRAM = fileURLToPath(new URL('../fixtures/local-wake.ts', import.meta.url));

afterEach(() => assert.equal(liveWorkers(), 0, 'every worker this test started has exited'));

function run(mode: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PROGRAM, mode], { timeout: 30_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

describe('process-shared waits ended by a notify of their own thread', { skip }, () => {
  it('async tasks of one thread hand a process-shared Lock around: exact count, each hand-over without the kernel, the lock whole after', T, async () => {
    const lock = new Lock({ memory: 'process' });
    const before = wakesHere();
    assert.equal(await handAround(lock, 10, 30), 300);
    assert.ok(wakesHere() - before >= 100, `most hand-overs ended a wait here (${wakesHere() - before} of 300)`);
    assert.deepEqual({ flags: lockFlags(lock), waiters: lockWords(lock).waiters }, { flags: 0, waiters: 0 }, 'free, nobody counted as waiting');
    assert.equal(await lock.acquire({ timeoutMs: 0 }), true);
    lock.release();
  });

  for (const mode of ['main', 'thread']) {
    it(
      `a program that did so ${mode === 'main' ? 'on its main thread' : 'in a Thread'} exits at once with code 0, whatever native waits it left behind`,
      T,
      async () => {
        const start = performance.now();
        const r = await run(mode);
        assert.deepEqual({ code: r.code, signal: r.signal, stdout: r.stdout.trim() }, { code: 0, signal: null, stdout: 'held 400' }, r.stderr);
        assert.ok(performance.now() - start < 25_000, 'it ended by itself, not by the 30 s kill');
      },
    );
  }

  it('a kernel wake that reaches a left-behind native wait is passed on to a live waiter', T, async () => {
    const cell = words(region(8, { memory: 'process' }, 'test'), 2);
    // A: woken here, so its native wait stays parked in the kernel (for up to 100 ms).
    const a = waitAsync(cell, 0, 0, 10_000);
    await sleep(20);
    assert.equal(notify(cell, 0, 1, 1), 1, 'A was ended here');
    assert.equal(await a, 'ok');
    // B parks behind it; a wake of one through the kernel (no waiter count given) finds A's
    // native wait first, which must hand it on to B rather than swallow it.
    const b = waitAsync(cell, 0, 0, 5_000);
    await sleep(20);
    notify(cell, 0, 1);
    const start = performance.now();
    assert.equal(await within(6_000, b, 'B'), 'ok');
    assert.ok(performance.now() - start < 4_000, 'B was woken, not timed out');
  });

  it('a waiter in another process is not starved by async tasks of this thread that keep taking the lock', T, async () => {
    const lock = new Lock({ memory: 'process' });
    const stop = new RawValue('i', 0, { memory: 'process' });
    const p = new Process({ target: takeWhileBusy, args: [lock, stop, 20_000] });
    const busy = Array.from({ length: 8 }, async () => {
      const until = performance.now() + 30_000;
      while (stop.value === 0 && performance.now() < until) {
        assert.equal(await lock.acquire({ timeoutMs: 10_000 }), true);
        await sleep(1);
        lock.release();
      }
    });
    // Long enough for some of them to turn starving (passed over twice): the hand-offs then go
    // to starving waiters, of which the other process must get its turn.
    await sleep(500);
    p.start();
    await within(40_000, p.join(), 'the process');
    await Promise.all(busy);
    assert.equal(p.exitCode, 0, String(p.error));
    assert.equal(p.result, true, 'the other process got the lock while this thread kept taking it');
    assert.equal(lock.locked(), false);
  });
});
