/**
 * download, two cases, each served by a local nginx and fetched by `threadkit download` and by
 * wget2, aria2c and curl in the same run:
 * - large: 8 files of random data, 8 at a time; plus undici (`undici.stream`, the client
 *   comparison of issue 12) and two ceilings for reference: HTTP into /dev/null (no disk) and
 *   dd copying the same files with fdatasync (disk only).
 * - small: 1000 files of 1-16 KiB, 16 at a time (connection reuse and file-system calls).
 *
 * Heavy (2 GiB per run at the default size): run.ts runs it only in full mode. Knobs for a
 * smoke test: --download-mib=N (size of each large file), --download-reps=N,
 * --download-small=N (number of small files). Every step has a time limit (--download-step-s, default 120).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { BENCH_DIR, NODE, REPO_DIR, ensureCommand, run, versionOf } from '../lib/exec.ts';
import { startNginx, type Nginx } from '../lib/nginx.ts';
import { Section, parseOptions, progress } from '../lib/report.ts';
import { median, mibPerSecond, ratio, seconds } from '../lib/stats.ts';

const opts = parseOptions();
const FILES = 8;
const MIB = Number(opts.flags.get('download-mib') ?? (opts.quick ? 16 : 256));
const REPS = Number(opts.flags.get('download-reps') ?? (opts.quick ? 1 : 3));
const DATA = `${BENCH_DIR}data`; // git-ignored
const WWW = `${DATA}/www`;
const OUT = `${DATA}/out`;
const names = Array.from({ length: FILES }, (_, i) => `file-${i + 1}.bin`);
const TOTAL_BYTES = FILES * MIB * 2 ** 20;
const SMALL = Number(opts.flags.get('download-small') ?? (opts.quick ? 200 : 1000));
const SMALL_JOBS = 16;
const STEP_MS = Number(opts.flags.get('download-step-s') ?? 120) * 1000;
const smallNames = Array.from({ length: SMALL }, (_, i) => `small/s-${i + 1}.bin`);
const smallSizes = smallNames.map((_, i) => 1024 + ((i * 7919) % (15 * 1024 + 1))); // 1-16 KiB, spread evenly

const section = new Section(
  'download',
  `${FILES} files × ${MIB} MiB of random data (and ${SMALL} files of 1-16 KiB) served by nginx (sendfile) on 127.0.0.1, downloaded ${FILES} (${SMALL_JOBS}) at a time into a fresh folder; each step is limited to ${STEP_MS / 1000} s. ` +
    `Wall time, median of ${REPS}; dirty pages are flushed (untimed \`sync\`) before each run, and the tools run round-robin. ` +
    `Without \`sync\` the files may still sit in the page cache when a tool exits; the “+ sync” row includes writing them out. ` +
    `Ratio: threadkit ÷ peer (below 1× threadkit is faster).`,
);

interface Tool {
  name: string;
  /** argv (program first) for one run into OUT; `list` is a file of the same URLs, one a line. */
  argv: (urls: string[], list: string) => string[];
  /** Whether it leaves the files in OUT (checked after each run). */
  writes: boolean;
  /** A command-line peer and its Debian package. */
  needs?: [command: string, pkg: string];
  threadkit?: boolean;
}

