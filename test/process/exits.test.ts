// How a Process ends when its target does not simply return or throw: an uncaught error from a
// timer or a promise is the target's error (as in a Thread: it used to be exit code 1 with no
// `error`), and `process.exitCode` set by a target that returns is the exit code (it used to be 0).
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Process } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { exitWith, handlesItsOwn, rejectUnhandled, setExitCode, throwFromTimer } from '../fixtures/thread-exits.ts';

const T = { timeout: 60_000 };

for (const [how, target, message] of [
  ['a timer', throwFromTimer, /thrown from the guilty timer/],
  ['an unhandled promise', rejectUnhandled, /rejected by the guilty promise/],
] as const) {
  it(`an uncaught error from ${how} ends the Process with exit code 1 and that error`, T, async () => {
    const p = new Process({ target, args: [2_000] });
    p.start();
    await within(20_000, p.join(), 'the Process');
    assert.equal(p.exitCode, 1);
    assert.ok(p.error instanceof Error, `error is ${String(p.error)}`);
    assert.match((p.error as Error).message, message);
    assert.equal(p.result, undefined);
  });
}

it('process.exitCode set by a target that returns is the exit code; process.exit(n) still is n', T, async () => {
  const set = new Process({ target: setExitCode, args: [5] });
  const exited = new Process({ target: exitWith, args: [3] });
  set.start();
  exited.start();
  await within(20_000, Promise.all([set.join(), exited.join()]), 'the Processes');
  assert.deepEqual([set.exitCode, set.error], [5, undefined]);
  assert.equal(exited.exitCode, 3);
});

it('a target that listens for uncaught errors itself handles them: the Process goes on and returns', T, async () => {
  const p = new Process({ target: handlesItsOwn });
  p.start();
  await within(20_000, p.join(), 'the Process');
  assert.deepEqual([p.exitCode, p.result, p.error], [0, 'survived: handled by the target', undefined]);
});
