// An uncaught error that no Thread's context created fails every Thread on that worker, saying so.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StrayError, Thread } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { waitHere } from '../fixtures/stray-at-import.ts';

it('fails every Thread on the worker with a StrayError that says the error could not be charged to one', { timeout: 60_000 }, async () => {
  const threads = Array.from({ length: 6 }, () => new Thread({ target: waitHere, args: [3_000] }));
  for (const t of threads) t.start();
  await within(30_000, Promise.all(threads.map((t) => t.join())), 'the threads');
  for (const t of threads) {
    assert.equal(t.exitCode, 1);
    assert.ok(t.error instanceof StrayError, `a StrayError, got ${String(t.error)}`);
    assert.equal((t.error as StrayError).code, 'TK_STRAY_ERROR');
    assert.match((t.error as Error).message, /cannot be charged to one of them.*module top level/s);
  }
});
