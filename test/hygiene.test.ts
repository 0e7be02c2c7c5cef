// What every test file must do, checked over all of them, and the watchdog they rely on.
import './helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const TEST = fileURLToPath(new URL('./', import.meta.url));

/** Every *.test.ts under test/, at any depth: what npm test's glob runs. */
function testFiles(): string[] {
  return readdirSync(TEST, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'));
}

describe('test hygiene', () => {
  it('every test file imports the leak watchdog', () => {
    const files = testFiles();
    assert.ok(files.length > 50, `found only ${files.length} test files`);
    const without = files.filter((f) => !/^import '(\.\/|(\.\.\/)+)helpers\/watchdog\.ts';$/m.test(readFileSync(join(TEST, f), 'utf8')));
    assert.deepEqual(without, [], "add `import '../helpers/watchdog.ts';` to these files");
  });

  it('the watchdog fails a file whose process a passing test left held open, and names the timer', () => {
    const t0 = performance.now();
    const { NODE_TEST_CONTEXT: _, ...env } = process.env; // else node --test inside a test skips the file
    const r = spawnSync(process.execPath, ['--test', join(TEST, 'fixtures/leaky-file.ts')], {
      env: { ...env, THREADKIT_WATCHDOG_MS: '500', THREADKIT_WATCHDOG_STACKS: '1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const out = r.stdout + r.stderr;
    assert.notEqual(r.signal, 'SIGTERM', `the leaky file was not stopped by the watchdog:\n${out}`);
    assert.equal(r.status, 1, out);
    assert.match(out, /watchdog: 500 ms after this file's last test its process is still held open by: .*Timeout/);
    assert.match(out, /a timer made at:\n.*leaky-file\.ts/s);
    assert.ok(performance.now() - t0 < 30_000);
  });
});
