// `threadkit bank`: the race shown, then fixed, as a command.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const BIN = fileURLToPath(new URL('../../bin/threadkit.js', import.meta.url));
const exec = promisify(execFile);

async function bank(...args: string[]) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, 'bank', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Run {
  mode: string;
  lock: boolean;
  expected: number;
  actual: number;
  lost: number;
  ms: number;
}

describe('threadkit bank', () => {
  for (const mode of ['thread', 'async']) {
    it(`shows the race and then the fix with --mode ${mode} --json`, async () => {
      const { code, stdout } = await bank('--mode', mode, '--threads', '40', '--delay', '5', '--json');
      assert.equal(code, 0);
      const [race, fixed] = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Run);
      assert.deepEqual(Object.keys(race!).sort(), ['actual', 'expected', 'lock', 'lost', 'mode', 'ms']);
      assert.equal(race!.lock, false);
      assert.equal(race!.expected, 40);
      assert.ok(race!.lost > 0, `no update was lost without the lock: ${JSON.stringify(race)}`);
      assert.equal(race!.actual + race!.lost, 40);
      assert.equal(fixed!.lock, true);
      assert.equal(fixed!.actual, 40);
      assert.equal(fixed!.lost, 0);
      assert.equal(typeof fixed!.ms, 'number');
    });
  }

  it('loses deposits without the lock and none with it when depositors are processes sharing the account', { timeout: 180_000 }, async () => {
    // A long window between read and write, so that the processes' reads overlap however slowly they boot.
    const race = await bank('--mode', 'process', '--threads', '8', '--delay', '4000', '--no-lock', '--json');
    assert.equal(race.code, 0, race.stderr);
    const r = JSON.parse(race.stdout) as Run;
    assert.equal(r.mode, 'process');
    assert.ok(r.lost > 0, `no update was lost without the lock: ${JSON.stringify(r)}`);
    const fixed = await bank('--mode', 'process', '--threads', '8', '--delay', '20', '--lock', '--json');
    assert.equal(fixed.code, 0, fixed.stderr);
    const f = JSON.parse(fixed.stdout) as Run;
    assert.equal(f.actual, 8);
    assert.equal(f.lost, 0);
  });

  it('counts the amount into expected and lost', async () => {
    const { stdout } = await bank('--mode', 'async', '--threads', '10', '--amount', '5', '--no-lock', '--json');
    const r = JSON.parse(stdout) as Run;
    assert.equal(r.expected, 50);
    assert.equal(r.actual, 5 * (10 - r.lost));
  });

  it('prints expected, actual and lost in words without --json', async () => {
    const { code, stdout } = await bank('--threads', '20', '--lock');
    assert.equal(code, 0);
    assert.match(stdout, /20 threads with a Lock: expected ￥20, actual ￥20 — no update lost/);
  });

  it('rejects bad options with exit code 2 and a message that names the option', async () => {
    for (const [args, pattern] of [
      [['--threads', '0'], /--threads must be an integer/],
      [['--mode', 'fibers'], /--mode must be thread, async or process/],
      [['--lock', '--no-lock'], /not both/],
      [['--bogus'], /bogus/],
    ] as const) {
      const { code, stderr } = await bank(...args);
      assert.equal(code, 2);
      assert.match(stderr, pattern);
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace for a usage error');
    }
  });
});
