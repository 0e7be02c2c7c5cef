// Ctrl-C, SIGTERM and a closed terminal (SIGHUP) stop a run the same way under every worker
// model: exit 128 + the signal's number, each .part kept and its lock let go, no worker process
// left, and -c then finishes the file byte-exact.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { descendants, waitUntilGone } from '../helpers/processes.ts';
import { exists, runCli, serve, sha256, startCli, tempDir, waitFor } from './helpers.ts';

const SIZE = 4_000_000;

const cases = [
  { model: 'inline', signal: 'SIGHUP', code: 129, to: 'the command' },
  { model: 'thread', signal: 'SIGHUP', code: 129, to: 'the command' },
  { model: 'process', signal: 'SIGTERM', code: 143, to: 'the command' },
  { model: 'process', signal: 'SIGHUP', code: 129, to: 'the command' },
  { model: 'process', signal: 'SIGINT', code: 130, to: 'its process group, as Ctrl-C in a terminal' },
] as const;

for (const { model, signal, code, to } of cases) {
  it(`--workers ${model}: ${signal} sent to ${to} exits ${code}, keeps the .part without its lock, leaves no process, and -c finishes it.`, async (t) => {
    const content = deterministicContent(`signal-${model}-${signal}`, SIZE);
    const server = await serve(t, { files: [{ path: '/slow.bin', content, seconds: 3 }] });
    const dir = await tempDir(t);
    const part = join(dir, 'slow.bin.part');
    const group = to !== 'the command';
    const { child, done } = startCli([server.url('/slow.bin'), '-o', dir, '--workers', model, '--plain'], { timeoutMs: 60_000, detached: group });
    t.after(() => child.kill('SIGKILL'));
    await waitFor('bytes in the .part', async () => ((await stat(part).catch(() => undefined))?.size ?? 0) > 100_000, 20_000);
    const workers = descendants(child.pid!);
    if (model === 'process') assert.ok(workers.length > 0, 'the download runs in a child process');
    if (group) process.kill(-child.pid!, signal);
    else child.kill(signal);
    const r = await done;
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stdout, /slow\.bin interrupted; kept .*slow\.bin\.part/);
    assert.equal(await exists(join(dir, 'slow.bin')), false, 'no file under the final name');
    assert.ok(await exists(part), 'the .part is kept for -c');
    assert.equal(await exists(`${part}.lock`), false, 'the lock is let go');
    assert.deepEqual(await waitUntilGone(workers, 5000), [], 'no worker process outlives the run');

    const again = await runCli(['-c', server.url('/slow.bin'), '-o', dir, '--json'], { timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sha256(await readFile(join(dir, 'slow.bin'))), sha256(content));
  });
}
