// When programs end, nesting, and dying workers.
import './helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { InvalidArgumentError, Process, Thread, isMain } from 'threadkit';
import { within } from './helpers/deadline.ts';
import { exitThread, startInner } from './fixtures/nesting.ts';

const exec = promisify(execFile);
const PROGRAM = fileURLToPath(new URL('./fixtures/exit-program.ts', import.meta.url));
const JOIN_DAEMON = fileURLToPath(new URL('./fixtures/join-daemon.ts', import.meta.url));
const RUNTIME = new URL('../dist/internal/for-tests.js', import.meta.url).href;

describe('the end of the main program', () => {
  for (const kind of ['process', 'thread']) {
    it(`waits for a non-daemon ${kind} to finish`, async () => {
      const { stdout } = await exec(process.execPath, [PROGRAM, kind, 'normal'], { timeout: 30_000 });
      assert.deepEqual(stdout.trim().split('\n'), ['main returned', 'child finished']);
    });

    it(`waits for a daemon ${kind} that main() joins`, async () => {
      const { stdout } = await exec(process.execPath, [JOIN_DAEMON, kind], { timeout: 30_000 });
      assert.equal(stdout.trim(), 'rested');
    });

    it(`does not wait for a daemon ${kind}`, async () => {
      // The daemon would print after 30 s; the exec time-out (20 s) fails the test if the program waits.
      const { stdout } = await exec(process.execPath, [PROGRAM, kind, 'daemon'], { timeout: 20_000 });
      assert.deepEqual(stdout.trim().split('\n'), ['main returned']);
    });
  }
});

describe('nesting', () => {
  const cases = [
    ['thread', 'thread', 'MainProcess/inner'],
    ['thread', 'process', 'inner/MainThread'],
    ['process', 'thread', 'Process-outer/inner'],
    ['process', 'process', 'inner/MainThread'],
  ] as const;
  for (const [outer, inner, expected] of cases) {
    it(`starts a ${inner} from inside a ${outer}`, async () => {
      const Kind = outer === 'process' ? Process : Thread;
      const r = new Kind({ target: startInner, args: [inner], name: outer === 'process' ? 'Process-outer' : 'outer' });
      r.start();
      await within(30_000, r.join());
      assert.equal(r.exitCode, 0, String(r.error));
      const out = r.result as { exitCode: number; result: string };
      assert.equal(out.exitCode, 0);
      assert.equal(out.result, expected);
    });
  }
});

it('ends a Thread that calls process.exit(3) with exitCode 3 (Python: sys.exit in a thread), and keeps running later Threads', async () => {
  const t = new Thread({ target: exitThread });
  t.start();
  await within(20_000, t.join());
  assert.equal(t.exitCode, 3);
  assert.equal(t.error, undefined);
  const after = new Thread({ target: startInner, args: ['thread'] });
  after.start();
  await within(20_000, after.join());
  assert.equal(after.exitCode, 0);
});

describe('the start-up of the thread table', () => {
  it('is not a side effect of importing it: startRuntime() makes its /dev/shm file and names it in the environment, and the file is gone when the program exits', async () => {
    const program = `
      import { readdirSync } from 'node:fs';
      const mine = () => readdirSync('/dev/shm').filter((name) => name.startsWith('threadkit-' + process.pid + '-'));
      const runtime = await import(${JSON.stringify(RUNTIME)});
      const imported = { files: mine(), env: process.env.THREADKIT_RUNTIME ?? null };
      runtime.startRuntime();
      const started = { files: mine(), env: process.env.THREADKIT_RUNTIME ?? null, slot: runtime.currentSlot() };
      console.log(JSON.stringify({ pid: process.pid, imported, started }));`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.THREADKIT_RUNTIME; // a program of its own, not a child of this one
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', program], { env, timeout: 20_000 });
    const { pid, imported, started } = JSON.parse(stdout) as {
      pid: number;
      imported: { files: string[]; env: string | null };
      started: { files: string[]; env: string | null; slot: number };
    };
    assert.deepEqual(imported, { files: [], env: null });
    assert.deepEqual(started.files, [`threadkit-${pid}-runtime-1`]);
    assert.equal(started.env, `/dev/shm/threadkit-${pid}-runtime-1`);
    assert.equal(started.slot, 0, 'the main thread of the first process holds slot 0');
    assert.equal(existsSync(started.env), false, 'the file is removed when its program exits');
  });
});

describe('isMain', () => {
  it('answers for import.meta, and refuses what is not import.meta (CommonJS `module`) with what to write instead', () => {
    assert.equal(typeof isMain(import.meta), 'boolean');
    for (const bad of [{ exports: {}, id: '.' }, null, undefined, 'file:///x.js']) {
      assert.throws(
        () => isMain(bad as unknown as ImportMeta),
        (err: Error) => err instanceof InvalidArgumentError && /expected `import\.meta` of an ES module.*require\.main === module/.test(err.message),
      );
    }
  });
});
