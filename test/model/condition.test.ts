// Model-based tests of Condition (over a Lock): waits, notify(n), notifyAll and aborts from tasks,
// Threads and a Process, against a sequential FIFO model of the waiters.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import fc from 'fast-check';
import { Condition, Lock } from 'threadkit';
import { conditionSlotsInUse, lockFlags } from '../helpers/inspect.ts';
import type { Prim } from '../fixtures/model-actors.ts';
import { actorArb, commonSteps, Model, modeArb, modelSuite, Step, type ActorKind, type Actors, type Mode } from './harness.ts';

const CAPACITY = 16;

class ConditionModel extends Model {
  readonly cond: Condition;

  constructor(actors: Actors, prim: number, cond: Condition) {
    super(actors, prim);
    this.cond = cond;
  }

  async waitOn(a: number, mode: Mode): Promise<void> {
    // Nobody notifies meanwhile: a timed wait times out; a long one waits (FIFO).
    await this.wait(a, 'condWait', mode, undefined, { ok: true, value: false });
    // The actor takes the lock before it queues: let it queue before anyone acts (FIFO order).
    if (mode === 'long') await this.until(() => conditionSlotsInUse(this.cond, CAPACITY) === this.pending.length, `#${a} queues in wait()`);
  }

  async notify(a: number, n: number): Promise<void> {
    await this.expect(this.send(a, 'condNotify', { arg: n }), true, null, `#${a}.notify(${n})`);
    const waiting = this.pending.filter((p) => p.op === 'condWait');
    // Exactly the first n waiters, in the order they began to wait.
    const first = waiting.slice(0, n < 0 ? waiting.length : n);
    const woken = await this.release(first, first.length, `notify(${n}) wakes the first ${first.length} waiter(s)`);
    for (const { r } of woken) assert.deepEqual([r.ok, r.value], [true, true]);
  }

  check(): void {
    assert.equal(conditionSlotsInUse(this.cond, CAPACITY), this.pending.length, 'one slot per waiter, none left behind');
    if (this.pending.length === 0) assert.equal(lockFlags(this.cond.lock), 0, 'the lock is free and clean');
  }
}

function steps(kinds: readonly ActorKind[]): fc.Arbitrary<Step<ConditionModel>>[] {
  const wait = fc.tuple(actorArb(kinds), modeArb).map(
    ([a, mode]) =>
      new Step<ConditionModel>(
        `#${a}.wait(${mode})`,
        (m) => m.canWait(a, mode),
        (m) => m.waitOn(a, mode),
      ),
  );
  return [
    wait,
    wait,
    fc.tuple(actorArb(kinds), fc.integer({ min: -1, max: 2 })).map(
      ([a, n]) =>
        new Step<ConditionModel>(
          n < 0 ? `#${a}.notifyAll()` : `#${a}.notify(${n})`,
          () => true,
          (m) => m.notify(a, n),
        ),
    ),
    ...commonSteps<ConditionModel>(),
  ];
}

describe('Condition against its model', () => {
  modelSuite({
    name: 'Condition',
    make: (memory) => new Condition(new Lock({ memory }), { memory, capacity: CAPACITY }) as Prim,
    build: (actors, prim, real) => new ConditionModel(actors, prim, real as Condition),
    steps,
    runs: 15,
    processRuns: 3,
  });
});
