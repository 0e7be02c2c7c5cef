/**
 * `npm run bench` (or `node bench/run.ts`): runs the suites in bench/suites/, each in a fresh
 * Node program so that one suite's warm workers and garbage cannot skew the next, and prints
 * one markdown report. Every ratio compares with peers measured in this same run.
 *
 *   node bench/run.ts                 all suites, full size (several minutes; download is heavy)
 *   node bench/run.ts --quick         a smoke run of the light suites (< 60 s)
 *   node bench/run.ts start locks     only these suites (also with --quick)
 *   node bench/run.ts --write         also write bench/RESULTS.md
 *
 * Suite-specific flags pass through, e.g. `download --quick --download-mib=8`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, NODE, REPO_DIR, THREADKIT_DIST } from './lib/exec.ts';
import { describeMachine } from './lib/machine.ts';

/** In the order they run: the light ones first, so a smoke run fails fast. */
const ORDER = ['start', 'seed-download', 'locks', 'pools', 'queues', 'download'];
/** Too heavy for --quick unless named (2 GiB per run at full size). */
const FULL_ONLY = new Set(['download']);

const argv = process.argv.slice(2);
/** Every flag the runner or a suite reads (`--name` or `--name=value`), for a clear error on a typo. */
const FLAGS = new Set(['quick', 'write', 'download-mib', 'download-reps', 'download-small', 'download-step-s']);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(
    'usage: node bench/run.ts [SUITE...] [--quick] [--write]\n' +
      '  SUITE         run only these suites (default: all; --quick leaves out download)\n' +
      '  --quick       a smoke run: fewer repetitions, smaller sizes\n' +
      '  --write       also write bench/RESULTS.md\n' +
      '  --download-mib=N --download-reps=N --download-small=N --download-step-s=S   download: sizes, runs and the time limit per step',
  );
  process.exit(0);
}
const badFlags = argv.filter((a) => a.startsWith('-') && !FLAGS.has(/^--([^=]+)/.exec(a)?.[1] ?? ''));
if (badFlags.length > 0) {
  console.error(`bench: unknown option ${badFlags.map((f) => `'${f}'`).join(', ')}; run 'node bench/run.ts --help' for the options`);
  process.exit(2);
}
const quick = argv.includes('--quick');
const write = argv.includes('--write');
const passFlags = argv.filter((a) => a.startsWith('--') && a !== '--write');
const named = argv.filter((a) => !a.startsWith('--'));
/** A suite that takes longer than this is stopped and reported as failed, so the run never hangs. */
const SUITE_TIMEOUT_MS = (quick ? 3 : 20) * 60_000;

const available = readdirSync(`${BENCH_DIR}suites`)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
const unknown = named.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  console.error(`bench: unknown suite ${unknown.map((u) => `'${u}'`).join(', ')}; suites: ${available.join(', ')}`);
  process.exit(2);
}
if (!existsSync(THREADKIT_DIST)) {
  console.error(`bench: threadkit is not built (${fileURLToPath(THREADKIT_DIST)} is missing). Run \`npm run build\` at the repo root first.`);
  process.exit(1);
}

const sorted = [...available].sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
const suites = named.length > 0 ? sorted.filter((s) => named.includes(s)) : sorted.filter((s) => !(quick && FULL_ONLY.has(s)));
const skippedForQuick = named.length === 0 && quick ? sorted.filter((s) => FULL_ONLY.has(s)) : [];

interface Outcome {
  markdown: string;
  code: number | null;
  stderrTail: string;
  seconds: number;
}

/** Runs one suite program; its stdout is the markdown section, its stderr is shown live. */
function runSuite(name: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    process.stderr.write(`\n▶ ${name}\n`);
    // Its own process group, so that stopping it also stops what it started (nginx, children).
    const child = spawn(NODE, [`${BENCH_DIR}suites/${name}.ts`, ...passFlags], { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stop = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    // SIGTERM first: the suites clean up (the download suite deletes its data), then SIGKILL.
    const timer = setTimeout(() => {
      process.stderr.write(`bench: ${name} ran past ${SUITE_TIMEOUT_MS / 60_000} min; stopping it\n`);
      stop('SIGTERM');
      setTimeout(() => stop('SIGKILL'), 5000).unref();
    }, SUITE_TIMEOUT_MS);
    // Ctrl-C reaches only our group: pass it on, let the suite clean up, and stop.
    const onInterrupt = () => {
      stop('SIGTERM');
      process.exitCode = 130;
    };
    process.once('SIGINT', onInterrupt);
    let markdown = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (markdown += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
      process.stderr.write(d);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', onInterrupt);
      if (process.exitCode === 130) process.exit(130);
      resolve({ markdown, code, stderrTail: stderr.trim().split('\n').slice(-8).join('\n'), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

const mode = quick ? 'quick (`--quick`: few repetitions, small sizes — a smoke run, not numbers to quote)' : 'full';
const parts = [
  '# threadkit benchmarks',
  `Produced by \`${['node bench/run.ts', ...argv].join(' ')}\` (\`npm run bench\`). Times are medians over repetitions; ` +
    'every ratio is threadkit ÷ peer, measured in the same run (below 1× threadkit is faster or smaller).',
  describeMachine(mode),
];
process.stdout.write(parts.join('\n\n') + '\n\n');

const t0 = performance.now();
let failures = 0;
for (const name of suites) {
  const out = await runSuite(name);
  let text = out.markdown;
  if (out.code !== 0) {
    failures++;
    text += `\n## ${name}\n\n> **Failed** (exit ${out.code}) after ${out.seconds.toFixed(1)} s:\n\n\`\`\`\n${out.stderrTail}\n\`\`\`\n`;
  }
  process.stderr.write(`  ${name}: ${out.seconds.toFixed(1)} s\n`);
  process.stdout.write(text + '\n');
  parts.push(text.trim());
}
for (const name of skippedForQuick) {
  const note = `## ${name}\n\n> **Skipped in --quick** (heavy). Run \`node bench/run.ts ${name}\` (full) or \`node bench/run.ts ${name} --quick\` (small files).`;
  process.stdout.write(note + '\n\n');
  parts.push(note);
}
process.stderr.write(`\nbench: ${suites.length} suite(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s${failures ? `, ${failures} failed` : ''}\n`);

if (write) {
  writeFileSync(`${BENCH_DIR}RESULTS.md`, parts.join('\n\n') + '\n');
  // In the project's Markdown style (npm test's lint checks it), as if written by hand.
  const biome = spawnSync(`${REPO_DIR}node_modules/.bin/biome`, ['format', '--write', `${BENCH_DIR}RESULTS.md`], { stdio: 'ignore', timeout: 60_000 });
  if (biome.status !== 0) process.stderr.write('bench: could not format RESULTS.md with Biome; run `npx biome format --write bench/RESULTS.md`\n');
  process.stderr.write(`bench: wrote ${BENCH_DIR}RESULTS.md\n`);
}
process.exitCode = failures ? 1 : 0;
