// An exported Error subclass thrown by a target comes back as that class, from every kind of worker.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Pool, Process, ProcessPoolExecutor, Thread, ThreadPoolExecutor } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { rejection } from '../pool/helpers.ts';
import { AppError, rejectApp, throwApp, throwHidden } from '../fixtures/targets/errors.ts';

function assertApp(err: unknown, message: string, code: string): void {
  assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)} (${Object.getPrototypeOf(err)?.constructor?.name})`);
  assert.equal(err.message, message);
  assert.equal(err.name, 'AppError');
  assert.equal(err.code, code);
  // The child's stack: the frame that threw, in the fixture.
  assert.match(err.stack ?? '', /errors\.ts:\d+/);
}

for (const Kind of [Process, Thread]) {
  describe(`${Kind.name}: an exported Error subclass crosses as its class`, () => {
    it('keeps class, message, the child stack, cause and own properties', async () => {
      const r = new Kind({ target: throwApp, args: ['boom'] });
      r.start();
      await within(20_000, r.join());
      assert.equal(r.exitCode, 1);
      assertApp(r.error, 'boom', 'E_APP');
      const cause = (r.error as Error).cause;
      assert.ok(cause instanceof RangeError);
      assert.equal((cause as Error).message, 'root cause');
    });

    it('does so for a rejection of an async target', async () => {
      const r = new Kind({ target: rejectApp, args: ['later'] });
      r.start();
      await within(20_000, r.join());
      assertApp(r.error, 'later', 'E_ASYNC');
    });

    it('brings an error whose class is not exported back as an Error with its name', async () => {
      const r = new Kind({ target: throwHidden });
      r.start();
      await within(20_000, r.join());
      assert.ok(r.error instanceof Error);
      assert.equal((r.error as Error).name, 'HiddenError');
      assert.equal((r.error as Error).message, 'not exported');
    });
  });
}

describe('pools and futures: an exported Error subclass crosses as its class', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers) await close();
  });
  for (const kind of ['thread', 'process'] as const) {
    it(`Pool(${kind}).apply and ${kind} executor futures reject with the AppError`, async () => {
      const pool = new Pool({ kind, processes: 1 });
      closers.push(async () => (pool.close(), await pool.join()));
      assertApp(await rejection(pool.apply(throwApp, ['in pool'])), 'in pool', 'E_APP');
      assertApp(await rejection(pool.apply(rejectApp, ['async pool'])), 'async pool', 'E_ASYNC');
      const ex = kind === 'thread' ? new ThreadPoolExecutor({ maxWorkers: 1 }) : new ProcessPoolExecutor({ maxWorkers: 1 });
      closers.push(() => ex.shutdown());
      const future = ex.submit(throwApp, 'in future');
      assertApp(await rejection(future.result()), 'in future', 'E_APP');
      assertApp(await within(20_000, future.exception()), 'in future', 'E_APP');
    });
  }
});
