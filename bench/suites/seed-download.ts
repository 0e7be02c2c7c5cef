/**
 * seed-download: the seed's two-process "download" program with fixed sleeps, threadkit vs
 * CPython's multiprocessing. Both downloads run at once, so the program should take as long as
 * the longest sleep; total − longest is what starting and joining two processes cost.
 */
import { BENCH_DIR, COMPILE_CACHE_ENV, NODE, check, pythonExecutable, run } from '../lib/exec.ts';
import { Section, parseOptions, progress } from '../lib/report.ts';
import { median, ms, ratio } from '../lib/stats.ts';

const opts = parseOptions();
const SLEEPS = [1, 2];
const LONGEST = Math.max(...SLEEPS);
const REPS = opts.quick ? 1 : 5;
const WARMUP = opts.quick ? 0 : 1;
/** Issue 11's goals: in-program total − longest ≤ 40 ms, and from outside ≤ 2× CPython's. */
const GOAL_S = 0.04;
const GOAL_WALL_RATIO = 2;

interface Overhead {
  /** The program's own clock (as the seed prints it) minus the longest sleep, ms. */
  inProgramMs: number;
  /** Spawn to exit as seen from outside (interpreter start and exit included) minus the longest sleep, ms. */
  wallMs: number;
}

async function sample(command: string, args: string[], what: string, env?: NodeJS.ProcessEnv): Promise<Overhead> {
  const r = check(await run(command, [...args, ...SLEEPS.map(String)], { timeoutMs: 60_000, env }), what);
  const total = /^TOTAL ([\d.]+)$/m.exec(r.stdout);
  if (!total) throw new Error(`${what} printed no TOTAL line: ${r.stdout.slice(-200)}`);
  return { inProgramMs: Number(total[1]) * 1000 - LONGEST * 1000, wallMs: r.wallMs - LONGEST * 1000 };
}

async function samples(command: string, args: string[], what: string, env?: NodeJS.ProcessEnv): Promise<Overhead[]> {
  const out: Overhead[] = [];
  // The first run also fills Node's compile cache; the seed's user would run it more than once.
  for (let i = -WARMUP; i < REPS; i++) {
    const s = await sample(command, args, what, env);
    if (i >= 0) out.push(s);
  }
  return out;
}

const section = new Section(
  'seed-download',
  `The seed's \`Process\` program with fixed sleeps of ${SLEEPS.join(' s and ')} s instead of \`randint(5, 10)\`: ` +
    `**total − longest** (${LONGEST} s) is the cost of starting and joining two processes, measured by the program's own clock ` +
    `(as the seed prints it) and from outside (interpreter start and exit included). Median of ${REPS} run(s)` +
    `${WARMUP ? `, after ${WARMUP} warm-up` : ''}. Goals: ≤ ${GOAL_S * 1000} ms in-program, and from outside ≤ ${GOAL_WALL_RATIO}× CPython's.`,
);

progress(`threadkit: ${REPS} run(s) of bench/programs/seed-download.ts`);
const rows: string[][] = [];
let tk: Overhead[] = [];
try {
  tk = await samples(NODE, [`${BENCH_DIR}/programs/seed-download.ts`], 'seed-download.ts');
} catch (err) {
  section.skip('threadkit', (err as Error).message);
}
let cached: Overhead[] = [];
try {
  cached = await samples(NODE, [`${BENCH_DIR}/programs/seed-download.ts`], 'seed-download.ts with NODE_COMPILE_CACHE', COMPILE_CACHE_ENV);
} catch (err) {
  section.skip('threadkit with the compile cache', (err as Error).message);
}
const tkIn = median(tk.map((s) => s.inProgramMs));
const tkWall = median(tk.map((s) => s.wallMs));
const cachedIn = median(cached.map((s) => s.inProgramMs));
const cachedWall = median(cached.map((s) => s.wallMs));
rows.push(['threadkit `Process` (Node ' + process.version + ')', ms(tkIn), ms(tkWall), '', '']);
rows.push(["threadkit, Node's compile cache on (`NODE_COMPILE_CACHE`)", ms(cachedIn), ms(cachedWall), '', '']);
/** CPython's median from outside, once measured. */
let pyWall: number | undefined;
progress(`CPython: ${REPS} run(s) of bench/python/download.py`);
try {
  const py = await samples(pythonExecutable(), [`${BENCH_DIR}/python/download.py`], 'python3 download.py');
  const pyIn = median(py.map((s) => s.inProgramMs));
  pyWall = median(py.map((s) => s.wallMs));
  rows[0]!.splice(3, 2, ratio(tkIn, pyIn), ratio(tkWall, pyWall));
  rows[1]!.splice(3, 2, ratio(cachedIn, pyIn), ratio(cachedWall, pyWall));
  rows.push(['CPython `multiprocessing.Process` (fork)', ms(pyIn), ms(pyWall), '', '']);
} catch (err) {
  section.skip('CPython', (err as Error).message);
}
progress(`raw child_process.fork: ${REPS} run(s) of bench/programs/raw-fork-download.ts`);
try {
  const raw = await samples(NODE, [`${BENCH_DIR}/programs/raw-fork-download.ts`], 'raw-fork-download.ts', COMPILE_CACHE_ENV);
  rows.push([
    "raw `child_process.fork` of a plain `.js` child, compile cache on (Node's floor)",
    ms(median(raw.map((s) => s.inProgramMs))),
    ms(median(raw.map((s) => s.wallMs))),
    '',
    '',
  ]);
} catch (err) {
  section.skip('raw child_process.fork', (err as Error).message);
}
section.table(['', 'total − longest (in-program)', 'total − longest (wall)', 'threadkit ÷ CPython (in-program)', 'threadkit ÷ CPython (wall)'], rows);
section.add(`Goal (threadkit in-program ≤ ${GOAL_S * 1000} ms): ${tkIn <= GOAL_S * 1000 ? 'met' : '**not met**'} (${ms(tkIn)}).`);
if (pyWall !== undefined) {
  const r = tkWall / pyWall;
  section.add(`Goal (threadkit from outside ≤ ${GOAL_WALL_RATIO}× CPython): ${r <= GOAL_WALL_RATIO ? 'met' : '**not met**'} (${r.toFixed(2)}×).`);
}
section.finish();
