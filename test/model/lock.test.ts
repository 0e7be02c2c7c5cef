// Model-based tests of Lock and RLock: random acquire/tryAcquire/release/abort sequences from
// async tasks, Threads (async and blocking) and a Process, against a sequential model.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import fc from 'fast-check';
import { Lock, RLock } from 'threadkit';
import { lockFlags, lockWords } from '../helpers/inspect.ts';
import { actorArb, commonSteps, Model, modeArb, modelSuite, Step, type ActorKind, type Actors, type Mode } from './harness.ts';
import type { Prim } from '../fixtures/model-actors.ts';

class LockModel extends Model {
  readonly reentrant: boolean;
  readonly lock: Lock | RLock;
  held = false;
  owner = -1;
  depth = 0;

  constructor(actors: Actors, prim: number, lock: Lock | RLock) {
    super(actors, prim);
    this.lock = lock;
    this.reentrant = lock instanceof RLock;
  }

  async acquire(a: number, op: 'acquire' | 'tryAcquire', mode: Mode): Promise<void> {
    const got = { ok: true, value: true };
    if (this.reentrant && this.held && this.owner === a) {
      this.depth++;
      return this.wait(a, op, op === 'tryAcquire' ? 'try' : mode, got, got);
    }
    if (!this.held) {
      Object.assign(this, { held: true, owner: a, depth: 1 });
      return this.wait(a, op, op === 'tryAcquire' ? 'try' : mode, got, got);
    }
    if (op === 'tryAcquire') return this.expect(this.send(a, op), true, false, `#${a}.tryAcquire`);
    return this.wait(a, op, mode, undefined, { ok: true, value: false });
  }

  async releaseBy(a: number): Promise<void> {
    const id = this.send(a, 'release');
    if (!this.held) return this.expect(id, false, 'TK_LOCK_NOT_HELD', `#${a}.release of a free lock`);
    if (this.reentrant && this.owner !== a) return this.expect(id, false, 'TK_LOCK_NOT_OWNED', `#${a}.release of another's RLock`);
    await this.expect(id, true, null, `#${a}.release`);
    if (this.reentrant && --this.depth > 0) return;
    const waiting = this.pending.filter((p) => p.op === 'acquire');
    if (waiting.length === 0) {
      Object.assign(this, { held: false, owner: -1, depth: 0 });
      return;
    }
    // Handed to exactly one waiter (which one is the lock's choice).
    const [{ p, r }] = (await this.release(waiting, 1, 'a release with waiters hands the lock to one of them')) as unknown as [
      { p: { actor: number }; r: { ok: boolean; value: unknown } },
    ];
    assert.deepEqual([r.ok, r.value], [true, true], 'the waiter handed the lock got it');
    Object.assign(this, { owner: p.actor, depth: 1 });
  }

  check(): void {
    assert.equal(this.lock.locked(), this.held, 'locked() matches the model');
    assert.equal(lockFlags(this.lock) & 1, this.held ? 1 : 0);
    if (this.pending.length === 0) {
      // Nobody waits: nothing else may be left in the words (starving count, hand-off, waiters).
      assert.deepEqual(
        { flags: lockFlags(this.lock), waiters: lockWords(this.lock).waiters },
        { flags: this.held ? 1 : 0, waiters: 0 },
        'the lock words are clean',
      );
    }
  }
}

function steps(kinds: readonly ActorKind[]): fc.Arbitrary<Step<LockModel>>[] {
  const acquire = fc.tuple(actorArb(kinds), modeArb).map(
    ([a, mode]) =>
      new Step<LockModel>(
        `#${a}.acquire(${mode})`,
        (m) => m.canWait(a, mode),
        (m) => m.acquire(a, 'acquire', mode),
      ),
  );
  const ownerRelease = fc.constant(
    new Step<LockModel>(
      'owner.release()',
      (m) => m.held,
      (m) => m.releaseBy(m.owner),
    ),
  );
  // Listed more than once: weights (contention needs acquires, progress needs the owner's releases).
  return [
    acquire,
    acquire,
    acquire,
    ownerRelease,
    actorArb(kinds).map(
      (a) =>
        new Step<LockModel>(
          `#${a}.tryAcquire()`,
          () => true,
          (m) => m.acquire(a, 'tryAcquire', 'try'),
        ),
    ),
    actorArb(kinds).map(
      (a) =>
        new Step<LockModel>(
          `#${a}.release()`,
          () => true,
          (m) => m.releaseBy(a),
        ),
    ),
    // Releases by the owner, so that RLock sequences get somewhere.
    fc.constant(
      new Step<LockModel>(
        'owner.release()',
        (m) => m.held,
        (m) => m.releaseBy(m.owner),
      ),
    ),
    ...commonSteps<LockModel>(),
  ];
}

for (const [name, Kind] of [
  ['Lock', Lock],
  ['RLock', RLock],
] as const) {
  describe(`${name} against its model`, () => {
    modelSuite({
      name,
      make: (memory) => new Kind({ memory }) as Prim,
      build: (actors, prim, real) => new LockModel(actors, prim, real as Lock | RLock),
      steps,
      runs: 20,
      processRuns: 3,
    });
  });
}
