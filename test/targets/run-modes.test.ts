// Every way users run programs: each test writes a small project and really runs it — Node 24
// (and 22 where cached) on .ts directly, source maps, transform-types, tsc output, tsx, node:test,
// vitest, CommonJS, a package with conditional exports. In each, two modules export `paint`; the
// child must run the one passed.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { join } from 'node:path';
import { node22Missing } from '../helpers/node22.ts';
import { BIN, node22, project, RUN_PAINT_IN_EACH_KIND, removeProjects, runIn } from './projects.ts';

const NODE = process.execPath;
after(removeProjects);

const TASKS = `
export function paint(x: number): string {
  return \`paint:\${x}\`;
}
export class Box {
  v: number;
  constructor(v: number) {
    this.v = v;
  }
  get(): number {
    return this.v;
  }
}
export function unbox(b: Box): number {
  return b.get();
}
`;
const TASKS_ENUM = `
export enum Color {
  Red = 'red',
}
export function paint(x: number): string {
  return \`\${Color.Red}:\${x}\`;
}
export class Box {
  v: number;
  constructor(v: number) {
    this.v = v;
  }
  get(): number {
    return this.v;
  }
}
export function unbox(b: Box): number {
  return b.get();
}
`;
const OTHER = `export function paint(x: number): string { return 'WRONG:' + x; }\n`;

/** The program: Process, Thread and a Pool run `paint` from tasks and an instance of its Box crosses. */
const main = (spec: string, other: string) => `
import { Pool, Process, Thread, isMain } from 'threadkit';
import { paint as otherPaint } from '${other}';
import { Box, paint, unbox } from '${spec}';

export async function main(): Promise<void> {
  const out: Record<string, unknown> = { other: otherPaint(0) };
${RUN_PAINT_IN_EACH_KIND()}
  const pool = new Pool({ kind: 'process', processes: 1 });
  out.pool = await pool.apply(paint, [2]);
  out.box = await pool.apply(unbox, [new Box(5)]);
  pool.close();
  await pool.join();
  console.log(JSON.stringify(out));
}
if (isMain(import.meta)) await main();
`;
const expected = (prefix = 'paint') => ({ other: 'WRONG:0', Process: `${prefix}:1`, Thread: `${prefix}:1`, pool: `${prefix}:2`, box: 5 });

function assertRan(r: { code: number | null; json: unknown; stderr: string }, want: object): void {
  assert.equal(r.code, 0, `exit code ${r.code}; stderr:\n${r.stderr}`);
  assert.deepEqual(r.json, want, r.stderr);
}

describe('programs run directly by Node', () => {
  const dir = project({ 'tasks.ts': TASKS, 'other.ts': OTHER, 'main.ts': main('./tasks.ts', './other.ts') });

  it('node main.ts', async () => assertRan(await runIn(dir, NODE, ['main.ts']), expected()));
  it('node --enable-source-maps main.ts', async () => assertRan(await runIn(dir, NODE, ['--enable-source-maps', 'main.ts']), expected()));
  it('NODE_OPTIONS=--enable-source-maps node main.ts', async () =>
    assertRan(await runIn(dir, NODE, ['main.ts'], { NODE_OPTIONS: '--enable-source-maps' }), expected()));

  it('node main.ts in a package without "type", targets in main.ts itself, which awaits at its top level', async () => {
    // Node tries such a file as CommonJS first and leaves an empty require-cache entry behind
    // when it runs it as an ES module: that entry once made the child require() it, which top-level await forbids.
    const single = `
import { Process, Thread, isMain } from 'threadkit';
export function paint(x: number): string {
  return \`paint:\${x}\`;
}
export class Painter extends Thread {
  override run(): string {
    return paint(7);
  }
}
if (isMain(import.meta)) {
  const out: Record<string, unknown> = {};
${RUN_PAINT_IN_EACH_KIND()}
  const t = new Painter();
  t.start();
  await t.join();
  out.subclass = t.exitCode === 0 ? t.result : String(t.error);
  console.log(JSON.stringify(out));
}
`;
    const untyped = project({ 'package.json': JSON.stringify({ name: 'untyped-project', private: true }), 'main.ts': single });
    assertRan(await runIn(untyped, NODE, ['main.ts']), { Process: 'paint:1', Thread: 'paint:1', subclass: 'paint:7' });
  });

  it('node --experimental-transform-types main.ts, with an enum in the target module', async () => {
    const enumDir = project({ 'tasks.ts': TASKS_ENUM, 'other.ts': OTHER, 'main.ts': main('./tasks.ts', './other.ts') });
    assertRan(await runIn(enumDir, NODE, ['--experimental-transform-types', '--no-warnings', 'main.ts']), expected('red'));
    assertRan(await runIn(enumDir, NODE, ['--experimental-transform-types', '--enable-source-maps', '--no-warnings', 'main.ts']), expected('red'));
  });

  it('Node 22 runs the same program, from .js files (Node 22 installed from the registry on first use)', async () => {
    const old = await node22();
    // npm ci needs the registry too, so a machine that installed the project can install Node 22.
    if (!old) assert.fail(node22Missing ?? 'no Node 22 here');
    const js = project({
      'tasks.js':
        'export function paint(x) { return `paint:${x}`; }\nexport class Box { constructor(v) { this.v = v; } get() { return this.v; } }\nexport function unbox(b) { return b.get(); }\n',
      'other.js': 'export function paint(x) { return "WRONG:" + x; }\n',
      'main.js': main('./tasks.js', './other.js').replace('(): Promise<void>', '()').replace(': Record<string, unknown>', ''),
    });
    assertRan(await runIn(js, old, ['main.js']), expected());
    assertRan(await runIn(js, old, ['--enable-source-maps', 'main.js']), expected());
    // The README's form of \`await using\` for Node 22, which does not parse \`using\`.
    const dispose = project({
      'tasks.js': 'export function square(x) { return x * x; }\n',
      'main.js': `import { Pool, Process, isMain } from 'threadkit';
import { square } from './tasks.js';
if (isMain(import.meta)) {
  const pool = new Pool({ processes: 1 });
  const p = new Process({ target: square, args: [3] });
  try {
    p.start();
    console.log(JSON.stringify({ pool: await pool.map(square, [1, 2]) }));
  } finally {
    await pool[Symbol.asyncDispose]();
    await p[Symbol.asyncDispose]();
  }
  console.log(JSON.stringify({ process: p.result }));
}
`,
    });
    assertRan(await runIn(dispose, old, ['main.js']), { process: 9 });
  });
});

