/** The machine and software a result was measured on, for the report's header. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem, release, platform } from 'node:os';
import { spawnSync } from 'node:child_process';
import { BENCH_DIR, REPO_DIR, pythonExecutable, versionOf } from './exec.ts';

const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier', 'async-mutex', 'await-lock', 'async-lock'];

function peerVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(`${BENCH_DIR}/node_modules/${name}/package.json`, 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function pythonVersion(): string {
  try {
    const exe = pythonExecutable();
    return `${versionOf(exe)} (${exe})`;
  } catch {
    return 'not installed';
  }
}

function gitHead(): string {
  const r = spawnSync('git', ['-C', REPO_DIR, 'log', '-1', '--format=%h %cs'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', REPO_DIR, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout.trim();
  return r.status === 0 ? `${r.stdout.trim()}${dirty ? ' (with uncommitted changes)' : ''}` : 'unknown';
}

export function describeMachine(mode: string): string {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  const [l1, l5] = loadavg();
  const lines = [
    `- **Date:** ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    `- **Mode:** ${mode}`,
    `- **Machine:** ${availableParallelism()} cores, ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${platform()} ${release()}`,
    `- **Load average at start:** ${l1!.toFixed(2)} (1 min), ${l5!.toFixed(2)} (5 min) — a load near the core count means noisy numbers`,
    `- **Node:** ${process.version}; **Python:** ${pythonVersion()}`,
    `- **threadkit:** ${gitHead()}`,
    `- **Peers:** ${PEERS.map((p) => `${p} ${peerVersion(p)}`).join(', ')}`,
  ];
  return lines.join('\n');
}
