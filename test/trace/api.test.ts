// trace.start/stop/mark/span in one process, the format check, and what the hooks record for
// one thread's own acquires.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError, InvalidStateError, Lock, Semaphore, trace, traceProblems, type TraceFile } from 'threadkit';

const dir = mkdtempSync(join(tmpdir(), 'threadkit-trace-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function traced(name: string, body: () => Promise<void> | void): Promise<TraceFile> {
  const path = join(dir, `${name}.json`);
  trace.start({ path });
  try {
    await body();
  } finally {
    const result = await trace.stop({ graceMs: 0 });
    assert.equal(result.path, path);
    assert.equal(result.unreadable, 0);
  }
  const file = JSON.parse(readFileSync(path, 'utf8')) as TraceFile;
  assert.deepEqual(traceProblems(file), []);
  return file;
}

describe('trace API', () => {
  it('is off until started: span only calls fn, mark does nothing', () => {
    assert.equal(trace.enabled, false);
    assert.equal(
      trace.span('x', () => 7),
      7,
    );
    trace.mark('nothing');
  });

  it('span returns what fn returns, also a promise, and records its time; mark records a moment', async () => {
    let value: unknown;
    const file = await traced('span', async () => {
      assert.equal(trace.enabled, true);
      value = await trace.span('slow', () => new Promise((r) => setTimeout(() => r('done'), 20)), { step: 1 });
      assert.throws(
        () =>
          trace.span('throws', () => {
            throw new RangeError('no');
          }),
        RangeError,
      );
      trace.mark('here', { n: 3 });
    });
    assert.equal(value, 'done');
    const slow = file.traceEvents.find((e) => e.name === 'slow')!;
    assert.equal(slow.ph, 'X');
    assert.ok(slow.dur! >= 19_000, `dur ${slow.dur}`);
    assert.deepEqual(slow.args, { step: 1 });
    assert.equal(file.traceEvents.find((e) => e.name === 'throws')?.args?.threw, 'no');
    assert.deepEqual(file.traceEvents.find((e) => e.name === 'here' && e.ph === 'i')?.args, { n: 3 });
    assert.equal(trace.enabled, false);
    assert.equal(existsSync(join(dir, 'span.json.d')), false);
  });

  it('an uncontended Lock records its holds and no wait; a contended one records the wait and who got it', async () => {
    const file = await traced('lock', async () => {
      const lock = new Lock({ name: 'L' });
      for (let i = 0; i < 3; i++) {
        await lock.acquire();
        lock.release();
      }
      await lock.acquire();
      const waiter = lock.acquire({ timeoutMs: 5_000 });
      await new Promise((r) => setTimeout(r, 10));
      lock.release();
      assert.equal(await waiter, true);
      lock.release();
      assert.equal(await lock.acquire({ timeoutMs: 0 }), true);
      trace.mark('timed acquire');
      assert.equal(await lock.acquire({ timeoutMs: 5 }), false, 'times out while held');
      lock.release();
    });
    const ev = file.traceEvents;
    assert.equal(ev.filter((e) => e.name === 'hold Lock "L"').length, 6);
    const waits = ev.filter((e) => e.name === 'wait Lock "L"');
    assert.deepEqual(
      waits.map((w) => w.args?.result),
      ['acquired', 'timed out'],
    );
    assert.ok(waits[0]!.dur! >= 8_000, `the wait lasted until the release: ${waits[0]!.dur}`);
    // The span starts once the call's synchronous part has returned (a loaded machine may pause
    // it there), so the timeout is measured from the call: it ends no sooner than 5 ms after it.
    const called = ev.find((e) => e.name === 'timed acquire')!;
    assert.ok(waits[1]!.ts >= called.ts && waits[1]!.dur! > 0, 'the timed-out wait was recorded after the call');
    const endedAfter = waits[1]!.ts + waits[1]!.dur! - called.ts;
    assert.ok(endedAfter >= 4_990, `the timed-out wait ended ${endedAfter} µs after the call (5 ms, less the file's µs rounding)`);
  });

  it('a Semaphore records a hold per unit taken', async () => {
    const file = await traced('semaphore', async () => {
      const sem = new Semaphore(2);
      await sem.acquire();
      await sem.acquire();
      sem.release();
      sem.release();
    });
    assert.equal(file.traceEvents.filter((e) => e.name === 'hold Semaphore').length, 2);
  });

  it('refuses a second start, a stop without start, and bad names, with typed errors', async () => {
    await assert.rejects(trace.stop(), InvalidStateError);
    trace.start({ path: join(dir, 'twice.json') });
    try {
      assert.throws(
        () => trace.start({ path: join(dir, 'other.json') }),
        (e: unknown) => e instanceof InvalidStateError && /already being recorded/.test(e.message),
      );
      assert.throws(() => trace.mark(''), InvalidArgumentError);
      assert.throws(() => trace.span(42 as unknown as string, () => 1), InvalidArgumentError);
      assert.throws(() => trace.span('x', 'nope' as unknown as () => void), InvalidArgumentError);
    } finally {
      await trace.stop({ graceMs: 0 });
    }
    assert.throws(() => trace.start({ path: join(dir, 'no-such-dir', 'x', '\0bad') }), InvalidArgumentError);
  });
});

describe('traceProblems', () => {
  it('names each missing or wrong required field', () => {
    assert.deepEqual(traceProblems({ traceEvents: [] }), []);
    assert.match(traceProblems([])[0]!, /traceEvents/);
    const problems = traceProblems({
      traceEvents: [
        { ph: 'X', ts: 'soon', pid: 1 },
        { name: 'e', ph: 'E', ts: 1, pid: 1, tid: 2 },
      ],
    });
    assert.ok(problems.some((p) => /\[0\]\.name/.test(p)));
    assert.ok(problems.some((p) => /\[0\]\.ts/.test(p)));
    assert.ok(problems.some((p) => /\[0\]\.tid/.test(p)));
    assert.ok(problems.some((p) => /\[0\]\.dur/.test(p)));
    assert.ok(problems.some((p) => /\[1\] ends a span/.test(p)));
    assert.ok(traceProblems({ traceEvents: [{ name: 'b', ph: 'B', ts: 1, pid: 1, tid: 1 }] }).some((p) => /never end/.test(p)));
  });
});
