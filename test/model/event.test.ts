// Model-based tests of Event: set/clear/wait/abort sequences from tasks, Threads and a Process.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import fc from 'fast-check';
import { Event } from 'threadkit';
import type { Prim } from '../fixtures/model-actors.ts';
import { actorArb, commonSteps, Model, modeArb, modelSuite, Step, type ActorKind, type Actors, type Mode } from './harness.ts';

class EventModel extends Model {
  readonly event: Event;
  flag = false;

  constructor(actors: Actors, prim: number, event: Event) {
    super(actors, prim);
    this.event = event;
  }

  async waitFor(a: number, mode: Mode): Promise<void> {
    const now = this.flag ? { ok: true, value: true } : undefined;
    return this.wait(a, 'wait', mode, now, { ok: true, value: false });
  }

  async set(a: number): Promise<void> {
    await this.expect(this.send(a, 'set'), true, null, `#${a}.set()`);
    this.flag = true;
    const waiting = this.pending.filter((p) => p.op === 'wait');
    for (const { r } of await this.release(waiting, waiting.length, 'set() wakes every waiter')) assert.deepEqual([r.ok, r.value], [true, true]);
  }

  async clear(a: number): Promise<void> {
    await this.expect(this.send(a, 'clear'), true, null, `#${a}.clear()`);
    this.flag = false;
  }

  check(): void {
    assert.equal(this.event.isSet(), this.flag, 'isSet() matches the model');
  }
}

function steps(kinds: readonly ActorKind[]): fc.Arbitrary<Step<EventModel>>[] {
  const wait = fc.tuple(actorArb(kinds), modeArb).map(
    ([a, mode]) =>
      new Step<EventModel>(
        `#${a}.wait(${mode})`,
        (m) => m.canWait(a, mode),
        (m) => m.waitFor(a, mode),
      ),
  );
  return [
    wait,
    wait,
    actorArb(kinds).map(
      (a) =>
        new Step<EventModel>(
          `#${a}.set()`,
          () => true,
          (m) => m.set(a),
        ),
    ),
    actorArb(kinds).map(
      (a) =>
        new Step<EventModel>(
          `#${a}.clear()`,
          () => true,
          (m) => m.clear(a),
        ),
    ),
    ...commonSteps<EventModel>(),
  ];
}

describe('Event against its model', () => {
  modelSuite({
    name: 'Event',
    make: (memory) => new Event({ memory }) as Prim,
    build: (actors, prim, real) => new EventModel(actors, prim, real as Event),
    steps,
    runs: 15,
    processRuns: 3,
  });
});
