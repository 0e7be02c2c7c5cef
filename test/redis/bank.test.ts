// `threadkit bank --redis URL`: the three runs across depositor processes, the balance in a real Redis.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { RedisServer, redisSkip } from './helpers.ts';

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

describe('threadkit bank --redis', redisSkip(), () => {
  let server: RedisServer;
  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await server.stop();
  });

  it('no lock loses updates; a lease whose holder stalls past it still loses one; fencing is exact', async () => {
    const { code, stdout, stderr } = await bank('--redis', server.url, '--json');
    assert.equal(code, 0, stderr);
    const [none, lease, fenced] = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { run: string; expected: number; actual: number; lost: number; refused: number });
    assert.deepEqual([none!.run, lease!.run, fenced!.run], ['none', 'lease', 'fenced']);
    for (const r of [none!, lease!, fenced!]) {
      assert.equal(r.expected, 30);
      assert.equal(r.actual + r.lost, 30);
    }
    assert.ok(none!.lost > 0, `no update lost without a lock: ${JSON.stringify(none)}`);
    assert.ok(lease!.lost > 0, `the stalled holder's stale write was not lost: ${JSON.stringify(lease)}`);
    assert.equal(lease!.refused, 0);
    assert.equal(fenced!.lost, 0, JSON.stringify(fenced));
    assert.ok(fenced!.refused >= 1, `no stale write was refused: ${JSON.stringify(fenced)}`);
  });

  it('rejects a missing URL and an unreachable server with a clear message', async () => {
    const bad = await bank('--redis', 'localhost:6379');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--redis must be a URL such as redis:\/\//);
    const down = await bank('--redis', 'redis://127.0.0.1:1');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
