// Model-based tests of Barrier (3 parties): wait/abort/reset/signal-abort sequences from tasks,
// Threads and a Process, against a sequential model of the generation, its count and "broken".
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import fc from 'fast-check';
import { Barrier } from 'threadkit';
import type { Prim } from '../fixtures/model-actors.ts';
import { actorArb, commonSteps, Model, modeArb, modelSuite, Step, timeoutOf, type ActorKind, type Actors, type Mode, type Pending } from './harness.ts';

const PARTIES = 3;
const BROKEN = { ok: false, value: 'TK_BARRIER_BROKEN' };

class BarrierModel extends Model {
  readonly barrier: Barrier;
  count = 0;
  broken = false;

  constructor(actors: Actors, prim: number, barrier: Barrier) {
    super(actors, prim);
    this.barrier = barrier;
  }

  /** Every pending wait fails with BrokenBarrierError. */
  async failAll(what: string): Promise<void> {
    const waiting = [...this.pending];
    for (const { r } of await this.release(waiting, waiting.length, what)) assert.deepEqual({ ok: r.ok, value: r.value }, BROKEN, what);
    this.count = 0;
  }

  async arrive(a: number, mode: Mode): Promise<void> {
    if (this.broken) return this.wait(a, 'wait', mode, BROKEN, BROKEN);
    if (this.count + 1 === PARTIES) {
      await this.wait(a, 'wait', mode, { ok: true, value: this.count }, BROKEN);
      const waiting = [...this.pending];
      for (const { p, r } of await this.release(waiting, waiting.length, 'the last party releases the others')) {
        assert.deepEqual([r.ok, r.value], [true, p.arg], 'each party gets its arrival index');
      }
      this.count = 0;
      return;
    }
    if (mode === 'long') {
      const id = this.send(a, 'wait');
      this.pending.push({ id, actor: a, op: 'wait', arg: this.count++ });
      await this.actors.begun(id, `#${a}.wait(long)`);
      // Arrival order decides the indices: let this party arrive before anyone else acts.
      await this.until(() => this.barrier.nWaiting === this.count, `#${a} arrives`);
      return;
    }
    // A wait that times out breaks the barrier for everyone.
    await this.expect(this.send(a, 'wait', { timeoutMs: timeoutOf(mode) }), false, 'TK_BARRIER_BROKEN', `#${a}.wait(${mode}) times out`, timeoutOf(mode));
    this.broken = true;
    await this.failAll('a timed-out party breaks the barrier');
  }

  async abortBy(a: number): Promise<void> {
    await this.expect(this.send(a, 'abort'), true, null, `#${a}.abort()`);
    this.broken = true;
    await this.failAll('abort() fails every waiting party');
  }

  async resetBy(a: number): Promise<void> {
    await this.expect(this.send(a, 'reset'), true, null, `#${a}.reset()`);
    await this.failAll('reset() fails every waiting party');
    this.broken = false;
  }

  protected override async aborted(_p: Pending): Promise<void> {
    // A party aborted by its signal breaks the barrier: the others cannot complete without it.
    this.broken = true;
    await this.failAll('an aborted party breaks the barrier');
  }

  check(): void {
    assert.equal(this.barrier.broken, this.broken, 'broken matches the model');
    assert.equal(this.barrier.nWaiting, this.broken ? 0 : this.count, 'nWaiting matches the model');
  }
}

function steps(kinds: readonly ActorKind[]): fc.Arbitrary<Step<BarrierModel>>[] {
  const wait = fc.tuple(actorArb(kinds), modeArb).map(
    ([a, mode]) =>
      new Step<BarrierModel>(
        `#${a}.wait(${mode})`,
        (m) => m.canWait(a, mode),
        (m) => m.arrive(a, mode),
      ),
  );
  const waitLong = actorArb(kinds).map(
    (a) =>
      new Step<BarrierModel>(
        `#${a}.wait(long)`,
        (m) => m.canWait(a, 'long'),
        (m) => m.arrive(a, 'long'),
      ),
  );
  return [
    wait,
    waitLong,
    waitLong,
    actorArb(kinds).map(
      (a) =>
        new Step<BarrierModel>(
          `#${a}.abort()`,
          () => true,
          (m) => m.abortBy(a),
        ),
    ),
    actorArb(kinds).map(
      (a) =>
        new Step<BarrierModel>(
          `#${a}.reset()`,
          () => true,
          (m) => m.resetBy(a),
        ),
    ),
    ...commonSteps<BarrierModel>(),
  ];
}

describe('Barrier against its model', () => {
  modelSuite({
    name: 'Barrier',
    make: (memory) => new Barrier(PARTIES, { memory }) as Prim,
    build: (actors, prim, real) => new BarrierModel(actors, prim, real as Barrier),
    steps,
    runs: 15,
    processRuns: 3,
  });
});
