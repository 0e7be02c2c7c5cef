// Queues and pipes cross to child processes when they live in process-shared memory (the default
// where threadkit's native addon is built), and are refused with a clear error where they cannot.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NotCloneableError, Process, Queue } from 'threadkit';
import { sumFrom } from '../fixtures/queue-targets.ts';
import { within } from '../helpers/deadline.ts';

const processShared = process.env.THREADKIT_MEMORY !== 'thread' && process.env.THREADKIT_NO_ADDON !== '1';

it('a child process consumes what the parent puts into a queue, exactly (or, in thread-only memory, is refused)', { timeout: 60_000 }, async () => {
  const q = new Queue<number>({ maxsize: 64 });
  if (!processShared) {
    assert.throws(
      () => new Process({ target: sumFrom, args: [q, 1] }).start(),
      (err: Error) => err instanceof NotCloneableError && /memory: 'process'/.test(err.message),
    );
    return;
  }
  const p = new Process({ target: sumFrom, args: [q, 1000] });
  p.start();
  for (let i = 1; i <= 1000; i++) await within(20_000, q.put(i), 'put');
  await within(30_000, p.join());
  assert.equal(p.exitCode, 0, String(p.error));
  assert.equal(p.result, 500500);
});

it('thread-only shared memory is refused at start() with NotCloneableError naming the argument', { timeout: 10_000 }, () => {
  const threadOnly = { buffer: new SharedArrayBuffer(8) };
  assert.throws(
    () => new Process({ target: sumFrom, args: [threadOnly as never, 1] }).start(),
    (err: Error) => err instanceof NotCloneableError && /args\[0\]\.buffer/.test(err.message),
  );
});
