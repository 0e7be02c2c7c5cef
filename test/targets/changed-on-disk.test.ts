// A module changed on disk after the parent loaded it can never make a child run another body,
// not even one that starts at the same line and column as the parent's (the child compares a
// hash of the definition's source text too).
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { project, removeProjects, runIn } from './projects.ts';

const NODE = process.execPath;
after(removeProjects);

const MAIN = `
import { writeFileSync } from 'node:fs';
import { Pool, Process, Thread, isMain } from 'threadkit';
import { task } from './mod.ts';
if (isMain(import.meta)) {
  writeFileSync(new URL('./mod.ts', import.meta.url), "export function task() { return 'CHANGED'; }\\n");
  const out: Record<string, string> = {};
  for (const K of [Process, Thread]) {
    const p = new K({ target: task });
    p.start();
    await p.join();
    out[K.name] = p.exitCode === 0 ? \`ran: \${p.result}\` : \`\${(p.error as Error).constructor.name}: \${(p.error as Error).message}\`;
  }
  const pool = new Pool({ kind: 'process', processes: 1 });
  out.Pool = await pool.apply(task, []).then((v) => \`ran: \${v}\`, (e: Error) => \`\${e.constructor.name}: \${e.message}\`);
  await pool.terminate();
  console.log(JSON.stringify(out));
}
`;

describe('a target module changed on disk', () => {
  it('is refused in the child when the new body starts at the same line and column', async () => {
    const dir = project({ 'mod.ts': "export function task() { return 'original'; }\n", 'main.ts': MAIN });
    const r = await runIn(dir, NODE, ['main.ts']);
    assert.equal(r.code, 0, r.stderr);
    for (const key of ['Process', 'Thread', 'Pool']) {
      assert.match(String(r.json?.[key]), /^TargetNotFoundError: .*mod\.ts.*changed on disk since the parent loaded it/, key);
    }
  });
});
