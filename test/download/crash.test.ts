import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deterministicContent } from '../../dist/cli/download/demo-server.js';
import { exists, runCli, serve, sha256, startCli, tempDir } from './helpers.ts';

const KILLS = 24;
const ROUNDS = 4;

it(`SIGKILL at ${KILLS} random moments of fast transfers, each followed by -c: every file ends byte-exact, resumed from the .part's size.`, async (t) => {
  // One file at full loopback speed, one throttled: kills land in every phase (start-up, head, body, rename).
  const fast = deterministicContent('crash-fast', 96 * 1024 * 1024 + 7);
  const slow = deterministicContent('crash-slow', 3 * 1024 * 1024 + 11);
  const server = await serve(t, {
    files: [
      { path: '/fast.bin', content: fast },
      { path: '/slow.bin', content: slow, seconds: 1.5 },
    ],
  });
  let resumes = 0;
  let kills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const dir = await tempDir(t);
    const name = round % 2 === 0 ? 'fast.bin' : 'slow.bin';
    const content = name === 'fast.bin' ? fast : slow;
    const part = join(dir, `${name}.part`);
    for (let k = 0; k < KILLS / ROUNDS; k++) {
      const had = (await stat(part).catch(() => ({ size: 0 }))).size;
      const first = server.requests.length;
      const { child, done } = startCli(['-c', server.url(`/${name}`), '-o', dir, '-q']);
      t.after(() => child.kill('SIGKILL'));
      await sleep(randomInt(100, 600));
      child.kill('SIGKILL');
      const r = await done;
      kills++;
      // A Range, when this run got as far as asking, starts exactly at the .part's size.
      const range = server.requests[first]?.range;
      if (range !== undefined) {
        assert.equal(range, `bytes=${had}-`, `round ${round}, kill ${k}`);
        resumes++;
      }
      if (r.code === 0) break; // It finished before the kill: nothing more to kill this round.
      assert.equal(r.signal, 'SIGKILL', r.stderr);
    }
    const have = (await stat(part).catch(() => ({ size: 0 }))).size;
    const before = server.requests.length;
    const r = await runCli(['-c', server.url(`/${name}`), '-o', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(dir, name))), sha256(content), `round ${round}: the file is byte-exact`);
    assert.equal(await exists(part), false);
    const asked = server.requests.slice(before).map((q) => q.range);
    if (have > 0 && have < content.length) {
      // The resume point is the size of the .part: it is written in order, so it has no hole.
      assert.deepEqual(asked, [`bytes=${have}-`], `round ${round}`);
      resumes++;
    }
  }
  assert.ok(kills >= ROUNDS, `${kills} kills`);
  assert.ok(resumes >= 1, `at least one round resumed a .part (${resumes})`);
});

it('SIGKILL of a run with --workers process, then -c at once: the killed run’s download child, not reaped yet, does not hold the .part.', async (t) => {
  const content = deterministicContent('crash-process', 8 * 1024 * 1024 + 3);
  const server = await serve(t, { files: [{ path: '/p.bin', content, seconds: 2 }] });
  const dir = await tempDir(t);
  const part = join(dir, 'p.bin.part');
  const { child, done } = startCli([server.url('/p.bin'), '-o', dir, '-q', '--workers', 'process']);
  t.after(() => child.kill('SIGKILL'));
  const deadline = Date.now() + 15_000;
  while ((await stat(part).catch(() => ({ size: 0 }))).size === 0 && Date.now() < deadline) await sleep(10);
  assert.ok(await exists(part), 'the download child wrote to the .part');
  child.kill('SIGKILL');
  assert.equal((await done).signal, 'SIGKILL');
  // The child dies with its parent, and then waits for init to reap it (a second or more here).
  const again = await runCli(['-c', server.url('/p.bin'), '-o', dir, '--workers', 'process']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(sha256(await readFile(join(dir, 'p.bin'))), sha256(content));
});
