// Functions of a program's entry module that it does not export: refused at start() and submit()
// in the parent, once the parent can know the module's exports, not in a child that has booted.
// While the entry module's top-level await still runs, its exports cannot be read: the child
// then checks, and refuses.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { project, removeProjects, runIn } from './projects.ts';

const NODE = process.execPath;
after(removeProjects);

/** Program text: `tryAll()` starts each target in a Process, a Thread and an executor, and notes whether start() or submit() refused it, or else how the child ended. */
const TRY_ALL = `
import { Process, ProcessPoolExecutor, Thread, isMain } from 'threadkit';
async function tryAll(targets: Record<string, (x: number) => unknown>, out: Record<string, string>): Promise<void> {
  for (const [label, fn] of Object.entries(targets)) {
    for (const K of [Process, Thread]) {
      const p = new K({ target: fn as (x: number) => number, args: [1] });
      try {
        p.start();
      } catch (e) {
        out[\`\${K.name} \${label}\`] = \`refused: \${(e as Error).constructor.name}\`;
        continue;
      }
      await p.join();
      out[\`\${K.name} \${label}\`] = p.exitCode === 0 ? \`ran: \${p.result}\` : \`child: \${(p.error as Error)?.constructor?.name}\`;
    }
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      out[\`executor \${label}\`] = await ex.submit(fn, 1).result().then((v) => \`ran: \${v}\`, (e: Error) => \`child: \${e.constructor.name}\`);
    } catch (e) {
      out[\`executor \${label}\`] = \`refused: \${(e as Error).constructor.name}\`;
    }
    await ex.shutdown();
  }
}
function local(x: number): number {
  return x;
}
`;

const refusedAll = (labels: string[]) =>
  Object.fromEntries(labels.flatMap((l) => ['Process', 'Thread', 'executor'].map((k) => [`${k} ${l}`, 'refused: TargetNotFoundError'])));

describe('a function the entry module defines and does not export', () => {
  it('is refused at start() and submit() after the module has finished evaluating, and it exports nothing', async () => {
    const dir = project({
      'main.ts': `${TRY_ALL}
async function main(): Promise<void> {
  await new Promise((r) => setTimeout(r, 10));
  const out: Record<string, string> = {};
  await tryAll({ local, arrow: (x: number) => x }, out);
  console.log(JSON.stringify(out));
}
if (isMain(import.meta)) main();
`,
    });
    const r = await runIn(dir, NODE, ['main.ts']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, refusedAll(['local', 'arrow']), r.stderr);
  });

  it('is refused at start() while its top-level await runs, when its module exports nothing', async () => {
    const dir = project({
      'main.ts': `${TRY_ALL}
if (isMain(import.meta)) {
  const out: Record<string, string> = {};
  await tryAll({ local, arrow: (x: number) => x }, out);
  console.log(JSON.stringify(out));
}
`,
    });
    const r = await runIn(dir, NODE, ['main.ts']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, refusedAll(['local', 'arrow']), r.stderr);
  });

  it('is refused at start() once a module with top-level await that exports has finished evaluating (the child checks before)', async () => {
    // require() never reads a module with top-level await: its exports are known only when an import() of it has resolved.
    const dir = project({
      'main.ts': `${TRY_ALL}
export function exported(x: number): number {
  return x + 1;
}
async function main(): Promise<void> {
  const out: Record<string, string> = {};
  await tryAll({ exported }, out);
  await new Promise((r) => setTimeout(r, 10));
  await tryAll({ local }, out);
  console.log(JSON.stringify(out));
}
if (isMain(import.meta)) {
  if (process.argv[2] === 'await') await main();
  else main();
}
`,
    });
    const ran = { 'Process exported': 'ran: 2', 'Thread exported': 'ran: 2', 'executor exported': 'ran: 2' };
    const after = await runIn(dir, NODE, ['main.ts']);
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(after.json, { ...ran, ...refusedAll(['local']) }, after.stderr);
    // Its top-level await still running, the parent cannot read its exports: the child refuses.
    const during = await runIn(dir, NODE, ['main.ts', 'await']);
    assert.equal(during.code, 0, during.stderr);
    assert.deepEqual(
      during.json,
      { ...ran, 'Process local': 'child: TargetNotFoundError', 'Thread local': 'child: TargetNotFoundError', 'executor local': 'child: TargetNotFoundError' },
      during.stderr,
    );
  });
});
