// process.exit(n) inside a Thread, and uncaught errors charged to the Thread that caused them.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Thread } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { exitLater, exitWith, rejectUnhandled, sleepThen, throwFromTimer } from '../fixtures/thread-exits.ts';

async function runAll(threads: Thread[]): Promise<void> {
  for (const t of threads) t.start();
  await within(30_000, Promise.all(threads.map((t) => t.join())), 'the threads');
}

it('process.exit(n) inside a Thread ends that Thread with exitCode n, and only that Thread', { timeout: 60_000 }, async () => {
  const exits = [new Thread({ target: exitWith, args: [3] }), new Thread({ target: exitLater, args: [4] }), new Thread({ target: exitWith, args: [0] })];
  // More sleepers than carriers, so some share a worker with the exiting Threads.
  const others = Array.from({ length: 8 }, (_, i) => new Thread({ target: sleepThen, args: [300, `t${i}`] }));
  await runAll([...exits, ...others]);
  assert.deepEqual(
    exits.map((t) => [t.exitCode, t.error]),
    [
      [3, undefined],
      [4, undefined],
      [0, undefined],
    ],
  );
  assert.deepEqual(
    others.map((t) => [t.exitCode, t.result]),
    others.map((_, i) => [0, `t${i}`]),
  );
});

for (const [how, target, message] of [
  ['a timer', throwFromTimer, /guilty timer/],
  ['an unhandled promise', rejectUnhandled, /guilty promise/],
] as const) {
  it(`an uncaught error from ${how} fails the Thread that caused it, not the Threads sharing its worker`, { timeout: 60_000 }, async () => {
    // Which worker each Thread lands on depends on when the workers report free: on a loaded
    // machine one round may place no innocent beside the guilty one. Each round checks the
    // outcomes; rounds go on until one shared a worker (at most 10).
    let shared = false;
    for (let round = 0; round < 10 && !shared; round++) {
      const guilty = new Thread({ target, args: [400] });
      const innocents = Array.from({ length: 8 }, (_, i) => new Thread({ target: sleepThen, args: [600, `i${i}`] }));
      await runAll([guilty, ...innocents]);
      assert.equal(guilty.exitCode, 1);
      assert.match(String(guilty.error), message);
      assert.deepEqual(
        innocents.map((t) => [t.exitCode, t.result]),
        innocents.map((_, i) => [0, `i${i}`]),
      );
      shared = innocents.some((t) => t.threadId === guilty.threadId);
    }
    assert.ok(shared, "in some round, an innocent Thread shared the guilty one's worker");
  });
}
