// Targets cross by identity: the function a child runs is the function the parent was given —
// collisions first (two modules export `task`, closures named like exports, same-name classes).
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import { Pool, Process, ProcessPoolExecutor, TargetNotFoundError, Thread, ThreadPoolExecutor, registerTarget, setStartMethod } from 'threadkit';
import { descendants, isRunning, waitUntilGone } from '../helpers/processes.ts';
import { within } from '../helpers/deadline.ts';
import { Config as ConfigA, describeConfig, helperA } from '../fixtures/targets/collide-a.ts';
import { Config as ConfigB, task as t2 } from '../fixtures/targets/collide-b.ts';
import plusOneDefault, { arrow, named, renamed } from '../fixtures/targets/shapes.ts';
import { again, plusOne } from '../fixtures/targets/reexport.ts';
import { runIn } from '../fixtures/targets/helper.ts';
import { format } from '../fixtures/targets/utils.ts';
import { holder, localTask, makeFormat } from '../fixtures/targets/closures.ts';

const require = createRequire(import.meta.url);
const { triple, task: cjsTask } = require('../fixtures/targets/cjs-target.cjs') as { triple: (x: number) => number; task: () => string };
const whole = require('../fixtures/targets/whole.cjs') as (x: string) => string;
const { quad } = require('../fixtures/targets/cts-target.cts') as { quad: (x: number) => number };

type Kind = typeof Process | typeof Thread;
const KINDS: Array<[string, Kind]> = [
  ['Process', Process],
  ['Thread', Thread],
];

async function outcome(
  Kind: Kind,
  target: (...a: any[]) => unknown,
  args: unknown[] = [],
): Promise<{ exitCode: number | null; result: unknown; error: unknown }> {
  const r = new Kind({ target, args });
  r.start();
  await within(20_000, r.join());
  return { exitCode: r.exitCode, result: r.result, error: r.error };
}

/** A refusal that names the function, the module that defines it (a fixture, not this test file) and the fix. */
const notFound = (name: string) => (err: unknown) =>
  err instanceof TargetNotFoundError &&
  err.code === 'TK_TARGET_NOT_FOUND' &&
  err.message.includes(`\`${name}\``) &&
  /closures\.ts/.test(err.message) &&
  /is not exported/.test(err.message) &&
  /export function/.test(err.message);

for (const [label, Kind] of KINDS) {
  describe(`${label}: the target that runs is the one passed`, () => {
    it('runs collide-b.ts `task` imported as t2, although collide-a.ts also exports a `task` and is imported first', async () => {
      assert.equal(helperA(), 'helperA');
      const { exitCode, result } = await outcome(Kind, t2);
      assert.equal(exitCode, 0);
      assert.equal(result, 'b');
    });

    it('rebuilds an argument with its own class, not a same-name class of another module', async () => {
      assert.equal((await outcome(Kind, describeConfig, [new ConfigB(2)])).result, 'b:2');
      assert.equal((await outcome(Kind, describeConfig, [new ConfigA(3)])).result, 'a:3');
    });

    it('refuses a closure and a local function named like exports of other modules, before anything runs', () => {
      const closure = makeFormat();
      assert.equal(format('x'), 'utils:x');
      assert.throws(() => new Kind({ target: closure, args: ['x'] }).start(), notFound('format'));
      assert.throws(() => new Kind({ target: localTask() }).start(), notFound('task'));
    });

    it('a refused start leaves nothing running that it began, and the next start runs', async () => {
      // start() begins booting a child or carrier before it describes the target (they overlap).
      setStartMethod('spawn'); // no spare child, so every child here was forked by these starts
      try {
        const before = new Set(descendants(process.pid));
        const refused = new Kind({ target: makeFormat(), args: ['x'] });
        assert.throws(() => refused.start(), notFound('format'));
        assert.equal(refused.isAlive(), false);
        const left = descendants(process.pid).filter((pid) => !before.has(pid));
        assert.deepEqual(await waitUntilGone(left, 5_000), [], 'the child forked for the refused run is still running');
        assert.equal((await outcome(Kind, format, ['y'])).result, 'utils:y');
      } finally {
        setStartMethod('forkserver');
      }
    });

    it('refuses a method, a bound function and a built-in', () => {
      assert.throws(() => new Kind({ target: holder.shout, args: ['x'] }).start(), notFound('shout'));
      assert.throws(() => new Kind({ target: t2.bind(null) }).start(), TargetNotFoundError);
      assert.throws(() => new Kind({ target: Math.max }).start(), TargetNotFoundError);
    });

    it('runs an anonymous default export, `export const f = function inner`, an arrow, and a renamed export', async () => {
      assert.equal((await outcome(Kind, plusOneDefault, [1])).result, 2);
      assert.equal((await outcome(Kind, named, [5])).result, 10);
      assert.equal((await outcome(Kind, arrow, [5])).result, 15);
      assert.equal((await outcome(Kind, renamed, [5])).result, 4);
    });

    it('runs a target imported through re-exports', async () => {
      assert.equal((await outcome(Kind, again)).result, 'b');
      assert.equal((await outcome(Kind, plusOne, [9])).result, 10);
    });

    it('runs CommonJS targets: exports.f in .cjs and .cts, and a module that is the function', async () => {
      assert.equal((await outcome(Kind, triple, [3])).result, 9);
      assert.equal((await outcome(Kind, cjsTask)).result, 'cjs');
      assert.equal((await outcome(Kind, whole, ['x'])).result, 'whole:x');
      assert.equal((await outcome(Kind, quad, [3])).result, 12);
    });

    it('runs a target handed through a helper in another module', async () => {
      const r = runIn(label === 'Process' ? 'process' : 'thread', t2);
      await within(20_000, r.join());
      assert.equal(r.result, 'b');
    });
  });
}

