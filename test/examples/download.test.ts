// The seed's first program, ported: two downloads in two processes at the same time.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const EXAMPLE = fileURLToPath(new URL('../../examples/download.ts', import.meta.url));

it('runs both downloads in their own processes at once, so the total is the longer one, not the sum', { timeout: 40_000 }, async () => {
  const child = spawn(process.execPath, [EXAMPLE], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out);

  const pids = [...out.matchAll(/启动下载进程，进程号\[(\d+)\]\./g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 2, out);
  assert.notEqual(pids[0], pids[1]);
  assert.ok(!pids.includes(child.pid!), 'the downloads must not run in the parent process');
  assert.match(out, /开始下载Python从入门到住院\.pdf\.\.\./);
  assert.match(out, /开始下载Peking Hot\.avi\.\.\./);

  const took = [...out.matchAll(/下载完成! 耗费了(\d+)秒/g)].map((m) => Number(m[1]));
  assert.equal(took.length, 2, out);
  for (const t of took) assert.ok(t >= 5 && t <= 10, `randint(5, 10) gave ${t}`);
  const total = Number(/总共耗费了([\d.]+)秒\./.exec(out)?.[1]);
  const [a, b] = took as [number, number];
  assert.ok(total >= Math.max(a, b), `total ${total} is shorter than the longest download`);
  // Concurrency, not speed: sequential runs would take a + b.
  assert.ok(total < a + b - Math.min(a, b) / 2, `total ${total}s for downloads of ${a}s and ${b}s: they did not overlap`);
});