describe('compiled and loader-run TypeScript', () => {
  it('tsc (NodeNext, .js specifiers, source maps), run with --enable-source-maps', async () => {
    const dir = project({
      'src/tasks.ts': TASKS,
      'src/other.ts': OTHER,
      'src/main.ts': main('./tasks.js', './other.js'),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          outDir: 'dist',
          rootDir: 'src',
          sourceMap: true,
          strict: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['src'],
      }),
    });
    const built = await runIn(dir, NODE, [join(BIN, 'tsc'), '-p', '.']);
    assert.equal(built.code, 0, built.stdout + built.stderr);
    assertRan(await runIn(dir, NODE, ['--enable-source-maps', 'dist/main.js']), expected());
    assertRan(await runIn(dir, NODE, ['dist/main.js'], { NODE_OPTIONS: '--enable-source-maps' }), expected());
  });

  for (const spec of ['./tasks', './tasks.js']) {
    it(`tsx, importing '${spec}', with an enum in the target module`, async () => {
      const dir = project({ 'tasks.ts': TASKS_ENUM, 'other.ts': OTHER, 'main.ts': main(spec, spec === './tasks' ? './other' : './other.js') });
      assertRan(await runIn(dir, NODE, [join(BIN, 'tsx'), 'main.ts']), expected('red'));
    });
  }
});

