// Redis that cannot be reached at the start: every call fails with RedisUnavailableError after the
// connect timeout, instead of waiting without end; the commands exit 1 with one line.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { ClusterExecutor, RedisJoinableQueue, RedisLock, RedisQueue, RedisUnavailableError } from 'threadkit/redis';
import { within } from '../helpers/deadline.ts';
import { add } from './fixtures/cluster-targets.ts';
import { freePort } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/threadkit.js', import.meta.url));
const exec = promisify(execFile);
const CONNECT_MS = 300;

const unavailable = (err: unknown) => err instanceof RedisUnavailableError && /could not reach Redis/.test(err.message);

describe('Redis unreachable at the start', () => {
  let url: string;
  before(async () => {
    url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there
  });

  it('RedisLock.acquire() rejects with RedisUnavailableError after connectTimeoutMs; later calls too, at once', async () => {
    const lock = new RedisLock({ redis: url, name: 'unreachable', connectTimeoutMs: CONNECT_MS });
    try {
      const t0 = performance.now();
      await assert.rejects(within(10_000, lock.acquire(), 'acquire'), unavailable);
      assert.ok(performance.now() - t0 >= CONNECT_MS - 5, 'rejected before the connect timeout');
      for (const call of [
        () => lock.acquire({ timeoutMs: 0 }),
        () => lock.locked(),
        () => lock.poisoned(),
        () => lock.recover(),
        () => lock.setIfFence('k', 'v', 1),
      ])
        await assert.rejects(within<unknown>(2000, call(), 'a later call'), RedisUnavailableError);
    } finally {
      await within(5000, lock.close(), 'close');
    }
  });

  it('acquire({ timeoutMs }) shorter than the connect timeout rejects with RedisUnavailableError, not false (busy)', async () => {
    const lock = new RedisLock({ redis: url, name: 'unreachable' });
    try {
      const t0 = performance.now();
      await assert.rejects(within(10_000, lock.acquire({ timeoutMs: 200 }), 'acquire'), RedisUnavailableError);
      assert.ok(performance.now() - t0 >= 195, 'rejected before timeoutMs');
    } finally {
      await within(5000, lock.close(), 'close');
    }
  });

  it('RedisQueue put/get/qsize and RedisJoinableQueue.join reject with RedisUnavailableError', async () => {
    const q = new RedisQueue({ redis: url, name: 'unreachable', connectTimeoutMs: CONNECT_MS });
    const j = new RedisJoinableQueue({ redis: url, name: 'unreachable', connectTimeoutMs: CONNECT_MS });
    try {
      await assert.rejects(within(10_000, q.put(1), 'put'), unavailable);
      await assert.rejects(within(2000, q.get({ timeoutMs: 100 }), 'get'), RedisUnavailableError);
      await assert.rejects(within(2000, q.qsize(), 'qsize'), RedisUnavailableError);
      await assert.rejects(within(10_000, j.join(), 'join'), RedisUnavailableError);
    } finally {
      await within(5000, Promise.all([q.close(), j.close()]), 'close');
    }
  });

  it('ClusterExecutor: the future rejects with RedisUnavailableError and shutdown() ends', async () => {
    const executor = new ClusterExecutor({ redis: url, queue: 'unreachable', connectTimeoutMs: CONNECT_MS });
    const f = executor.submit(add, 1, 2);
    await assert.rejects(within(10_000, f.result(), 'the result'), unavailable);
    await within(10_000, executor.shutdown(), 'shutdown');
  });

  it('refuses a connectTimeoutMs that is not a positive number', () => {
    assert.throws(() => new RedisLock({ redis: url, name: 'x', connectTimeoutMs: 0 }), /connectTimeoutMs/);
  });

  for (const [command, args] of [
    ['threadkit worker', ['worker', '--queue', 'unreachable']],
    ['threadkit download', ['download', '-o', '/tmp', 'http://127.0.0.1:9/x']],
  ] as const) {
    it(`${command} --redis to a Redis that is not there exits 1 with one line saying so, after the default connect timeout`, async () => {
      const t0 = performance.now();
      const err = (await within(
        30_000,
        // exec's own timeout kills the command if it hangs, so a failing run leaves nothing behind.
        exec(process.execPath, [BIN, ...args, '--redis', url], { timeout: 25_000 }).then(
          () => assert.fail('exited 0'),
          (e: unknown) => e,
        ),
        command,
      )) as { code: number; stdout: string; stderr: string };
      assert.equal(err.code, 1, err.stderr);
      const lines = err.stderr.trim().split('\n');
      assert.equal(lines.length, 1, err.stderr);
      assert.match(lines[0]!, /could not reach Redis at redis:\/\/127\.0\.0\.1:\d+: no connection within 10000 ms/);
      assert.ok(performance.now() - t0 >= 10_000, 'gave up before the default connect timeout');
    });
  }
});
