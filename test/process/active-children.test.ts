// activeChildren(): Python's multiprocessing.active_children().
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { activeChildren, Event, Process } from 'threadkit';
import { within } from '../helpers/deadline.ts';
import { waitForEvent } from '../fixtures/process-shared.ts';
import { available as addonBuilt } from '../../dist/internal/for-tests.js';

it('lists the started, still running Processes and drops each once it has finished', {
  timeout: 60_000,
  skip: addonBuilt ? false : 'needs the native addon (process-shared Event)',
}, async () => {
  assert.deepEqual(activeChildren(), []);
  const go = new Event({ memory: 'process' });
  const a = new Process({ target: waitForEvent, args: [go, 30_000] });
  const b = new Process({ target: waitForEvent, args: [go, 30_000] });
  const notStarted = new Process({ target: waitForEvent, args: [go, 0] });
  a.start();
  b.start();
  assert.deepEqual(activeChildren(), [a, b], 'started and running, in start order; never-started ones are not children');
  assert.equal(notStarted.isAlive(), false);
  go.set();
  await within(30_000, Promise.all([a.join(), b.join()]));
  assert.deepEqual([a.exitCode, b.exitCode], [0, 0]);
  assert.deepEqual(activeChildren(), [], 'finished children are gone');
});
