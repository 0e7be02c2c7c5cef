// The contract Process and Thread share, written once and run against both backends
// (as CPython runs one lock test suite against every lock type).
import './helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, InvalidStateError, NotCloneableError, Process, TargetNotFoundError, Thread } from 'threadkit';
import { within } from './helpers/deadline.ts';
import { DoubleProcess, DoubleThread } from './fixtures/subclasses.ts';
import { startSecret } from './fixtures/not-exported.ts';
import { chatty, echo, exitWith, fail, failLater, forever, makePoint, normOf, Point, shout, sleepThen, whoAmI } from './fixtures/targets.ts';

const backends = [
  { kind: 'process' as const, Kind: Process },
  { kind: 'thread' as const, Kind: Thread },
];

async function runToEnd<T extends Process | Thread>(r: T, ms = 20_000): Promise<T> {
  r.start();
  await within(ms, r.join(), `${r.name}.join()`);
  return r;
}

for (const { kind, Kind } of backends) {
  describe(`${Kind.name} (${kind})`, () => {
    it('runs an exported target with its arguments and gives back what it returned', async () => {
      const r = await runToEnd(new Kind({ target: echo, args: [1, 'two', { three: [3] }] }));
      assert.equal(r.exitCode, 0);
      assert.deepEqual(r.result, [1, 'two', { three: [3] }]);
      assert.equal(r.error, undefined);
      assert.equal(r.isAlive(), false);
    });

    it('awaits an async target', async () => {
      const r = await runToEnd(new Kind({ target: sleepThen, args: [20, 'late'] }));
      assert.equal(r.result, 'late');
    });

    it('finds a target that the caller only imports from another module', async () => {
      const r = await runToEnd(new Kind({ target: shout, args: ['hi'] }));
      assert.equal(r.result, 'HI!');
    });

    it('reports an error thrown in the target with its class, message, child stack, cause and own properties', async () => {
      const r = await runToEnd(new Kind({ target: fail, args: ['it broke'] }));
      assert.equal(r.exitCode, 1);
      const err = r.error as TypeError & { code: string; detail: unknown; cause: Error };
      assert.ok(err instanceof TypeError);
      assert.equal(err.message, 'it broke');
      assert.match(err.stack ?? '', /at fail .*targets\.ts/);
      assert.ok(err.cause instanceof RangeError);
      assert.equal(err.cause.message, 'the root cause');
      assert.equal(err.code, 'E_FIXTURE');
      assert.deepEqual(err.detail, { answer: 42 });
    });

    it('reports a rejection of an async target', async () => {
      const r = await runToEnd(new Kind({ target: failLater, args: ['later'] }));
      assert.equal(r.exitCode, 1);
      assert.ok(r.error instanceof RangeError);
      assert.equal((r.error as Error).message, 'later');
    });

    it('passes instances of exported classes across with their prototype', async () => {
      const r = await runToEnd(new Kind({ target: normOf, args: [new Point(3, 4)] }));
      assert.equal(r.result, 5);
      const back = await runToEnd(new Kind({ target: makePoint, args: [6, 8] }));
      assert.ok(back.result instanceof Point);
      assert.equal((back.result as Point).norm(), 10);
    });

    it('throws a TargetNotFoundError from start() for a target that is not exported, naming module and function', () => {
      assert.throws(
        () => startSecret(kind),
        (err: unknown) =>
          err instanceof TargetNotFoundError &&
          err.code === 'TK_TARGET_NOT_FOUND' &&
          /`secret`/.test(err.message) &&
          /not-exported\.ts/.test(err.message) &&
          /export/.test(err.message),
      );
    });

    it('throws a NotCloneableError from start() that names the argument that cannot cross', () => {
      const r = new Kind({ target: echo, args: [1, { nested: { fn: () => 1 } }] });
      assert.throws(
        () => r.start(),
        (err: unknown) => err instanceof NotCloneableError && err.path === 'args[1].nested.fn' && /args\[1\]\.nested\.fn/.test(err.message),
      );
      assert.equal(r.isAlive(), false);
    });

    it('refuses to start twice and to join before start', async () => {
      const r = new Kind({ target: echo, args: [] });
      await assert.rejects(r.join(), InvalidStateError);
      r.start();
      assert.throws(() => r.start(), InvalidStateError);
      await within(20_000, r.join());
    });

    it('returns from join(timeoutMs) while the target still runs, and reports it alive', async () => {
      const r = new Kind({ target: forever, args: [], daemon: true });
      r.start();
      await r.join(50);
      assert.equal(r.isAlive(), true);
      assert.equal(r.exitCode, null);
      r.terminate();
      await within(20_000, r.join());
      assert.equal(r.isAlive(), false);
      assert.equal(r.exitCode, -15);
    });

    it('gives exit code -9 after kill()', async () => {
      const r = new Kind({ target: forever, args: [], daemon: true });
      r.start();
      await r.join(30);
      r.kill();
      await within(20_000, r.join());
      assert.equal(r.exitCode, -9);
    });

    it('runs a subclass that overrides run(), with its own fields', async () => {
      const r = kind === 'process' ? new DoubleProcess(21) : new DoubleThread(21);
      await runToEnd(r);
      assert.equal(r.exitCode, 0);
      assert.equal(r.result, kind === 'process' ? 'doubler:42' : 47);
    });

    it('delivers messages the target posts, in order, before join() resolves', async () => {
      const seen: unknown[] = [];
      const r = new Kind({ target: chatty, args: [5] });
      r.on('message', (m) => seen.push(m));
      await runToEnd(r);
      assert.deepEqual(
        seen,
        [0, 1, 2, 3, 4].map((i) => ({ i })),
      );
    });

    it('names itself and can be named', async () => {
      const r = await runToEnd(new Kind({ target: whoAmI, name: 'worker-a' }));
      const me = r.result as ReturnType<typeof whoAmI>;
      assert.equal(r.name, 'worker-a');
      if (kind === 'process') assert.equal(me.processName, 'worker-a');
      else assert.equal(me.threadName, 'worker-a');
    });

    it('rejects options that are not what they should be', () => {
      assert.throws(() => new Kind({ target: 'echo' as never }), /target/);
      assert.throws(() => new Kind({ target: echo, args: 'x' as never }), /args/);
    });

    it('supports await using, joining at the end of the scope', async () => {
      let r: Process | Thread;
      {
        await using scoped = new Kind({ target: sleepThen, args: [10, 'ok'] });
        r = scoped;
        scoped.start();
      }
      assert.equal(r.isAlive(), false);
      assert.equal(r.result, 'ok');
    });
  });
}

