// The programs of src/cli use threadkit as a user does, and each command starts with only what it needs.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli');
const exec = promisify(execFile);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('the threadkit command', () => {
  it('imports threadkit only through its public entry points, never a module of src/ outside src/cli', () => {
    const outside: string[] = [];
    for (const file of sources(CLI)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import\()\s*'([^']+)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('.') && relative(CLI, resolve(dirname(file), spec)).startsWith('..')) outside.push(`${relative(ROOT, file)}: ${spec}`);
        if (spec.startsWith('threadkit') && spec !== 'threadkit' && spec !== 'threadkit/redis') outside.push(`${relative(ROOT, file)}: ${spec}`);
      }
    }
    assert.deepEqual(outside, []);
  });

  // Records every module a command's --help resolves (module.registerHooks), in a fresh Node.
  const PROBE = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
    const { main } = await import(process.argv[1]);
    const write = process.stdout.write.bind(process.stdout);
    console.log = () => {};
    process.stdout.write = () => true;
    await main(process.argv.slice(2));
    write(JSON.stringify(seen));`;

  for (const command of ['download', 'bank', 'trace', 'worker']) {
    it(`'threadkit ${command} --help' loads neither threadkit itself nor the command's heavy parts`, async () => {
      const main = pathToFileURL(join(ROOT, 'dist/cli/main.js')).href;
      const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', PROBE, main, command, '--help'], { timeout: 30_000 });
      const loaded = (JSON.parse(stdout) as string[]).filter((u) => u.startsWith('file:')).map((u) => relative(ROOT, fileURLToPath(u)));
      const heavy = loaded.filter((p) => !p.startsWith('dist/cli/') || /downloader|http-get|connection|simulate|account|redis|timeline|from-trace/.test(p));
      assert.deepEqual(heavy, [], `loaded: ${loaded.join(', ')}`);
    });
  }

  it("'threadkit --version' (and -V) prints the package's version and Node's, and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const { stdout } = await exec(process.execPath, [join(ROOT, 'bin/threadkit.js'), flag], { timeout: 30_000 });
      assert.equal(stdout, `threadkit ${version} (Node.js ${process.version})\n`);
    }
  });
});
