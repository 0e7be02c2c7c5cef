/**
 * How long naming a target takes in the parent: the first `describeTarget` of a function (V8's
 * definition site through node:inspector, then the export that is that function) and a later one
 * (a WeakMap hit), and `start()` of a warm Thread and Process. Each figure has a time limit.
 *
 *   node bench/targets-resolve.ts      (after `npm run build`)
 */
import { Process, Thread } from '../dist/index.js';
import { describeTarget } from '../dist/internal/for-tests.js';
import * as targets from './targets.ts';

const LIMIT_MS = 60_000;
const deadline = setTimeout(() => {
  console.error(`targets-resolve: over ${LIMIT_MS} ms, stopped`);
  process.exit(1);
}, LIMIT_MS);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

// The first resolution of each distinct exported function (the first also opens the inspector session).
const fns = (Object.values(targets) as unknown[]).filter((v): v is Function => typeof v === 'function');
const first: number[] = [];
for (const fn of fns) {
  const t0 = performance.now();
  describeTarget(fn);
  first.push(performance.now() - t0);
}
const cached: number[] = [];
for (let i = 0; i < 10_000; i++) {
  const t0 = performance.now();
  describeTarget(fns[i % fns.length]!);
  cached.push(performance.now() - t0);
}
console.log(`describeTarget, first of all (opens the inspector session): ${us(first[0]!)}`);
console.log(
  `describeTarget, first for each other function (median of ${first.length - 1}): ${us(median(first.slice(1)))}; max ${us(Math.max(...first.slice(1)))}`,
);
console.log(`describeTarget, cached (median of ${cached.length}): ${us(median(cached))}`);

for (const Kind of [Thread, Process]) {
  const starts: number[] = [];
  for (let i = 0; i < 12; i++) {
    const r = new Kind({ target: targets.stamp });
    const t0 = performance.now();
    r.start();
    starts.push(performance.now() - t0);
    await r.join();
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the next spare boot
  }
  console.log(`warm ${Kind.name} start() (median of the last 10): ${(median(starts.slice(2))).toFixed(3)} ms`);
}
clearTimeout(deadline);
