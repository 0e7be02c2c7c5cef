/**
 * Model-based testing of the primitives (issue 9), with fast-check's `fc.commands` and
 * `fc.asyncModelRun`: random sequences of operations, each run by one of several actors — async
 * tasks on the main thread, a Thread using the async API, a Thread blocking in the `…Sync` API,
 * and in some runs a Process — are checked against a sequential model of the primitive. Waits
 * really park, and hand-offs, wake-ups, timeouts and aborts really cross threads and processes.
 *
 * Commands are issued one at a time and the harness waits for what the model says must settle
 * (a release hands the lock to exactly one pending acquire…), so the model stays sequential and
 * exact while every wake-up happens for real. A failure is shrunk to a minimal sequence and
 * reported with its seed.
 *
 * Environment: THREADKIT_MODEL_SEED (default fixed, for CI), THREADKIT_MODEL_RUNS (sequences
 * per suite), THREADKIT_MODEL_COMMANDS (most commands per sequence).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { Process, Queue, Thread } from 'threadkit';
import { newTaskId, taskStorage } from '../../dist/internal/for-tests.js';
import { available as addonBuilt } from '../../dist/internal/for-tests.js';
import { actor, syncActor, type Cmd, type Prim, type Res } from '../fixtures/model-actors.ts';

export const SEED = Number(process.env.THREADKIT_MODEL_SEED ?? 20_261_201);
export const MAX_COMMANDS = Number(process.env.THREADKIT_MODEL_COMMANDS ?? 20);
/** Sequences per suite: `ci` unless THREADKIT_MODEL_RUNS says otherwise. */
export const runs = (ci: number): number => Number(process.env.THREADKIT_MODEL_RUNS ?? ci);

/** How long a "short" timed wait waits. */
export const SHORT_MS = 25;
/** How long a `sleep` command lets parked waiters sit (long enough for a Lock waiter to turn starving). */
export const SLEEP_MS = 130;
/** Upper bound for anything the model says settles now (generous: the machine may be loaded). */
const SETTLE_MS = 10_000;

export type ActorKind = 'task' | 'thread' | 'thread-sync' | 'process';
export const ACTORS: readonly ActorKind[] = ['task', 'task', 'thread', 'thread-sync'];
export const WITH_PROCESS: readonly ActorKind[] = ['task', 'thread', 'thread-sync', 'process'];

/** How long a "starve" timed wait waits: long enough for a Lock waiter to turn starving first. */
export const STARVE_MS = 150;

/**
 * A wait's mode: `try` (timeoutMs 0), `short` (SHORT_MS), `starve` (STARVE_MS), `long` (no
 * timeout; async actors only).
 */
export type Mode = 'try' | 'short' | 'starve' | 'long';
export const timeoutOf = (mode: Mode): number | undefined => (mode === 'try' ? 0 : mode === 'short' ? SHORT_MS : mode === 'starve' ? STARVE_MS : undefined);

/** Running actors over a batch of primitives; each sequence uses the next primitive of the batch. */
export class Actors {
  readonly kinds: readonly ActorKind[];
  readonly #inboxes: Queue<Cmd>[] = [];
  readonly #outbox: Queue<Res>;
  readonly #handles: (Thread | Process)[] = [];
  readonly #tasks: Promise<unknown>[] = [];
  readonly #results = new Map<number, Res>();
  readonly #started = new Set<number>();
  #wake: (() => void) | undefined;
  #pump: Promise<void>;
  #nextId = 1;

