// Programs without an importable export or without an isMain guard: a real esbuild bundle that
// names its targets with registerTarget, `node -e`, and programs that would fork without end.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createRequire } from 'node:module';
import { descendants, waitUntilGone } from '../helpers/processes.ts';
import { project, removeProjects, runIn } from './projects.ts';

const NODE = process.execPath;
const esbuild = createRequire(import.meta.url)('esbuild') as { buildSync(o: object): unknown };
after(removeProjects);

const TASKS = `export function paint(x: number): string { return 'paint:' + x; }\n`;
const APP = (register: boolean) => `
import { Pool, Process, Thread, isMain, registerTarget } from 'threadkit';
import { paint } from './tasks.ts';
${register ? "registerTarget('paint', paint);" : ''}
if (isMain(import.meta)) {
  const out: Record<string, unknown> = {};
  for (const Kind of [Process, Thread]) {
    const r = new Kind({ target: paint, args: [1] });
    try {
      r.start();
    } catch (e) {
      out[Kind.name] = \`refused at start(): \${(e as Error).message}\`;
      continue;
    }
    await r.join();
    out[Kind.name] = r.exitCode === 0 ? r.result : (r.error as Error).message;
  }
  const pool = new Pool({ kind: 'process', processes: 1 });
  out.pool = await (async () => pool.apply(paint, [2]))().catch((e: Error) => \`refused: \${e.message}\`);
  pool.close();
  await pool.join();
  console.log(JSON.stringify(out));
}
`;

function bundle(dir: string, entry: string, outfile: string): void {
  // threadkit stays external: it starts its workers from its own files.
  esbuild.buildSync({
    absWorkingDir: dir,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: ['threadkit'],
    logLevel: 'silent',
  });
}

describe('a single-file esbuild bundle', () => {
  it('runs registered targets in a Process, a Thread and a Pool', async () => {
    const dir = project({ 'tasks.ts': TASKS, 'app.ts': APP(true) });
    bundle(dir, 'app.ts', 'out/app.mjs');
    const r = await runIn(dir, NODE, ['out/app.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, { Process: 'paint:1', Thread: 'paint:1', pool: 'paint:2' });
  });

  it('without registerTarget, fails with an error that names registerTarget', async () => {
    const dir = project({ 'tasks.ts': TASKS, 'app.ts': APP(false) });
    bundle(dir, 'app.ts', 'out/app.mjs');
    const r = await runIn(dir, NODE, ['out/app.mjs']);
    assert.equal(r.code, 0, r.stderr);
    // The bundle exports nothing: start() and apply() refuse it in the parent, before any child boots.
    for (const key of ['Process', 'Thread', 'pool']) assert.match(String(r.json?.[key]), /^refused.*registerTarget\('name', fn\)/, key);
  });
});

describe('code that is not a module file', () => {
  it('node -e: start() throws at once, saying to put the target in a module', async () => {
    const dir = project({});
    const code = `import('threadkit').then(({ Process }) => { try { new Process({ target: function f() { return 1; } }).start(); console.log('{"started":true}'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); } });`;
    const r = await runIn(dir, NODE, ['-e', code]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.code, 'TK_TARGET_NOT_FOUND');
    assert.match(r.json?.message, /not a module file/);
    assert.match(r.json?.message, /module/);
  });
});

describe('the bootstrap guard: a program without isMain(import.meta)', () => {
  const program = (start: string) => `
import { Pool, Process, Thread } from 'threadkit';
export function work(): number { return 1; }
${start}
`;
  const cases: Record<string, string> = {
    Process: `const r = new Process({ target: work }); r.start(); await r.join();
console.log(JSON.stringify({ exitCode: r.exitCode, code: (r.error as any)?.code, message: (r.error as any)?.message, pid: process.pid }));`,
    Thread: `const r = new Thread({ target: work }); r.start(); await r.join();
console.log(JSON.stringify({ exitCode: r.exitCode, code: (r.error as any)?.code, message: (r.error as any)?.message, pid: process.pid }));`,
    Pool: `const pool = new Pool({ kind: 'process', processes: 1 });
const e: any = await pool.apply(work, []).catch((err) => err);
pool.terminate();
console.log(JSON.stringify({ exitCode: 1, code: e?.code, message: e?.message, pid: process.pid }));`,
  };
  for (const [kind, start] of Object.entries(cases)) {
    it(`${kind}: the child fails at once with a BootstrapError naming isMain, and nothing is left running`, async () => {
      const dir = project({ 'noguard.ts': program(start) });
      const before = new Set(descendants(process.pid));
      const started = Date.now();
      const r = await runIn(dir, NODE, ['noguard.ts'], {}, 30_000);
      assert.ok(Date.now() - started < 30_000, 'the program ended');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json?.exitCode, 1);
      assert.equal(r.json?.code, 'TK_BOOTSTRAP', JSON.stringify(r.json));
      assert.match(r.json?.message, /isMain\(import\.meta\)/);
      // One level only: the child said so once; no grandchild ever started.
      assert.ok((r.stderr.match(/TK_BOOTSTRAP|BootstrapError/g) ?? []).length <= 2, r.stderr);
      const left = await waitUntilGone(
        descendants(process.pid).filter((p) => !before.has(p)),
        5_000,
      );
      assert.deepEqual(left, [], `processes left running: ${left.join(', ')}`);
    });
  }
});
