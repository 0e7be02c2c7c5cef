// A batch that structured clone refuses (a Proxy inside a payload, which the codec passes on as
// it is) fails the tasks to blame with InvalidArgumentError; the pool, its worker and the other
// tasks go on. `apply` copies its arguments when called, as Python takes a tuple.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { InvalidArgumentError, Pool } from 'threadkit';
import { add, identity } from '../fixtures/pool-targets.ts';
import { assertNoLeaks, KINDS, rejection, within } from './helpers.ts';

for (const kind of KINDS) {
  it(`a ${kind} pool fails only the task whose arguments cannot be sent, and goes on`, { timeout: 60_000 }, async () => {
    const pool = new Pool({ processes: 1, kind });
    const bad = pool.starmap(add, [[1, 2], new Proxy([3, 4], {}) as unknown as [number, number]]);
    const good = pool.apply(add, [7, 8]);
    const err = await rejection(bad);
    assert.ok(err instanceof InvalidArgumentError, `got ${err}`);
    assert.match(err.message, /cannot be sent to a worker/);
    assert.equal(await within(20_000, good), 15);
    for (let i = 0; i < 50; i++) assert.equal(await within(20_000, pool.apply(identity, [i])), i);
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
