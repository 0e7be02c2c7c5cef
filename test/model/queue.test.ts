// Model-based tests of Queue: put/putNowait/get/getNowait/close/abort sequences from tasks,
// Threads and a Process, against a sequential FIFO model with maxsize 2.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import fc from 'fast-check';
import { Queue } from 'threadkit';
import { queueWords } from '../helpers/inspect.ts';
import type { Prim } from '../fixtures/model-actors.ts';
import { actorArb, commonSteps, Model, modeArb, modelSuite, Step, type ActorKind, type Actors, type Mode } from './harness.ts';

const MAXSIZE = 2;

class QueueModel extends Model {
  readonly queue: Queue<number>;
  items: number[] = [];
  closed = false;
  next = 1;

  constructor(actors: Actors, prim: number, queue: Queue<number>) {
    super(actors, prim);
    this.queue = queue;
  }

  async put(a: number, op: 'put' | 'putNowait', mode: Mode): Promise<void> {
    const item = this.next++;
    const what = `#${a}.${op}(${item}, ${mode})`;
    const getters = this.pending.filter((p) => p.op === 'get');
    if (this.closed) return this.wait(a, op, mode, { ok: false, value: 'TK_CLOSED' }, { ok: false, value: 'TK_CLOSED' }, { arg: item });
    if (getters.length > 0) {
      await this.wait(a, op, mode, { ok: true, value: 'ok' }, { ok: true, value: 'ok' }, { arg: item });
      const [{ r }] = (await this.release(getters, 1, `${what} goes to one waiting getter`)) as unknown as [{ r: { ok: boolean; value: unknown } }];
      assert.deepEqual([r.ok, r.value], [true, item], 'the waiting getter got the item');
      return;
    }
    if (this.items.length < MAXSIZE) {
      this.items.push(item);
      return this.wait(a, op, mode, { ok: true, value: 'ok' }, { ok: true, value: 'ok' }, { arg: item });
    }
    if (op === 'putNowait') return this.expect(this.send(a, op, { arg: item }), false, 'TK_QUEUE_FULL', what);
    await this.wait(a, op, mode, undefined, { ok: false, value: 'TK_QUEUE_FULL' }, { arg: item });
  }

  async get(a: number, op: 'get' | 'getNowait', mode: Mode): Promise<void> {
    const what = `#${a}.${op}(${mode})`;
    if (this.items.length > 0) {
      const item = this.items.shift()!;
      await this.wait(a, op, op === 'getNowait' ? 'try' : mode, { ok: true, value: item }, { ok: true, value: item });
      const putters = this.pending.filter((p) => p.op === 'put');
      if (putters.length > 0) {
        const [{ p, r }] = (await this.release(putters, 1, `${what} lets one waiting putter in`)) as unknown as [
          { p: { arg: number }; r: { ok: boolean; value: unknown } },
        ];
        assert.deepEqual([r.ok, r.value], [true, 'ok']);
        this.items.push(p.arg);
      }
      return;
    }
    if (this.closed) return this.wait(a, op, 'try', { ok: false, value: 'TK_CLOSED' }, { ok: false, value: 'TK_CLOSED' });
    if (op === 'getNowait') return this.expect(this.send(a, op), false, 'TK_QUEUE_EMPTY', what);
    await this.wait(a, op, mode, undefined, { ok: false, value: 'TK_QUEUE_EMPTY' });
  }

  async close(a: number): Promise<void> {
    await this.expect(this.send(a, 'close'), true, null, `#${a}.close()`);
    this.closed = true;
    const waiting = [...this.pending];
    for (const { r } of await this.release(waiting, waiting.length, 'close() ends every waiting get and put'))
      assert.deepEqual([r.ok, r.value], [false, 'TK_CLOSED']);
  }

  check(): void {
    assert.equal(this.queue.qsize(), this.items.length, 'qsize() matches the model');
    assert.equal(this.queue.closed, this.closed);
    if (this.pending.length === 0) {
      const w = queueWords(this.queue);
      assert.deepEqual([w.getters, w.putters, w.pollers, w.mutexFree], [0, 0, 0, true], 'no waiter counted, mutex free');
    }
  }
}

function steps(kinds: readonly ActorKind[]): fc.Arbitrary<Step<QueueModel>>[] {
  const put = fc.tuple(actorArb(kinds), modeArb).map(
    ([a, mode]) =>
      new Step<QueueModel>(
        `#${a}.put(${mode})`,
        (m) => m.canWait(a, mode),
        (m) => m.put(a, 'put', mode),
      ),
  );
  const get = fc.tuple(actorArb(kinds), modeArb).map(
    ([a, mode]) =>
      new Step<QueueModel>(
        `#${a}.get(${mode})`,
        (m) => m.canWait(a, mode),
        (m) => m.get(a, 'get', mode),
      ),
  );
  return [
    put,
    put,
    get,
    get,
    actorArb(kinds).map(
      (a) =>
        new Step<QueueModel>(
          `#${a}.putNowait()`,
          () => true,
          (m) => m.put(a, 'putNowait', 'try'),
        ),
    ),
    actorArb(kinds).map(
      (a) =>
        new Step<QueueModel>(
          `#${a}.getNowait()`,
          () => true,
          (m) => m.get(a, 'getNowait', 'try'),
        ),
    ),
    actorArb(kinds).map(
      (a) =>
        new Step<QueueModel>(
          `#${a}.close()`,
          (m) => m.log.length > 6,
          (m) => m.close(a),
        ),
    ),
    ...commonSteps<QueueModel>(),
  ];
}

describe('Queue against its model', () => {
  modelSuite({
    name: 'Queue',
    make: (memory) => new Queue<number>({ maxsize: MAXSIZE, capacityBytes: 4096, memory }) as Prim,
    build: (actors, prim, real) => new QueueModel(actors, prim, real as Queue<number>),
    steps,
    runs: 15,
    processRuns: 3,
  });
});
