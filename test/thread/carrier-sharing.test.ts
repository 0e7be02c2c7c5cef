// Threads share carrier worker threads; a blocking call must never wait on a Thread frozen on its own carrier.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Lock, RawValue, Thread } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { blockUntilFree, holdAcrossAwait } from '../fixtures/carrier-sharing.ts';

it('runs synchronous Threads that block on a lock held across an await by async Threads, without deadlock', async () => {
  const lock = new Lock();
  const counter = new RawValue('i', 0);
  const threads = [
    ...Array.from({ length: 6 }, () => new Thread({ target: holdAcrossAwait, args: [lock, counter, 30] })),
    ...Array.from({ length: 3 }, () => new Thread({ target: blockUntilFree, args: [lock, counter] })),
    ...Array.from({ length: 6 }, () => new Thread({ target: holdAcrossAwait, args: [lock, counter, 30] })),
  ];
  for (const t of threads) t.start();
  await within(60_000, Promise.all(threads.map((t) => t.join())), 'the threads (a deadlock would hang here)');
  for (const t of threads) assert.equal(t.exitCode, 0, String(t.error));
  assert.equal(counter.value, 15);
});
