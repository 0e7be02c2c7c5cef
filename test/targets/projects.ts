// Throwaway user projects for the run-mode tests: files in a temp folder that depends on this
// checkout as `threadkit` (a symlink, as `npm link` would make), run the way users run them.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'node_modules', '.bin');
const made: string[] = [];

/** A project folder with `files` (paths relative to it) and node_modules/threadkit → this checkout. */
export function project(files: Record<string, string>, links: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-targets-'));
  made.push(dir);
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'threadkit'));
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
  for (const name of links) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  if (!files['package.json']) files = { 'package.json': JSON.stringify({ name: 'user-project', private: true, type: 'module' }), ...files };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

export function removeProjects(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last line of stdout that parses as JSON. */
  json: any;
}

/** Runs `cmd args` in `cwd`, with a time limit; never rejects (the exit code is in the result). */
export function runIn(cwd: string, cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    // CI and the test runner's own variables would change how a nested node --test or vitest reports.
    const { NODE_TEST_CONTEXT: _a, NODE_OPTIONS: _b, ...base } = process.env;
    execFile(cmd, args, { cwd, env: { ...base, ...env }, timeout: timeoutMs, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err ? (((err as { code?: unknown }).code as number | null) ?? null) : 0;
      let json: unknown;
      for (const line of stdout.trim().split('\n').reverse()) {
        try {
          json = JSON.parse(line);
          break;
        } catch {
          // not the JSON line
        }
      }
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr, json });
    });
  });
}

/**
 * Program text for the projects: runs `paint(1)` in a Process and in a Thread and records each
 * outcome in `out` (the result, or the error as `failure` formats `r.error`).
 */
export const RUN_PAINT_IN_EACH_KIND = (failure = 'String(r.error)') => `  for (const Kind of [Process, Thread]) {
    const r = new Kind({ target: paint, args: [1] });
    r.start();
    await r.join();
    out[Kind.name] = r.exitCode === 0 ? r.result : ${failure};
  }`;

export { node22 } from '../helpers/node22.ts';
