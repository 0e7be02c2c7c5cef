// SimpleQueue: Python's multiprocessing.SimpleQueue — put, get, empty, close, no maxsize — and
// it crosses to a Thread or a Process as a SimpleQueue, not as some other queue class.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClosedError, InvalidArgumentError, Process, Queue, SimpleQueue, Thread } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { simpleEcho } from '../fixtures/queue-targets.ts';

const T = { timeout: 60_000 };

describe('SimpleQueue', () => {
  it('puts and gets in order, says when it is empty, and ends its getters once closed and drained', T, async () => {
    const q = new SimpleQueue<string>();
    assert.ok(q instanceof Queue);
    assert.equal(q.empty(), true);
    await q.put('a');
    await q.put('b');
    assert.equal(q.empty(), false);
    assert.deepEqual([await q.get(), await q.get()], ['a', 'b']);
    q.close();
    await assert.rejects(q.get({ timeoutMs: 1000 }), ClosedError);
  });

  it('has no maxsize: one given is refused, naming Queue({ maxsize }) for a bounded queue', () => {
    assert.throws(
      () => new SimpleQueue({ maxsize: 2 } as never),
      (err: Error) => err instanceof InvalidArgumentError && /use a Queue\(\{ maxsize \}\)/.test(err.message),
    );
  });

  for (const [kind, make] of [
    ['a Thread', (q: SimpleQueue<number>) => new Thread({ target: simpleEcho, args: [q] })],
    ['a Process', (q: SimpleQueue<number>) => new Process({ target: simpleEcho, args: [q] })],
  ] as const) {
    it(`crosses to ${kind} as a SimpleQueue over the same memory`, T, async () => {
      const q = new SimpleQueue<number>({ memory: kind === 'a Process' ? 'process' : undefined });
      await q.put(21);
      const w = make(q);
      w.start();
      await within(20_000, w.join(), kind);
      assert.deepEqual([w.exitCode, w.result], [0, 'SimpleQueue']);
      assert.equal(await q.get({ timeoutMs: 5000 }), 42);
    });
  }
});
