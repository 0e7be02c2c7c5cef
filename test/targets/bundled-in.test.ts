// threadkit bundled INTO a program (not kept external) cannot find its own files, its workers'
// entry points or its native addon: the program must fail at once with a typed error that
// says how to bundle instead, not with a bare Error about a folder.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, it } from 'node:test';
import { project, removeProjects, runIn } from './projects.ts';

const esbuild = createRequire(import.meta.url)('esbuild') as { buildSync(o: object): unknown };
after(removeProjects);

it('a program with threadkit bundled in fails at once with NotSupportedError naming --external:threadkit', async () => {
  const dir = project({
    'app.ts': `
try {
  const { Lock } = await import('threadkit');
  new Lock();
  console.log(JSON.stringify({ loaded: true }));
} catch (e) {
  console.log(JSON.stringify({ name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message }));
}
`,
  });
  esbuild.buildSync({
    absWorkingDir: dir,
    entryPoints: ['app.ts'],
    outfile: 'out/app.mjs',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    logLevel: 'silent',
  });
  const r = await runIn(dir, process.execPath, ['out/app.mjs']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json?.name, 'NotSupportedError');
  assert.equal(r.json?.code, 'TK_NOT_SUPPORTED');
  assert.match(String(r.json?.message), /threadkit was bundled into your program\. Keep it out of the bundle \(esbuild --external:threadkit/);
});
