// `threadkit download --redis URL URL…`: the files go on the cluster queue, two `threadkit worker`
// processes fetch them into the shared output directory; each is checked byte for byte.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DemoServer } from '../../dist/cli/download/demo-server.js';
import { RedisServer, redisSkip } from './helpers.ts';
import type { LineProcess } from './process.ts';
import { startWorkers } from './workers.ts';

const BIN = fileURLToPath(new URL('../../bin/threadkit.js', import.meta.url));
const exec = promisify(execFile);

describe('threadkit download --redis', redisSkip(), () => {
  let server: RedisServer;
  let http: DemoServer;
  let workers: LineProcess[] = [];
  const files = [0, 1, 2].map((i) => ({ path: `/f${i}.bin`, content: randomBytes(300_000 + i * 1000) }));

  before(async () => {
    server = await RedisServer.start();
    http = await DemoServer.start({ files });
    workers = await startWorkers(2, server.url, 'downloads');
  });
  after(async () => {
    for (const w of workers) w.signal('SIGTERM');
    await Promise.all(workers.map((w) => w.exit(10_000)));
    await http.close();
    await server.stop();
  });

  it('downloads every URL on the workers, byte for byte, into the shared directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'threadkit-dl-redis-'));
    try {
      const urls = files.map((f) => http.url(f.path));
      const { stdout } = await exec(process.execPath, [BIN, 'download', '--redis', server.url, '--queue', 'downloads', '-o', dir, '--ndjson', ...urls], {
        timeout: 60_000,
      });
      const results = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { status: string; pid: number; path: string });
      assert.deepEqual(
        results.map((r) => r.status),
        ['done', 'done', 'done'],
      );
      const pids = new Set(workers.map((w) => w.pid));
      for (const r of results) assert.ok(pids.has(r.pid), `a file was fetched by pid ${r.pid}, not by a worker`);
      for (const f of files) assert.ok(readFileSync(join(dir, f.path.slice(1))).equals(f.content), `${f.path} differs`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad --redis value with a clear message', async () => {
    await assert.rejects(
      exec(process.execPath, [BIN, 'download', '--redis', 'nope', 'http://127.0.0.1:1/x'], { timeout: 20_000 }),
      (err: { code: number; stderr: string }) => err.code === 2 && /--redis must be a URL/.test(err.stderr),
    );
  });
});