describe('Process: a refused start and the warm spare child', () => {
  it('gives the spare it took back instead of stopping it, so refused starts fork nothing', async () => {
    assert.equal((await outcome(Process, format, ['w'])).result, 'utils:w');
    // After a run the default start method boots one spare child (argv: parent pid, 'spare').
    const isSpare = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('spare');
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 10_000;
    while (!descendants(process.pid).some(isSpare) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const before = new Set(descendants(process.pid));
    assert.ok([...before].some(isSpare), 'no spare child booted within 10 s of a run');
    for (let i = 0; i < 5; i++) {
      assert.throws(() => new Process({ target: makeFormat(), args: ['x'] }).start(), notFound('format'));
    }
    await new Promise((r) => setTimeout(r, 300)); // past the delay before a new spare would boot
    const forked = descendants(process.pid).filter((pid) => !before.has(pid));
    assert.deepEqual(forked, [], 'refused starts forked new children');
    assert.ok(
      [...before].some((pid) => isSpare(pid) && isRunning(pid)),
      'the spare child was stopped',
    );
    assert.equal((await outcome(Process, format, ['z'])).result, 'utils:z');
  });
});

describe('pools and executors run the target passed', () => {
  const pools: Array<{ terminate?: () => void; shutdown?: (o?: object) => Promise<void> }> = [];
  after(async () => {
    for (const p of pools) {
      if (p.shutdown) await p.shutdown();
      else p.terminate?.();
    }
  });

  for (const kind of ['thread', 'process'] as const) {
    it(`Pool(${kind}).map and apply run collide-b.ts's task and refuse a closure`, async () => {
      const pool = new Pool({ kind, processes: 1 });
      pools.push(pool as never);
      assert.deepEqual(await within(20_000, pool.starmap(t2, [[], []] as never)), ['b', 'b']);
      assert.equal(await within(20_000, pool.apply(describeConfig, [new ConfigB(7)])), 'b:7');
      assert.throws(() => pool.applyAsync(makeFormat(), ['x']), notFound('format'));
      pool.close();
      await within(20_000, pool.join());
    });

    it(`${kind} executor submit runs collide-b.ts's task`, async () => {
      const ex = kind === 'thread' ? new ThreadPoolExecutor({ maxWorkers: 1 }) : new ProcessPoolExecutor({ maxWorkers: 1 });
      pools.push(ex as never);
      assert.equal(await within(20_000, ex.submit(t2).result()), 'b');
      assert.equal(await within(20_000, ex.submit(quad, 2).result()), 8);
    });
  }
});

describe('registerTarget', () => {
  it('refuses one name for two functions, and two names for one function', () => {
    registerTarget('identity.test/one', helperA);
    assert.equal(registerTarget('identity.test/one', helperA), helperA);
    assert.throws(() => registerTarget('identity.test/one', t2), /already registered/);
    assert.throws(() => registerTarget('identity.test/two', helperA), /already registered/);
    assert.throws(() => registerTarget('', t2), /non-empty string/);
  });
});