const threadkitArgv = (urls: string[], extra: string[] = []) => [
  NODE,
  `${REPO_DIR}bin/threadkit.js`,
  'download',
  '-j',
  String(FILES),
  '-q',
  '-o',
  OUT,
  ...extra,
  ...urls,
];
const tools: Tool[] = [
  { name: '`threadkit download -j 8`', argv: (u) => threadkitArgv(u), writes: true, threadkit: true },
  { name: '`threadkit download -j 8 --workers inline`', argv: (u) => threadkitArgv(u, ['--workers', 'inline']), writes: true, threadkit: true },
  { name: '`threadkit download -j 8 --workers thread`', argv: (u) => threadkitArgv(u, ['--workers', 'thread']), writes: true, threadkit: true },
  { name: '`threadkit download -j 8 --workers process`', argv: (u) => threadkitArgv(u, ['--workers', 'process']), writes: true, threadkit: true },
  // sh runs the command and then sync, so the time includes writing the data out to disk.
  { name: '`threadkit download -j 8` + `sync`', argv: (u) => ['sh', '-c', '"$@" && sync', 'sh', ...threadkitArgv(u)], writes: true, threadkit: true },
  // The client comparison of issue 12: Node's own HTTP engine, same write pattern, no resume logic.
  {
    name: 'undici.stream → fs.WriteStream (programs/undici-download.ts)',
    argv: (u) => [NODE, `${BENCH_DIR}programs/undici-download.ts`, OUT, String(FILES), ...u],
    writes: true,
  },
  { name: '`wget2 --max-threads=8`', argv: (u) => ['wget2', '--no-config', '-q', '--max-threads=8', '-P', OUT, ...u], writes: true, needs: ['wget2', 'wget2'] },
  // -Z: each URL is its own file (without it aria2 takes them as mirrors of one file).
  // --file-allocation=none: aria2's default "prealloc" writes every file twice (zeros first).
  {
    name: '`aria2c -j 8 -x 1`',
    argv: (u) => ['aria2c', '-q', '-Z', '-j', '8', '-x', '1', '--file-allocation=none', '-d', OUT, ...u],
    writes: true,
    needs: ['aria2c', 'aria2'],
  },
  {
    name: '`curl --parallel --parallel-max 8`',
    argv: (u) => ['curl', '-sS', '--fail', '--parallel', '--parallel-max', '8', '--output-dir', OUT, '--remote-name-all', ...u],
    writes: true,
    needs: ['curl', 'curl'],
  },
  {
    name: 'reference: `curl --parallel` → /dev/null (HTTP only)',
    argv: (u) => ['curl', '-sS', '--fail', '--parallel', '--parallel-max', '8', ...u.flatMap((x) => ['-o', '/dev/null', x])],
    writes: false,
    needs: ['curl', 'curl'],
  },
  // The disk's ceiling for this much data: 8 parallel copies from the page cache, each fdatasync'ed.
  {
    name: 'reference: 8 × `dd conv=fdatasync` (disk only)',
    argv: () => ['sh', '-c', names.map((n) => `dd if=${WWW}/${n} of=${OUT}/${n} bs=1M conv=fdatasync status=none &`).join(' ') + ' wait'],
    writes: true,
  },
];

const tkSmall = (list: string) => [NODE, `${REPO_DIR}bin/threadkit.js`, 'download', '-j', String(SMALL_JOBS), '-q', '-o', OUT, '-i', list];
const smallTools: Tool[] = [
  { name: `\`threadkit download -j ${SMALL_JOBS}\``, argv: (_u, list) => tkSmall(list), writes: true, threadkit: true },
  {
    name: `\`threadkit download -j ${SMALL_JOBS} --workers thread\``,
    argv: (_u, list) => [...tkSmall(list), '--workers', 'thread'],
    writes: true,
    threadkit: true,
  },
  {
    name: `\`wget2 --max-threads=${SMALL_JOBS}\``,
    argv: (_u, list) => ['wget2', '--no-config', '-q', `--max-threads=${SMALL_JOBS}`, '-P', OUT, '-i', list],
    writes: true,
    needs: ['wget2', 'wget2'],
  },
  {
    name: `\`aria2c -j ${SMALL_JOBS}\``,
    argv: (_u, list) => ['aria2c', '-q', '-j', String(SMALL_JOBS), '--file-allocation=none', '-d', OUT, '-i', list],
    writes: true,
    needs: ['aria2c', 'aria2'],
  },
  {
    name: `\`curl --parallel --parallel-max ${SMALL_JOBS}\``,
    argv: (u) => ['curl', '-sS', '--fail', '--parallel', '--parallel-max', String(SMALL_JOBS), '--output-dir', OUT, '--remote-name-all', ...u],
    writes: true,
    needs: ['curl', 'curl'],
  },
];

function prepare(): void {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(WWW, { recursive: true });
  progress(`writing ${FILES} × ${MIB} MiB of random data to ${WWW}`);
  for (const n of names) {
    const r = spawnSync('dd', ['if=/dev/urandom', `of=${WWW}/${n}`, 'bs=1M', `count=${MIB}`, 'status=none']);
    if (r.status !== 0) throw new Error(`dd failed: ${r.stderr}`);
  }
  mkdirSync(`${WWW}/small`);
  for (const [i, n] of smallNames.entries()) writeFileSync(`${WWW}/${n}`, randomBytes(smallSizes[i]!));
  spawnSync('sync');
}

