// `threadkit worker`'s own usage checks: bad usage exits 2 with one line, before Redis is asked.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/threadkit.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [BIN, 'worker', ...args], { timeout: 20_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
}

it('a --root that is not a folder is bad usage (exit 2), named, instead of a worker whose every task fails', async () => {
  const r = await run(['--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--root', '/nonexistent/project']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--root must be the folder of the project the targets are in; '\/nonexistent\/project' is not a folder that exists/);
});
