// What cannot cross as it is: a Thread's result that structured clone refuses ends the Thread
// with NotCloneableError (it used to leave join() waiting for good), and postMessage refuses a
// function or a class instance at the call, with the same error in a Thread and a Process.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Process, Thread } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { liveWorkers } from '../helpers/workers.ts';
import { postShared, postThenBad, returnFunction, returnSymbolLater } from '../fixtures/uncopyable.ts';

const T = { timeout: 60_000 };

describe('a result that cannot cross', () => {
  for (const [how, target, path] of [
    ['a function, returned at once', returnFunction, /^result is an anonymous function/],
    ['a symbol inside an object, after an await', returnSymbolLater, /^result\.nested is a symbol/],
  ] as const) {
    it(`${how}: the Thread ends with NotCloneableError, and the next Thread runs`, T, async () => {
      const t = new Thread({ target });
      t.start();
      await within(10_000, t.join(), 'join() of a Thread whose result cannot cross');
      assert.equal(t.isAlive(), false);
      assert.equal(t.exitCode, 1);
      assert.equal((t.error as { code?: string }).code, 'TK_NOT_CLONEABLE');
      assert.match((t.error as Error).message, path);
      const next = new Thread({ target: postThenBad, args: ['thread', 'instance'] });
      next.start();
      await within(10_000, next.join(), 'the next Thread');
      assert.equal(next.exitCode, 0);
    });
  }
});

describe('postMessage of what cannot cross', () => {
  for (const Kind of [Thread, Process]) {
    const kind = Kind === Thread ? 'thread' : 'process';
    for (const bad of ['function', 'instance'] as const) {
      it(
        `${kind}: a message holding a ${bad === 'function' ? 'function' : 'class instance'} throws NotCloneableError at the call; the messages around it arrive`,
        T,
        async () => {
          const w = new Kind({ target: postThenBad, args: [kind, bad] });
          const got: unknown[] = [];
          w.on('message', (m: unknown) => got.push(m));
          w.start();
          await within(20_000, w.join(), `join() of the ${kind}`);
          assert.equal(w.exitCode, 0, String(w.error));
          const r = w.result as { name: string; code: unknown; message: string };
          assert.deepEqual([r.name, r.code], ['NotCloneableError', 'TK_NOT_CLONEABLE']);
          assert.match(
            r.message,
            bad === 'function' ? /postMessage\(\): the message cannot be copied/ : /message\.at is an instance of Point, which would arrive as a plain object/,
          );
          // A Process's messages may trail its result by a turn of the event loop.
          await within(
            5_000,
            (async () => {
              while (got.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
            })(),
            'the two good messages',
          );
          assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);
        },
      );
    }
  }
  it("a Thread's message carries a SharedArrayBuffer (shared, not copied) and a DOMException as themselves", T, async () => {
    const t = new Thread({ target: postShared });
    const got: { sab: SharedArrayBuffer; reason: DOMException }[] = [];
    t.on('message', (m: { sab: SharedArrayBuffer; reason: DOMException }) => got.push(m));
    t.start();
    await within(10_000, t.join(), 'the Thread');
    assert.equal(t.result, 'posted', String(t.error));
    await within(
      5_000,
      (async () => {
        while (got.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'the message',
    );
    assert.ok(got[0]!.sab instanceof SharedArrayBuffer);
    assert.equal(new Int32Array(got[0]!.sab)[0], 42);
    assert.ok(got[0]!.reason instanceof DOMException);
    assert.equal(got[0]!.reason.name, 'AbortError');
  });
  it('leaves no worker running', () => assert.equal(liveWorkers(), 0));
});
