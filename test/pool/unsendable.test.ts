// What structured clone refuses (a Proxy inside a payload or a result, which the codec passes on
// as it is) fails the task to blame with NotCloneableError; the pool, its worker and the other
// tasks go on. `apply` and `starmap` copy their arguments when called, as Python takes a tuple.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NotCloneableError, Pool } from 'threadkit';
import { add, identity, proxyOf } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, KINDS, rejection, within } from './helpers.ts';

for (const kind of KINDS) {
  it(`a ${kind} pool fails only the task whose arguments cannot be sent, and goes on`, { timeout: 60_000 }, async () => {
    const pool = new Pool({ processes: 1, kind });
    const bad = pool.apply(identity, [new Proxy(new Date(0), {})]);
    const good = pool.apply(add, [7, 8]);
    const err = await rejection(bad);
    assert.ok(err instanceof NotCloneableError, `got ${err}`);
    assert.match(err.message, /cannot be sent to a worker/);
    assert.equal(await within(20_000, good), 15);
    for (let i = 0; i < 50; i++) assert.equal(await within(20_000, pool.apply(identity, [i])), i);
    await within(10_000, pool.terminate());
    await assertNoLeaks(pool);
  });

  it(`a ${kind} pool runs the tasks queued behind a batch it could not send`, { timeout: 60_000 }, async () => {
    // A fresh pool sends one task per batch: the refused one must not leave the next one queued.
    const pool = new Pool({ processes: 1, kind });
    const bad = rejection(pool.apply(identity, [new Proxy(new Date(0), {})]));
    const good = pool.apply(add, [1, 2]);
    pool.close();
    await within(20_000, pool.join());
    assert.ok((await bad) instanceof NotCloneableError);
    assert.equal(await within(20_000, good), 3);
    await assertNoLeaks(pool);
  });

  it(`a ${kind} task whose result cannot be sent back fails with NotCloneableError, and its worker goes on`, { timeout: 60_000 }, async () => {
    const pool = new Pool({ processes: 1, kind });
    assert.equal(await within(20_000, pool.apply(identity, [1])), 1);
    const err = await rejection(pool.apply(proxyOf, [new Date(0)]));
    assert.ok(err instanceof NotCloneableError, `got ${err}`);
    assert.match(err.message, /result cannot be sent back/);
    assert.equal(pool.stats().started, 1, 'the worker was replaced');
    for (let i = 0; i < 20; i++) assert.equal(await within(20_000, pool.apply(identity, [i])), i);
    await within(10_000, pool.terminate());
    await assertNoLeaks(pool);
  });

  it(`a ${kind} pool's starmap takes each tuple as it was, a Proxy's too, whichever way the task travels`, { timeout: 60_000 }, async () => {
    const pool = new Pool({ processes: 1, kind });
    for (let i = 0; i < 100; i++) {
      assert.equal(await within(20_000, pool.apply(add, [i, 0])), i);
      assert.deepEqual(await within(20_000, pool.starmap(add, [new Proxy([i, 1], {}) as unknown as [number, number]])), [i + 1]);
    }
    await assert.rejects(pool.starmap(add, [5 as unknown as [number, number]]), /each starmap item to be an array/);
    await within(10_000, pool.terminate());
    await assertNoLeaks(pool);
  });

  it(`a ${kind} pool's apply takes its arguments as they were when called, a Proxy's too`, { timeout: 60_000 }, async () => {
    const pool = new Pool({ processes: 1, kind });
    for (let i = 0; i < 100; i++) assert.equal(await within(20_000, pool.apply(add, new Proxy([i, 1], {}) as unknown as [number, number])), i + 1);
    const args: [number, number] = [1, 2];
    const f = pool.applyAsync(add, args);
    args[0] = 100;
    assert.equal(await within(20_000, f.result()), 3);
    await within(10_000, pool.terminate());
    await assertNoLeaks(pool);
  });
}