describe('Process specifics', () => {
  it('runs in another process whose parent is this one', async () => {
    const r = await runToEnd(new Process({ target: whoAmI }));
    const me = r.result as ReturnType<typeof whoAmI>;
    assert.notEqual(me.pid, process.pid);
    assert.equal(me.ppid, process.pid);
    assert.equal(r.pid, me.pid);
  });

  it('reports the code the target passed to process.exit()', async () => {
    const r = await runToEnd(new Process({ target: exitWith, args: [7] }));
    assert.equal(r.exitCode, 7);
  });

  it('runs two processes at the same time with different pids', async () => {
    const a = new Process({ target: whoAmI });
    const b = new Process({ target: whoAmI });
    a.start();
    b.start();
    await within(20_000, Promise.all([a.join(), b.join()]));
    assert.notEqual(a.pid, b.pid);
    assert.notEqual(a.pid, process.pid);
  });
});

describe('Thread specifics', () => {
  it('runs in this process on a worker thread', async () => {
    const r = await runToEnd(new Thread({ target: whoAmI }));
    const me = r.result as ReturnType<typeof whoAmI>;
    assert.equal(me.pid, process.pid);
    assert.ok(me.threadId > 0);
    assert.equal(r.threadId, me.threadId);
  });

  it('starts a hundred threads that all run to completion', async () => {
    const threads = Array.from({ length: 100 }, (_, i) => new Thread({ target: sleepThen, args: [5, i] }));
    for (const t of threads) t.start();
    await within(30_000, Promise.all(threads.map((t) => t.join())));
    assert.deepEqual(
      threads.map((t) => t.result),
      threads.map((_, i) => i),
    );
    assert.equal(new Set(threads.map((t) => t.ident)).size, 100);
  });
});

describe('options of Process and Thread', () => {
  for (const Kind of [Process, Thread]) {
    it(`new ${Kind.name}() refuses an option it does not know, naming it and the fix`, () => {
      const refused = (options: object, message: RegExp) =>
        assert.throws(
          () => new Kind(options as never),
          (err: Error) => err instanceof InvalidArgumentError && message.test(err.message),
        );
      refused(
        { target: echo, arg: [1, 2] },
        new RegExp(`new ${Kind.name}\\(\\): unknown option \`arg\`; did you mean \`args\`\\? \\(its options: target, args, name, daemon\\)`),
      );
      refused({ target: echo, kwargs: { a: 1 } }, /unknown option `kwargs`; there are no keyword arguments: pass an object in `args`/);
      refused({ targt: echo }, /unknown option `targt`; did you mean `target`\?/);
    });
  }
});
