// Pipe: duplex and one-way ends, end of file, poll, and ends passed to Threads.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { ClosedError, Connection, InvalidArgumentError, InvalidStateError, Pipe, TimeoutError } from 'threadkit';
import { rejectsAfter } from '../helpers/timing.ts';
import { echo, receiveAll, sendCount } from '../fixtures/queue-targets.ts';
import { within } from '../helpers/deadline.ts';
import { assertNoThreadLeft, BACKENDS, start } from './backends.ts';

const T = { timeout: 30_000 };

after(assertNoThreadLeft);

describe('Pipe on one thread', () => {
  it('a duplex pipe carries objects both ways, in order', T, async () => {
    const [a, b] = Pipe<unknown>();
    assert.ok(a instanceof Connection && a.readable && a.writable && b.readable && b.writable);
    await a.send(1);
    await a.send({ two: [2] });
    await b.send('back');
    assert.equal(await b.recv(), 1);
    assert.deepEqual(await b.recv(), { two: [2] });
    assert.equal(await a.recv({ timeoutMs: 1_000 }), 'back');
  });

  it('a one-way pipe receives on the first end and sends on the second only', T, async () => {
    const [r, w] = Pipe<number>(false);
    assert.deepEqual([r.readable, r.writable, w.readable, w.writable], [true, false, false, true]);
    await w.send(5);
    assert.equal(await r.recv(), 5);
    await assert.rejects(r.send(1), InvalidStateError);
    await assert.rejects(w.recv(), InvalidStateError);
  });

  it('recv drains what was sent, then throws ClosedError once the other end closed', T, async () => {
    const [a, b] = Pipe<number>();
    await a.send(1);
    await a.send(2);
    a.close();
    assert.equal(a.closed, true);
    assert.equal(b.closed, false, 'a closed peer does not close this end');
    assert.equal(await b.recv(), 1);
    assert.equal(await b.recv(), 2);
    await assert.rejects(b.recv(), (err: Error) => err instanceof ClosedError && /other end/.test(err.message));
    await assert.rejects(b.send(3), (err: Error) => err instanceof ClosedError && /other end/.test(err.message));
    await assert.rejects(a.send(3), (err: Error) => err instanceof ClosedError && /this end/.test(err.message));
    await assert.rejects(a.recv(), ClosedError);
  });

  it('closing an end wakes a recv waiting at the other end', T, async () => {
    const [a, b] = Pipe();
    const waiting = b.recv();
    await sleep(10);
    a.close();
    await within(5_000, assert.rejects(waiting, ClosedError));
  });

  it('poll says whether recv would return without waiting, and waits up to its timeout', T, async () => {
    const [a, b] = Pipe<string>();
    assert.equal(await b.poll(), false);
    assert.equal(await b.poll(20), false);
    const polling = b.poll(5_000);
    await a.send('x');
    assert.equal(await polling, true);
    assert.equal(await b.poll(), true, 'poll takes nothing');
    assert.equal(await b.recv(), 'x');
    a.close();
    assert.equal(await b.poll(), true, 'at end of file recv would not wait either');
    b.close();
    await assert.rejects(b.poll(), ClosedError);
  });

  it('recv with a timeout rejects with TimeoutError; an abort rejects with the reason', T, async () => {
    const [a, b] = Pipe();
    await rejectsAfter(() => b.recv({ timeoutMs: 20 }), TimeoutError, 20);
    const ac = new AbortController();
    const waiting = b.recv({ signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    await a.send('still here');
    assert.equal(await b.recv({ timeoutMs: 1_000 }), 'still here');
  });

  it('send waits while the pipe is full and gives up with TimeoutError', T, async () => {
    const [a, b] = Pipe<string>(true, { capacityBytes: 256 });
    const item = 'x'.repeat(100);
    await a.send(item);
    await a.send(item);
    await rejectsAfter(() => a.send(item, { timeoutMs: 20 }), TimeoutError, 20);
    const third = a.send(item, { timeoutMs: 5_000 });
    assert.equal(await b.recv(), item);
    await within(5_000, third);
    await assert.rejects(a.send('y'.repeat(300)), InvalidArgumentError);
  });
});

for (const backend of BACKENDS) {
  describe(`Pipe contract (${backend})`, () => {
    it('an echo at the other end sends back every object, and ends when this end closes', T, async () => {
      const [mine, theirs] = Pipe<unknown>();
      const echoer = start(backend, [[echo, [theirs]]]);
      const sent = [1, 'two', { three: new Map([[3, new Date(3)]]) }, new Uint8Array([4, 4])];
      for (const m of sent) {
        await mine.send(m);
        assert.deepEqual(await mine.recv({ timeoutMs: 20_000 }), m);
      }
      mine.close();
      assert.deepEqual(await within(20_000, echoer.results), [sent.length]);
    });

    it('2000 numbers through a one-way pipe arrive exactly once, then end of file', T, async () => {
      const [r, w] = Pipe<number>(false, { capacityBytes: 1024 });
      const ends = start(backend, [
        [sendCount, [w, 2_000]],
        [receiveAll, [r]],
      ]);
      assert.deepEqual(await within(25_000, ends.results), [2_000, { count: 2_000, sum: (1_999 * 2_000) / 2 }]);
    });
  });
}
