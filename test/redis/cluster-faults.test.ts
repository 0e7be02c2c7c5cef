// ClusterExecutor under faults, with `threadkit worker` processes standing in for machines: a
// worker killed (SIGKILL) or paused (SIGSTOP) mid-task, SIGTERM drains, a remote cancel, a
// worker whose module differs, Redis paused and restarted. Each checks: no task lost, none
// reported done that did not run, no stale result accepted.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { CancelledError } from 'threadkit';
import { ClusterExecutor, ModuleMismatchError } from 'threadkit/redis';
import { add, logged, untilAborted } from './fixtures/cluster-targets.ts';
import { within } from '../helpers/deadline.ts';
import { freePort, RedisServer, redisSkip } from './helpers.ts';
import { LineProcess } from './process.ts';
import { startWorker, startWorkers } from './workers.ts';

const OUTLIVES = fileURLToPath(new URL('./fixtures/executor-outlives-redis.ts', import.meta.url));

let n = 0;
const unique = (what: string) => `${what}-${process.pid}-${++n}`;

/** Waits until the list `key` has `count` entries; returns them. */
async function runs(redis: Redis, key: string, count: number, ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const list = await redis.lrange(key, 0, -1);
    if (list.length >= count) return list;
    if (Date.now() > deadline) throw new Error(`${key} has ${list.length} of ${count} entries after ${ms} ms: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('ClusterExecutor under faults', redisSkip(), () => {
  let server: RedisServer;
  let redis: Redis;
  const started: LineProcess[] = [];
  const executors: ClusterExecutor[] = [];
  const workers = async (count: number, queue: string, extra: string[] = []) => {
    const ws = await startWorkers(count, server.url, queue, extra);
    started.push(...ws);
    return ws;
  };
  const executor = (queue: string) => {
    const e = new ClusterExecutor({ redis: server.url, queue });
    executors.push(e);
    return e;
  };
  const byPid = (ws: LineProcess[], entry: string) => ws.find((w) => entry.endsWith(` ${w.pid}`))!;

  before(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url);
    redis.on('error', () => {});
  });
  after(async () => {
    await Promise.all(executors.map((e) => e.shutdown({ wait: false })));
    await Promise.all(started.map((w) => w.kill()));
    redis.disconnect();
    await server.stop();
  });

  it("a worker killed with SIGKILL mid-task: the task re-runs on another worker, its result is the survivor's", async () => {
    const queue = unique('kill');
    const ws = await workers(2, queue);
    const key = unique('runs');
    const f = executor(queue).submit(logged, server.url, key, 1500);
    const [first] = await runs(redis, key, 1);
    const victim = byPid(ws, first!);
    await victim.kill();
    const pid = await within(20_000, f.result(), 'the re-run');
    assert.notEqual(pid, victim.pid);
    const all = await runs(redis, key, 2);
    assert.deepEqual(all, [`start ${victim.pid}`, `start ${pid}`]);
  });

  it("a worker paused (SIGSTOP) past its lock: another re-runs the task; the late worker's completion is refused", async () => {
    const queue = unique('pause');
    const ws = await workers(2, queue);
    const events = new QueueEvents(queue, { connection: { host: '127.0.0.1', port: server.port }, prefix: 'tk' });
    let completions = 0;
    events.on('completed', () => void completions++);
    await events.waitUntilReady();
    try {
      const key = unique('runs');
      const f = executor(queue).submit(logged, server.url, key, 800);
      const [first] = await runs(redis, key, 1);
      const paused = byPid(ws, first!);
      paused.signal('SIGSTOP');
      const pid = await within(20_000, f.result(), 'the re-run');
      const other = ws.find((w) => w !== paused)!;
      assert.equal(pid, other.pid);
      paused.signal('SIGCONT');
      await new Promise((r) => setTimeout(r, 1500)); // the late worker finishes its run and tries to complete it
      assert.equal(completions, 1, 'a completion from the worker that lost its lock was accepted');
      assert.equal(await f.result(), other.pid);
    } finally {
      await events.close();
    }
  });

  for (const stopSignal of ['SIGTERM', 'SIGHUP'] as const)
    it(`${stopSignal} drains a worker: its running task finishes there, it takes nothing new, it exits 0`, async () => {
      const queue = unique('drain');
      const [w] = await workers(1, queue);
      const e = executor(queue);
      const key = unique('runs');
      const f = e.submit(logged, server.url, key, 1000);
      await runs(redis, key, 1);
      w!.signal(stopSignal);
      await w!.line(new RegExp(`${stopSignal}: draining 1 running`));
      const later = e.submit(add, 1, 1);
      assert.equal(await within(10_000, f.result(), 'the running task'), w!.pid);
      assert.equal(await w!.exit(10_000), 0);
      assert.equal(later.done(), false, 'a drained worker took a new task');
      const [w2] = await workers(1, queue);
      assert.equal(await within(20_000, later.result(), 'the later task'), 2);
      w2!.signal('SIGTERM');
      assert.equal(await w2!.exit(10_000), 0);
    });

  it('a drain past --drain-ms hands the running task back, and another worker runs it at once', async () => {
    const queue = unique('handback');
    const [slow] = await workers(1, queue, ['--drain-ms', '200']);
    const e = executor(queue);
    const key = unique('runs');
    const f = e.submit(logged, server.url, key, 2500);
    await runs(redis, key, 1);
    const [other] = await workers(1, queue);
    slow!.signal('SIGTERM');
    assert.equal(await slow!.exit(10_000), 0);
    const t0 = performance.now();
    assert.equal(await within(15_000, f.result(), 'the handed-back task'), other!.pid);
    assert.ok(performance.now() - t0 < 14_000);
    assert.deepEqual(await runs(redis, key, 2), [`start ${slow!.pid}`, `start ${other!.pid}`]);
  });

  it("abort() of a running task reaches its worker: the task's signal fires, the future is cancelled, no retry", async () => {
    const queue = unique('cancel');
    await workers(1, queue);
    const e = new ClusterExecutor({ redis: server.url, queue, retries: 2, backoffMs: 50 });
    executors.push(e);
    const key = unique('runs');
    const f = e.submit(untilAborted, server.url, key);
    const [first] = await runs(redis, key, 1);
    assert.equal(f.abort(), true);
    await assert.rejects(f.result(), CancelledError);
    const all = await runs(redis, key, 2);
    assert.equal(all[1], first!.replace('start', 'aborted'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await redis.lrange(key, 0, -1)).length, 2, 'the cancelled task was retried');
    // The worker is whole: it runs the next task.
    assert.equal(await within(10_000, e.submit(add, 2, 2).result(), 'the next task'), 4);
  });

  it('cancel() of a queued task: it never runs', async () => {
    const queue = unique('withdraw');
    const e = executor(queue);
    const key = unique('runs');
    const f = e.submit(logged, server.url, key, 10);
    await new Promise((r) => setTimeout(r, 200)); // queued in Redis, no worker yet
    assert.equal(f.cancel(), true);
    await assert.rejects(f.result(), CancelledError);
    await new Promise((r) => setTimeout(r, 200));
    await workers(1, queue);
    assert.equal(await within(10_000, e.submit(add, 1, 2).result(), 'a later task'), 3);
    assert.deepEqual(await redis.lrange(key, 0, -1), []);
  });

  it('a worker whose copy of the module differs refuses the task with ModuleMismatchError, without retries', async () => {
    const queue = unique('mismatch');
    const root = mkdtempSync(join(tmpdir(), 'threadkit-other-version-'));
    try {
      const here = fileURLToPath(new URL('../../', import.meta.url));
      writeFileSync(join(root, 'package.json'), readFileSync(join(here, 'package.json')));
      mkdirSync(join(root, 'test/redis/fixtures'), { recursive: true });
      const source = readFileSync(join(here, 'test/redis/fixtures/cluster-targets.ts'), 'utf8');
      writeFileSync(join(root, 'test/redis/fixtures/cluster-targets.ts'), source.replace('return a + b;', 'return a - b;'));
      symlinkSync(join(here, 'node_modules'), join(root, 'node_modules'));
      const w = await startWorker(server.url, queue, ['--root', root]);
      started.push(w);
      const e = new ClusterExecutor({ redis: server.url, queue, retries: 3, backoffMs: 50 });
      executors.push(e);
      const err = await within(20_000, e.submit(add, 5, 3).exception(), 'the refusal');
      assert.ok(err instanceof ModuleMismatchError, String(err));
      assert.match(err.message, /differs from the submitter's/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('Redis paused for a second, then restarted, mid-work: every task completes once, with its result', async () => {
    const queue = unique('redis-faults');
    await workers(3, queue, ['-j', '2']);
    const e = executor(queue);
    const key = unique('runs');
    const fs = Array.from({ length: 30 }, (_, i) => e.submit(logged, server.url, `${key}:${i}`, 100));
    await new Promise((r) => setTimeout(r, 300));
    server.pause();
    await new Promise((r) => setTimeout(r, 1000));
    server.resume();
    await new Promise((r) => setTimeout(r, 300));
    await server.restart(300);
    const pids = await within(60_000, Promise.all(fs.map((f) => f.result())), 'the tasks');
    assert.equal(pids.length, 30);
    for (let i = 0; i < 30; i++) {
      const list = await redis.lrange(`${key}:${i}`, 0, -1);
      assert.ok(list.length >= 1, `task ${i} is reported done but never ran`);
      assert.ok(list.includes(`start ${pids[i]}`), `task ${i}'s result came from a run that is not recorded`);
    }
  });

  it('shutdown() after Redis went away, its clients reconnecting, resolves, and the process then exits by itself', async () => {
    const own = await RedisServer.start();
    try {
      const queue = unique('outlives');
      const w = await startWorker(own.url, queue);
      started.push(w);
      const submitter = new LineProcess([OUTLIVES, own.url, queue]);
      started.push(submitter);
      assert.equal(await submitter.line(/^ran /, 20_000), 'ran 3');
      await w.kill();
      await own.stop();
      await new Promise((r) => setTimeout(r, 500)); // its clients notice and start reconnecting
      const t0 = performance.now();
      submitter.send('shutdown');
      await submitter.line(/^shut down$/, 15_000);
      assert.equal(await submitter.exit(15_000), 0, 'the submitter did not exit by itself after shutdown()');
      assert.ok(performance.now() - t0 < 15_000);
    } finally {
      await own.stop();
    }
  });

  it('shutdown() of an executor that never reached Redis resolves within seconds', async () => {
    const e = new ClusterExecutor({ redis: `redis://127.0.0.1:${await freePort()}`, queue: unique('unreached') });
    const t0 = performance.now();
    await within(10_000, e.shutdown(), 'shutdown()');
    assert.ok(performance.now() - t0 < 10_000);
    assert.throws(() => e.submit(add, 1, 1), /after shutdown/);
  });
});
