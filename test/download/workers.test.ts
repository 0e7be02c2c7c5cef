import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { runCli, serve, sha256, tempDir } from './helpers.ts';

// The same contract for every worker model: the bytes, the resume after a dropped connection,
// the failure of the other file, and who ran each download.
for (const model of ['inline', 'thread', 'process'] as const) {
  it(`With --workers ${model}, downloads resume after a drop, failures stay per file, and each result names its worker.`, async (t) => {
    const a = deterministicContent(`${model}-a`, 600_000);
    const b = deterministicContent(`${model}-b`, 300_000);
    const server = await serve(t, {
      files: [
        { path: '/a.bin', content: a, dropAfter: 200_000 },
        { path: '/b.bin', content: b },
      ],
    });
    const dir = await tempDir(t);
    const r = await runCli([server.url('/a.bin'), server.url('/b.bin'), server.url('/c.bin'), '-o', dir, '--workers', model, '--json', '--retry-wait', '0.01']);
    assert.equal(r.code, 1, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.workers, model);
    assert.deepEqual(
      s.files.map((f: { status: string }) => f.status),
      ['done', 'done', 'failed'],
    );
    assert.equal(s.files[0].attempts, 2, 'a.bin was resumed by a second try');
    assert.equal(sha256(await readFile(join(dir, 'a.bin'))), sha256(a));
    assert.equal(sha256(await readFile(join(dir, 'b.bin'))), sha256(b));
    const pids = new Set(s.files.map((f: { pid: number }) => f.pid));
    if (model === 'process') assert.equal(pids.size, 3, 'one process per file');
    else assert.equal(pids.size, 1, 'all in the CLI process');
    if (model === 'thread') assert.ok(s.files.every((f: { threadId: number }) => f.threadId > 0));
  });
}
