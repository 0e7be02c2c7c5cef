// When programs end, nesting, and dying workers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Process, Thread } from 'threadkit';
import { within } from './helpers/deadline.ts';
import { exitThread, startInner } from './fixtures/nesting.ts';

const exec = promisify(execFile);
const PROGRAM = fileURLToPath(new URL('./fixtures/exit-program.ts', import.meta.url));
const JOIN_DAEMON = fileURLToPath(new URL('./fixtures/join-daemon.ts', import.meta.url));

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