describe('test runners, with the target in a module of its own', () => {
  const TEST = (runner: string) => `
import { ${runner === 'vitest' ? 'test, expect' : 'test'} } from '${runner}';
${runner === 'vitest' ? '' : "import assert from 'node:assert/strict';"}
import { Process, Thread } from 'threadkit';
import { paint } from './tasks.ts';
import { paint as otherPaint } from './other.ts';

for (const Kind of [Process, Thread]) {
  test('runs paint in a ' + Kind.name, async () => {
    const r = new Kind({ target: paint, args: [3] });
    r.start();
    await r.join();
    ${runner === 'vitest' ? 'expect(r.result).toBe("paint:3"); expect(otherPaint(0)).toBe("WRONG:0");' : 'assert.equal(r.result, "paint:3"); assert.equal(otherPaint(0), "WRONG:0");'}
  });
}
`;

  it('node --test runs the file once; the child does not re-run its tests', async () => {
    const dir = project({ 'tasks.ts': TASKS, 'other.ts': OTHER, 'paint.test.ts': TEST('node:test') });
    const r = await runIn(dir, NODE, ['--test', '--test-reporter=tap', 'paint.test.ts']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# tests 2$/m);
    assert.match(r.stdout, /^# pass 2$/m);
  });

  it('a target declared in the node:test file itself is refused with an error that says to move it', async () => {
    const dir = project({
      'self.test.ts': `
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Process, TargetNotFoundError } from 'threadkit';
export function inTestFile(): number { return 1; }
test('refused', () => {
  assert.throws(() => new Process({ target: inTestFile }).start(), (e: unknown) => e instanceof TargetNotFoundError && /module of its own/.test(e.message) && /self\\.test\\.ts/.test(e.message));
});
`,
    });
    const r = await runIn(dir, NODE, ['--test', '--test-reporter=tap', 'self.test.ts']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# pass 1$/m);
  });

  it('vitest runs a target from a separate module', async () => {
    const dir = project({ 'tasks.ts': TASKS, 'other.ts': OTHER, 'paint.test.ts': TEST('vitest') }, ['vitest']);
    const r = await runIn(dir, NODE, [join(BIN, 'vitest'), 'run', '--root', dir, '--reporter=json'], { CI: 'true' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json?.numPassedTests, 2, r.stdout);
  });
});

describe('CommonJS and packages', () => {
  it('require("threadkit") from a CommonJS program, with targets in .cjs and .cts modules', async () => {
    const dir = project({
      'package.json': JSON.stringify({ name: 'cjs-project', private: true, type: 'commonjs' }),
      'tasks.cjs': 'exports.triple = function triple(x) { return 3 * x; };\nexports.paint = (x) => `cjs:${x}`;\n',
      'other.cjs': 'exports.paint = (x) => "WRONG:" + x;\n',
      'typed.cts': 'function quad(x: number): number { return 4 * x; }\nexports.quad = quad;\n',
      'main.cjs': `
const { Process, Thread, Pool } = require('threadkit');
const { triple, paint } = require('./tasks.cjs');
const other = require('./other.cjs');
const { quad } = require('./typed.cts');
async function main() {
  const out = { other: other.paint(0) };
  for (const Kind of [Process, Thread]) {
    for (const [key, fn, arg] of [['triple', triple, 2], ['paint', paint, 1], ['quad', quad, 3]]) {
      const r = new Kind({ target: fn, args: [arg] });
      r.start();
      await r.join();
      out[Kind.name + ':' + key] = r.exitCode === 0 ? r.result : String(r.error);
    }
  }
  const pool = new Pool({ kind: 'thread', processes: 1 });
  out.pool = await pool.apply(triple, [5]);
  pool.close();
  await pool.join();
  console.log(JSON.stringify(out));
}
if (require.main === module) main();
`,
    });
    const want = {
      other: 'WRONG:0',
      'Process:triple': 6,
      'Process:paint': 'cjs:1',
      'Process:quad': 12,
      'Thread:triple': 6,
      'Thread:paint': 'cjs:1',
      'Thread:quad': 12,
      pool: 15,
    };
    assertRan(await runIn(dir, NODE, ['main.cjs']), want);
    // Node 22 requires threadkit (an ES module) too; it strips types only from .ts/.mts files by default before 22.18.
    const old = await node22();
    if (!old) assert.fail(node22Missing ?? 'no Node 22 here');
    assertRan(await runIn(dir, old, ['--experimental-strip-types', '--no-warnings', 'main.cjs']), want);
  });

  it('a target from a package whose exports have import and require conditions', async () => {
    const dir = project({
      'node_modules/condpkg/package.json': JSON.stringify({
        name: 'condpkg',
        version: '1.0.0',
        exports: { '.': { import: './esm.mjs', require: './cjs.cjs' } },
      }),
      'node_modules/condpkg/esm.mjs': 'export function cond(x) { return "esm:" + x; }\n',
      'node_modules/condpkg/cjs.cjs': 'exports.cond = function cond(x) { return "cjs:" + x; };\n',
      'main.ts': `
import { Process, Thread, isMain } from 'threadkit';
import { createRequire } from 'node:module';
import { cond } from 'condpkg';
const { cond: condCjs } = createRequire(import.meta.url)('condpkg');
if (isMain(import.meta)) {
  const out: Record<string, unknown> = {};
  for (const Kind of [Process, Thread]) {
    for (const [key, fn] of [['esm', cond], ['cjs', condCjs]] as const) {
      const r = new Kind({ target: fn, args: [1] });
      r.start();
      await r.join();
      out[Kind.name + ':' + key] = r.exitCode === 0 ? r.result : String(r.error);
    }
  }
  console.log(JSON.stringify(out));
}
`,
    });
    assertRan(await runIn(dir, NODE, ['main.ts']), { 'Process:esm': 'esm:1', 'Process:cjs': 'cjs:1', 'Thread:esm': 'esm:1', 'Thread:cjs': 'cjs:1' });
  });
});