/** Every small file is there with its size, or why not. */
function verifySmall(): string | undefined {
  for (let i = 0; i < SMALL; i++) {
    const n = smallNames[i]!.slice('small/'.length);
    const size = statSync(`${OUT}/${n}`, { throwIfNoEntry: false })?.size;
    if (size !== smallSizes[i]) return `${n} has ${size ?? 'no'} bytes, expected ${smallSizes[i]}`;
  }
  return undefined;
}

/** Every file is there with its full size, or why not. */
function verify(): string | undefined {
  for (const n of names) {
    try {
      const size = statSync(`${OUT}/${n}`).size;
      if (size !== MIB * 2 ** 20) return `${n} has ${size} bytes, expected ${MIB * 2 ** 20}`;
    } catch {
      return `${n} is missing`;
    }
  }
  return undefined;
}

async function once(tool: Tool, urls: string[], check: () => string | undefined): Promise<number> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  spawnSync('sync'); // the previous run's dirty pages are not this run's business
  const [command, ...args] = tool.argv(urls, `${DATA}/urls.txt`);
  writeFileSync(`${DATA}/urls.txt`, `${urls.join('\n')}\n`);
  const r = await run(command!, args, { timeoutMs: STEP_MS });
  if (r.code !== 0) throw new Error(`exited with ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  const bad = tool.writes ? check() : undefined;
  if (bad) throw new Error(bad);
  return r.wallMs / 1000;
}

const missing = ensureCommand('nginx', 'nginx-light');
if (missing) {
  section.skip('the whole suite', `no web server: ${missing}`);
  section.print();
  process.exit(0);
}
const usable = (list: Tool[]) =>
  list.filter((tool) => {
    const why = tool.needs && ensureCommand(...tool.needs);
    if (why) section.skip(tool.name, why);
    return !why;
  });
const cases = [
  { title: `${FILES} × ${MIB} MiB, -j ${FILES}`, tools: usable(tools), urls: () => names.map((n) => nginx!.baseUrl + n), check: verify, bytes: TOTAL_BYTES },
  {
    title: `${SMALL} files of 1-16 KiB, -j ${SMALL_JOBS}`,
    tools: usable(smallTools),
    urls: () => smallNames.map((n) => nginx!.baseUrl + n),
    check: verifySmall,
    bytes: smallSizes.reduce((a, b) => a + b, 0),
  },
];

let nginx: Nginx | undefined;
// Stopped by run.ts (time-out, Ctrl-C): leave no server and no gigabytes behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void nginx?.stop();
    rmSync(DATA, { recursive: true, force: true });
    process.exit(130);
  });
}
const times = new Map<Tool, number[]>();
const failed = new Map<Tool, string>();
try {
  prepare();
  nginx = await startNginx(WWW, `${DATA}/nginx`, names[0]!);
  for (const c of cases) {
    const urls = c.urls();
    for (let rep = 0; rep < REPS; rep++) {
      for (const tool of c.tools) {
        if (failed.has(tool)) continue;
        progress(`${c.title}, run ${rep + 1}/${REPS}: ${tool.name}`);
        try {
          const s = await once(tool, urls, c.check);
          times.set(tool, [...(times.get(tool) ?? []), s]);
        } catch (err) {
          failed.set(tool, (err as Error).message);
        }
      }
    }
  }
} finally {
  await nginx?.stop();
  rmSync(DATA, { recursive: true, force: true });
}

for (const [tool, why] of failed) section.skip(tool.name, why);
for (const c of cases) {
  const base = times.get(c.tools[0]!);
  const rows = c.tools
    .filter((t) => times.has(t) && !failed.has(t))
    .map((t) => {
      const m = median(times.get(t)!);
      return [t.name, seconds(m), mibPerSecond(c.bytes, m), t === c.tools[0] || !base ? '' : ratio(median(base), m)];
    });
  section.add(`**${c.title}**`);
  section.table(['', 'wall time', 'throughput', 'threadkit ÷ peer'], rows);
}
section.add(
  `Versions: nginx ${versionOf('nginx', ['-v']).replace(/^nginx version: nginx\//, '')}, ${versionOf('wget2').replace(/ - .*/, '')}, ${versionOf('aria2c')}, ${versionOf('curl').split(' (')[0]}.`,
);
section.print();
