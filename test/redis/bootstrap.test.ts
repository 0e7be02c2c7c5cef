// The bootstrap guard on a cluster worker: a target's module whose top level builds a
// ClusterExecutor (a program without `isMain(import.meta)`) fails the task at once with a
// BootstrapError, instead of wedging the worker on a task that needs its only slot.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { BootstrapError } from 'threadkit';
import { ClusterExecutor } from 'threadkit/redis';
import { within } from '../helpers/deadline.ts';
import { RedisServer, redisSkip } from './helpers.ts';
import { LineProcess } from './process.ts';

const BIN = fileURLToPath(new URL('../../bin/threadkit.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QUEUE = 'unguarded';

describe('ClusterExecutor and the bootstrap guard', redisSkip(), () => {
  let server: RedisServer;
  let worker: LineProcess;

  before(async () => {
    server = await RedisServer.start();
    worker = new LineProcess([BIN, 'worker', '--redis', server.url, '--queue', QUEUE, '--root', ROOT, '-j', '1', '--lock-ms', '1000'], {
      TK_UNGUARDED_REDIS: server.url,
      TK_UNGUARDED_QUEUE: QUEUE,
    });
    await worker.line(/serving queue/, 20_000);
  });
  after(async () => {
    worker?.signal('SIGTERM');
    await worker?.exit(10_000);
    await server.stop();
  });

  it('a target whose module builds a ClusterExecutor at its top level fails with BootstrapError naming isMain, and the worker serves on', async () => {
    (globalThis as Record<string, unknown>).__tkUnguardedSubmitter = true;
    const { double } = await import('./fixtures/unguarded-main.ts');
    const executor = new ClusterExecutor({ redis: server.url, queue: QUEUE });
    try {
      const err = await within(15_000, executor.submit(double, 4).exception(), 'the exception');
      assert.ok(err instanceof BootstrapError, String(err));
      assert.match(err.message, /new ClusterExecutor\(\)/);
      assert.match(err.message, /isMain\(import\.meta\)/);
      // The worker is not wedged: its slot is free for the next task (which fails the same way, at once).
      assert.ok((await within(15_000, executor.submit(double, 5).exception(), 'the second exception')) instanceof Error);
    } finally {
      await executor.shutdown();
    }
  });
});
