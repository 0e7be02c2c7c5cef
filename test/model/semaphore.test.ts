// Model-based tests of Semaphore and BoundedSemaphore: acquire/tryAcquire/release(n)/abort
// sequences from tasks, Threads and a Process, against a sequential model of the value.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import fc from 'fast-check';
import { BoundedSemaphore, Semaphore } from 'threadkit';
import { semaphoreWords } from '../helpers/inspect.ts';
import type { Prim } from '../fixtures/model-actors.ts';
import { actorArb, commonSteps, Model, modeArb, modelSuite, Step, type ActorKind, type Actors, type Mode } from './harness.ts';

const INITIAL = 2;

class SemaphoreModel extends Model {
  readonly sem: Semaphore;
  readonly bounded: boolean;
  value = INITIAL;

  constructor(actors: Actors, prim: number, sem: Semaphore) {
    super(actors, prim);
    this.sem = sem;
    this.bounded = sem instanceof BoundedSemaphore;
  }

  async acquire(a: number, op: 'acquire' | 'tryAcquire', mode: Mode): Promise<void> {
    if (this.value > 0) {
      this.value--;
      return this.wait(a, op, op === 'tryAcquire' ? 'try' : mode, { ok: true, value: true }, { ok: true, value: true });
    }
    if (op === 'tryAcquire') return this.expect(this.send(a, op), true, false, `#${a}.tryAcquire`);
    return this.wait(a, op, mode, undefined, { ok: true, value: false });
  }

  async releaseN(a: number, n: number): Promise<void> {
    const id = this.send(a, 'release', { arg: n });
    if (this.bounded && this.value + n > INITIAL) return this.expect(id, false, 'TK_SEMAPHORE_OVERFLOW', `#${a}.release(${n}) above the bound`);
    await this.expect(id, true, null, `#${a}.release(${n})`);
    const waiting = this.pending.filter((p) => p.op === 'acquire');
    const granted = Math.min(n, waiting.length);
    const served = await this.release(waiting, granted, `release(${n}) serves ${granted} waiter(s)`);
    for (const { r } of served) assert.deepEqual([r.ok, r.value], [true, true], 'a served waiter got a unit');
    this.value += n - granted;
  }

  check(): void {
    assert.equal(this.sem.value, this.value, 'the value matches the model');
    if (this.pending.length === 0) assert.equal(semaphoreWords(this.sem).waiters, 0, 'no waiter counted');
  }
}

function steps(kinds: readonly ActorKind[]): fc.Arbitrary<Step<SemaphoreModel>>[] {
  const acquire = fc.tuple(actorArb(kinds), modeArb).map(
    ([a, mode]) =>
      new Step<SemaphoreModel>(
        `#${a}.acquire(${mode})`,
        (m) => m.canWait(a, mode),
        (m) => m.acquire(a, 'acquire', mode),
      ),
  );
  return [
    acquire,
    acquire,
    actorArb(kinds).map(
      (a) =>
        new Step<SemaphoreModel>(
          `#${a}.tryAcquire()`,
          () => true,
          (m) => m.acquire(a, 'tryAcquire', 'try'),
        ),
    ),
    fc.tuple(actorArb(kinds), fc.integer({ min: 1, max: 3 })).map(
      ([a, n]) =>
        new Step<SemaphoreModel>(
          `#${a}.release(${n})`,
          () => true,
          (m) => m.releaseN(a, n),
        ),
    ),
    ...commonSteps<SemaphoreModel>(),
  ];
}

for (const [name, Kind] of [
  ['Semaphore', Semaphore],
  ['BoundedSemaphore', BoundedSemaphore],
] as const) {
  describe(`${name} against its model`, () => {
    modelSuite({
      name,
      make: (memory) => new Kind(INITIAL, { memory }) as Prim,
      build: (actors, prim, real) => new SemaphoreModel(actors, prim, real as Semaphore),
      steps,
      runs: 15,
      processRuns: 3,
    });
  });
}
