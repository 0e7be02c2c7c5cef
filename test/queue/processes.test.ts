// Queues and pipes live in SharedArrayBuffers, which cannot cross to another process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotCloneableError, Pipe, Process, Queue } from 'threadkit';
import { consume, echo } from '../fixtures/queue-targets.ts';

test('passing a queue or a pipe end to a Process is refused at start() with NotCloneableError', { timeout: 10_000 }, () => {
  const p = new Process({ target: consume, args: [new Queue<number>(), false] });
  assert.throws(() => p.start(), (err: Error) => err instanceof NotCloneableError && /args\[0\]/.test(err.message));
  const [, end] = Pipe();
  assert.throws(() => new Process({ target: echo, args: [end, false] }).start(), NotCloneableError);
});