  private constructor(kinds: readonly ActorKind[], prims: Prim[], memory: 'thread' | 'process') {
    this.kinds = kinds;
    this.#outbox = new Queue<Res>({ memory, capacityBytes: 1 << 16 });
    for (const kind of kinds) {
      const inbox = new Queue<Cmd>({ memory, capacityBytes: 1 << 16 });
      this.#inboxes.push(inbox);
      const args = [prims, inbox, this.#outbox];
      if (kind === 'task') this.#tasks.push(taskStorage.run(newTaskId(), () => actor(prims, inbox, this.#outbox)));
      else if (kind === 'process') this.#handles.push(new Process({ target: actor, args, daemon: true } as never));
      else this.#handles.push(new Thread({ target: kind === 'thread' ? actor : syncActor, args, daemon: true } as never));
    }
    for (const h of this.#handles) h.start();
    this.#pump = this.#run();
  }

  static start(kinds: readonly ActorKind[], prims: Prim[], memory: 'thread' | 'process'): Actors {
    return new Actors(kinds, prims, memory);
  }

  async #run(): Promise<void> {
    for await (const r of this.#outbox) {
      if (r.started) this.#started.add(r.id);
      else this.#results.set(r.id, r);
      this.#wake?.();
    }
  }

  /** Sends a command to actor `a`; returns its id. */
  send(a: number, cmd: Omit<Cmd, 'id'>): number {
    const id = this.#nextId++;
    this.#inboxes[a]!.putNowait({ ...cmd, id });
    return id;
  }

  /** Whether the outcome of command `id` has arrived (then returns it). */
  arrived(id: number): Res | undefined {
    return this.#results.get(id);
  }

  /** Waits until `count` of `ids` have settled; returns those outcomes. */
  async settled(ids: readonly number[], count: number, what: string): Promise<Res[]> {
    const end = performance.now() + SETTLE_MS;
    for (;;) {
      const got = ids.map((id) => this.#results.get(id)).filter((r): r is Res => r !== undefined);
      if (got.length >= count) return got;
      const left = end - performance.now();
      if (left <= 0) throw new Error(`${what}: ${got.length} of ${count} expected outcomes arrived within ${SETTLE_MS} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.#wake = () => (clearTimeout(t), resolve());
      });
    }
  }

  /** Waits until command `id` has begun its wait (or settled): only then is it really "pending". */
  async begun(id: number, what: string): Promise<void> {
    const end = performance.now() + SETTLE_MS;
    while (!this.#started.has(id) && !this.#results.has(id)) {
      const left = end - performance.now();
      if (left <= 0) throw new Error(`${what}: the wait did not begin within ${SETTLE_MS} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.#wake = () => (clearTimeout(t), resolve());
      });
    }
    this.#started.delete(id);
  }

  async result(id: number, what: string): Promise<Res> {
    return (await this.settled([id], 1, what))[0]!;
  }

  /** After a failure: the actors may be wedged in a wait; closing their inboxes ends them anyway. */
  kill(): void {
    for (const inbox of this.#inboxes) inbox.close();
    this.#outbox.close();
  }

  async stop(): Promise<void> {
    for (const inbox of this.#inboxes) inbox.putNowait({ id: 0, op: 'stop', prim: 0 });
    await Promise.all(this.#tasks);
    await Promise.all(this.#handles.map((h) => h.join(SETTLE_MS)));
    for (const h of this.#handles) assert.equal(h.exitCode, 0, `${h.name} ended cleanly: ${String(h.error)}`);
    this.#outbox.close();
    await this.#pump;
  }
}

/** A wait the model says has not settled yet. */
export interface Pending {
  id: number;
  actor: number;
  op: string;
  arg?: number;
}

/** What every model does: issue commands, expect outcomes, keep track of pending waits. */
export abstract class Model {
  pending: Pending[] = [];
  /** Each step, for the failure report. */
  readonly log: string[] = [];

  readonly actors: Actors;
  readonly prim: number;

  constructor(actors: Actors, prim: number) {
    this.actors = actors;
    this.prim = prim;
  }

  get kinds(): readonly ActorKind[] {
    return this.actors.kinds;
  }

  /** Whether actor `a` may issue a wait of `mode` (blocking actors never stay pending). */
  canWait(a: number, mode: Mode): boolean {
    return mode !== 'long' || this.kinds[a] !== 'thread-sync';
  }

  send(a: number, op: string, extra: Partial<Cmd> = {}): number {
    this.log.push(`${this.kinds[a]}#${a}.${op}(${JSON.stringify(extra)})`);
    return this.actors.send(a, { op, prim: this.prim, ...extra });
  }

  /** No pending wait settled behind the model's back. */
  noStray(): void {
    for (const p of this.pending) {
      const r = this.actors.arrived(p.id);
      assert.equal(r, undefined, `${this.kinds[p.actor]}#${p.actor}.${p.op} settled (${JSON.stringify(r)}) while the model says it still waits`);
    }
  }

  async expect(id: number, ok: boolean, value: unknown, what: string, timeoutMs?: number): Promise<void> {
    const r = await this.actors.result(id, what);
    assert.deepEqual({ ok: r.ok, value: r.value }, { ok, value }, what);
    if (timeoutMs !== undefined && timeoutMs > 0) {
      assert.ok(r.ms >= timeoutMs - 1, `${what}: timed out after ${r.ms.toFixed(1)} ms, at least ${timeoutMs}`);
      // Loose upper bound: a blocked thread's report crosses a loaded machine.
      assert.ok(r.ms < Math.max(10 * timeoutMs, 2_000), `${what}: timed out after ${r.ms.toFixed(1)} ms`);
    }
  }

  /** A wait: settles now with `now`, times out, or stays pending (per the model's answer). */
  async wait(
    a: number,
    op: string,
    mode: Mode,
    now: { ok: boolean; value: unknown } | undefined,
    timedOut: { ok: boolean; value: unknown },
    extra: Partial<Cmd> = {},
  ): Promise<void> {
    const id = this.send(a, op, { timeoutMs: timeoutOf(mode), ...extra });
    const what = `${this.kinds[a]}#${a}.${op}(${mode})`;
    if (now) return this.expect(id, now.ok, now.value, what);
    if (mode === 'long') {
      this.pending.push({ id, actor: a, op, arg: extra.arg });
      await this.actors.begun(id, what);
      return;
    }
    return this.expect(id, timedOut.ok, timedOut.value, what, timeoutOf(mode));
  }

  /** Exactly `count` of the pending waits in `among` settle (which ones is up to the primitive); removes and returns them. */
  async release(among: Pending[], count: number, what: string): Promise<{ p: Pending; r: Res }[]> {
    if (count === 0) return [];
    const got = await this.actors.settled(
      among.map((p) => p.id),
      count,
      what,
    );
    const out = got.map((r) => ({ p: among.find((p) => p.id === r.id)!, r }));
    const ids = new Set(got.map((r) => r.id));
    this.pending = this.pending.filter((p) => !ids.has(p.id));
    return out;
  }

  /** Aborts pending wait number `k`: it rejects with the reason; the model hears of it in `aborted`. */
  async cancel(k: number): Promise<void> {
    if (this.pending.length === 0) return;
    const p = this.pending[k % this.pending.length]!;
    this.log.push(`cancel ${this.kinds[p.actor]}#${p.actor}.${p.op}`);
    this.actors.send(p.actor, { op: 'cancel', prim: this.prim, target: p.id });
    this.pending = this.pending.filter((q) => q !== p);
    await this.expect(p.id, false, 'aborted', `aborted ${p.op}`);
    await this.aborted(p);
  }

  /** Polls `predicate` (a wait the model just sent has really begun), within the settle limit. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    const end = performance.now() + SETTLE_MS;
    while (!predicate()) {
      if (performance.now() > end) throw new Error(`${what}: did not happen within ${SETTLE_MS} ms`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** What an abort does besides rejecting the wait (a Barrier breaks). */
  protected async aborted(_p: Pending): Promise<void> {}

  /** Checks what can be read of the primitive against the model. */
  abstract check(): void;

  /** After the sequence: aborts what still waits, then checks the state left behind. */
  async finish(): Promise<void> {
    while (this.pending.length > 0) await this.cancel(0);
    this.check();
  }
}

/** One command of a sequence: `step` runs it against the model and the real primitive. */
export class Step<M extends Model> implements fc.AsyncCommand<M, unknown> {
  readonly label: string;
  readonly allowed: (m: M) => boolean;
  readonly step: (m: M) => Promise<void>;

  constructor(label: string, allowed: (m: M) => boolean, step: (m: M) => Promise<void>) {
    this.label = label;
    this.allowed = allowed;
    this.step = step;
  }

  check(m: Readonly<M>): boolean {
    return this.allowed(m as M);
  }

  async run(m: M): Promise<void> {
    m.noStray();
    await this.step(m);
    m.noStray();
    m.check();
  }

  toString(): string {
    return this.label;
  }
}

/** Commands common to every model: abort a pending wait, let waiters sit a while. */
export function commonSteps<M extends Model>(): fc.Arbitrary<Step<M>>[] {
  return [
    fc.nat(7).map(
      (k) =>
        new Step<M>(
          `cancel(${k})`,
          (m) => m.pending.length > 0,
          (m) => m.cancel(k),
        ),
    ),
    fc.constant(
      new Step<M>(
        `sleep(${SLEEP_MS})`,
        (m) => m.pending.length > 0,
        () => new Promise((r) => setTimeout(r, SLEEP_MS)),
      ),
    ),
  ];
}

export const actorArb = (kinds: readonly ActorKind[]): fc.Arbitrary<number> => fc.nat(kinds.length - 1);
export const modeArb: fc.Arbitrary<Mode> = fc.constantFrom<Mode>('try', 'short', 'long', 'long', 'long', 'starve');

/**
 * Runs `runs` random sequences of `steps` with actors `kinds`, each sequence on a fresh
 * primitive from `make`, checked by the model `build` makes. Prints the seed and the shrunk
 * sequence when one fails.
 */
export async function runModel<M extends Model>(options: {
  name: string;
  kinds: readonly ActorKind[];
  memory: 'thread' | 'process';
  make: () => Prim;
  build: (actors: Actors, prim: number, real: Prim) => M;
  steps: fc.Arbitrary<Step<M>>[];
  runs: number;
}): Promise<{ sequences: number; commands: number }> {
  const batch = Math.min(options.runs + 20, 200);
  let prims: Prim[] = [];
  let actors: Actors | undefined;
  let used = 0;
  let sequences = 0;
  let commands = 0;
  const fresh = async (): Promise<{ actors: Actors; index: number; prim: Prim }> => {
    if (!actors || used === prims.length) {
      await actors?.stop();
      prims = Array.from({ length: batch }, options.make);
      actors = Actors.start(options.kinds, prims, options.memory);
      used = 0;
    }
    const index = used++;
    return { actors, index, prim: prims[index]! };
  };
  const property = fc.asyncProperty(fc.noBias(fc.commands(options.steps, { maxCommands: MAX_COMMANDS, size: 'max' })), async (cmds) => {
    const { actors: a, index, prim } = await fresh();
    const model = options.build(a, index, prim);
    sequences++;
    try {
      await fc.asyncModelRun(() => ({ model, real: undefined }), cmds);
      await model.finish();
      commands += model.log.length;
      if (process.env.THREADKIT_MODEL_DEBUG) console.log(String(cmds), '|', model.log.join(' ; '));
    } catch (err) {
      // The actors may be wedged by the failure: start fresh ones for the next (shrinking) run.
      const stuck = actors;
      actors = undefined;
      stuck?.kill();
      throw Object.assign(err as Error, { message: `${(err as Error).message}\n  steps: ${model.log.join(' ; ')}` });
    }
  });
  try {
    await fc.assert(property, { seed: SEED, numRuns: options.runs, endOnFailure: false });
  } catch (err) {
    throw new Error(
      `${options.name}: model violation. Rerun with THREADKIT_MODEL_SEED=${SEED} THREADKIT_MODEL_RUNS=${options.runs}.\n${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    if (actors) await actors.stop();
  }
  return { sequences, commands };
}

const processSkip =
  process.env.CI === 'true' || addonBuilt ? false : 'needs the native addon for process-shared memory (Linux and a C compiler: node native/build.js)';

/**
 * The two tests every primitive gets: tasks + an async Thread + a blocking Thread, and the same
 * with a Process among the actors (process-shared memory, in both memory runs).
 */
export function modelSuite<M extends Model>(options: {
  name: string;
  make: (memory: 'thread' | 'process' | undefined) => Prim;
  build: (actors: Actors, prim: number, real: Prim) => M;
  steps: (kinds: readonly ActorKind[]) => fc.Arbitrary<Step<M>>[];
  runs: number;
  processRuns: number;
}): void {
  // A soak run (THREADKIT_MODEL_RUNS) may take an hour; CI runs take seconds.
  const T = { timeout: process.env.THREADKIT_MODEL_RUNS ? 3_600_000 : 300_000 };
  it(`${options.name}: tasks, an async Thread and a blocking Thread at once`, T, async () => {
    const n = runs(options.runs);
    const started = performance.now();
    const r = await runModel({
      name: options.name,
      kinds: ACTORS,
      memory: addonBuilt && process.env.THREADKIT_MEMORY !== 'thread' ? 'process' : 'thread',
      make: () => options.make(undefined),
      build: options.build,
      steps: options.steps(ACTORS),
      runs: n,
    });
    if (process.env.THREADKIT_MODEL_RUNS)
      console.log(`# ${options.name}: ${r.sequences} sequences, ${r.commands} commands, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(r.sequences >= n);
  });
  it(`${options.name}: with a Process among the actors`, { ...T, skip: processSkip }, async () => {
    const n = runs(options.processRuns);
    const r = await runModel({
      name: `${options.name} with a Process`,
      kinds: WITH_PROCESS,
      memory: 'process',
      make: () => options.make('process'),
      build: options.build,
      steps: options.steps(WITH_PROCESS),
      runs: n,
    });
    assert.ok(r.sequences >= n);
  });
}
