// THREADKIT_TRACE=run.json records a whole program: Threads, a Process, a pool, lock waits and
// holds, a queue wait, user marks and spans, into one valid trace-event file.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { traceProblems, type TraceEvent, type TraceFile } from 'threadkit';

const PROGRAM = fileURLToPath(new URL('./traced-program.ts', import.meta.url));
const exec = promisify(execFile);

describe('THREADKIT_TRACE=run.json node app.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-trace-'));
  const path = join(dir, 'run.json');
  let trace: TraceFile;
  let events: TraceEvent[];
  let out: { exitCodes: number[]; childPid: number };
  let rootPid: number;
  const nameOf = new Map<string, string>();
  const on = (thread: string) => events.filter((e) => nameOf.get(`${e.pid}:${e.tid}`)?.startsWith(thread));

  before(async () => {
    const { stdout } = await exec(process.execPath, [PROGRAM], { env: { ...process.env, THREADKIT_TRACE: path }, timeout: 90_000 });
    out = JSON.parse(stdout.trim().split('\n').at(-1)!);
    trace = JSON.parse(readFileSync(path, 'utf8')) as TraceFile;
    events = trace.traceEvents.filter((e) => e.ph !== 'M');
    for (const e of trace.traceEvents) if (e.ph === 'M' && e.name === 'thread_name') nameOf.set(`${e.pid}:${e.tid}`, String(e.args?.name));
    rootPid = events.find((e) => e.name === 'start Contender-0')!.pid;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one valid trace-event file and removes the per-thread directory', () => {
    assert.deepEqual(traceProblems(trace), []);
    for (const e of trace.traceEvents) {
      for (const field of ['name', 'ph', 'ts', 'pid', 'tid'] as const) assert.ok(field in e, `${JSON.stringify(e)} lacks ${field}`);
    }
    assert.equal(existsSync(`${path}.d`), false, 'the directory of per-thread files is gone');
    assert.deepEqual(out.exitCodes, [0, 0, 0, 0, 0, 1, 0]);
  });

  it('gives each Thread a track of its own, named after it, and the main thread its OS tid', () => {
    for (const name of ['Contender-0', 'Contender-1', 'Contender-2', 'Contender-3', 'Consumer', 'Failing']) {
      assert.equal([...nameOf.values()].filter((n) => n.startsWith(name)).length, 1, `one track for ${name}`);
    }
    assert.equal(nameOf.get(`${rootPid}:${rootPid}`), 'MainThread');
    const tracks = new Set(events.map((e) => `${e.pid}:${e.tid}`));
    for (const t of tracks) assert.ok(nameOf.has(t), `track ${t} is named`);
  });

  it('records lifetimes: start and exit with the exit code in the parent, the run in the child', () => {
    const exits = events.filter((e) => e.cat === 'lifetime' && e.name.startsWith('exit '));
    assert.equal(exits.find((e) => e.name === 'exit Failing')?.args?.exitCode, 1);
    assert.equal(exits.find((e) => e.name === 'exit Contender-2')?.args?.exitCode, 0);
    assert.equal(exits.find((e) => e.name === 'exit Child')?.args?.exitCode, 0);
    for (const n of [0, 1, 2, 3]) {
      const run = on(`Contender-${n}`).find((e) => e.name === `run Contender-${n}`);
      assert.ok(run && run.ph === 'X' && run.dur! > 0, `run span of Contender-${n}`);
      const start = events.find((e) => e.name === `start Contender-${n}`)!;
      const exit = events.find((e) => e.name === `exit Contender-${n}`)!;
      assert.ok(start.ts <= run.ts && run.ts + run.dur! <= exit.ts + 1, 'started, ran, then exited');
    }
    assert.equal(on('Failing').find((e) => e.name === 'run Failing')?.args?.ok, false);
  });

  it('records the Process in its own pid', () => {
    const child = events.filter((e) => e.pid === out.childPid);
    assert.ok(child.some((e) => e.name === 'run Child' && e.ph === 'X'));
    assert.ok(child.some((e) => e.name === 'in the child process' && e.ph === 'i'));
    assert.ok(trace.traceEvents.some((e) => e.ph === 'M' && e.name === 'process_name' && e.pid === out.childPid));
  });

  it('records every hold of the named Lock, and a wait for each contender that had to wait', () => {
    const holds = events.filter((e) => e.cat === 'hold' && e.name === 'hold Lock "shared"');
    assert.equal(holds.length, 4, 'one hold per acquire');
    for (const h of holds) assert.ok(h.dur! >= 10_000, `a hold spans the 15 ms sleep: ${h.dur} µs`);
    const waits = events.filter((e) => e.cat === 'wait' && e.name === 'wait Lock "shared"');
    assert.ok(waits.length >= 1 && waits.length <= 3, `waits: ${waits.length}`);
    for (const w of waits) assert.equal(w.args?.result, 'acquired');
    // Holds never overlap: the lock excludes.
    const sorted = holds.map((h) => [h.ts, h.ts + h.dur!] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]![0] >= sorted[i - 1]![1] - 1, 'holds follow one another');
  });

  it('records the wait of a get on an empty Queue, and user spans and marks', () => {
    const wait = on('Consumer').find((e) => e.cat === 'wait' && e.name === 'wait Queue "jobs".get()');
    const put = on('MainThread').find((e) => e.name === 'put' && e.ph === 'i');
    assert.ok(wait && put, `a wait and the put: ${JSON.stringify({ wait, put })}`);
    assert.ok(wait.ts < put.ts && wait.ts + wait.dur! >= put.ts - 1, `the wait spans the put: ${JSON.stringify({ wait, put })}`);
    assert.ok(wait.dur! >= 25_000, `the consumer waited the 30 ms before the put: ${wait.dur} µs`);
    assert.equal(on('Contender-1').filter((e) => e.name === 'contend 1' && e.ph === 'X').length, 1);
    assert.deepEqual(on('Contender-1').find((e) => e.name === 'contended')?.args, { n: 1 });
    assert.ok(on('MainThread').some((e) => e.name === 'main waits' && e.dur! >= 40_000));
  });

  it('records pool tasks: queued in the submitter, run in a worker', () => {
    assert.equal(events.filter((e) => e.cat === 'pool' && e.ph === 'i' && e.pid === rootPid && e.name.startsWith('queued task')).length, 3);
    const ran = events.filter((e) => e.cat === 'pool' && e.ph === 'X');
    assert.ok(ran.length >= 1, 'the worker recorded its tasks');
    assert.ok(
      ran.every((e) => e.tid !== rootPid),
      'on the worker thread',
    );
  });
});
