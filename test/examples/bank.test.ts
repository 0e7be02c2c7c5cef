// The seed's bank programs, ported: the race shows on real threads, and a Lock fixes it.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

async function balance(name: string): Promise<number> {
  const { stdout } = await run(process.execPath, [example(name)], { timeout: 60_000 });
  const m = /^账户余额为: ￥(\d+)元$/m.exec(stdout);
  assert.ok(m, `unexpected output: ${stdout}`);
  return Number(m[1]);
}

it('loses most of the 100 unprotected deposits, every run', { timeout: 120_000 }, async () => {
  for (let i = 0; i < 3; i++) {
    const b = await balance('bank-unsafe.ts');
    assert.ok(b >= 1 && b < 50, `balance ￥${b}: the race should lose far more than half of the deposits`);
  }
});

it('ends at exactly ￥100 with the lock, every run', { timeout: 120_000 }, async () => {
  for (let i = 0; i < 3; i++) assert.equal(await balance('bank-lock.ts'), 100);
});
