// Which deposits the bank's timeline marks as lost, and which write overwrote each: always as
// many as the bank counts (deposits minus balance), whatever the interleaving.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { lostUpdates } from '../../dist/cli/bank/timeline.js';

type W = { at: number; readAt: number; read: number; balance: number };

it('the seed: all read 0, all write 1 — every deposit but the last is lost, each to the next write', () => {
  const writes: W[] = [0, 1, 2, 3].map((i) => ({ readAt: i, at: 10 + i, read: 0, balance: 1 }));
  assert.deepEqual(lostUpdates(writes), [
    { lost: 0, by: 1 },
    { lost: 1, by: 2 },
    { lost: 2, by: 3 },
  ]);
});

it('a stale write that lands last erases every deposit written since its read', () => {
  // B reads 0, A 0→1, C 1→2, then B writes 1 over C's 2: A's and C's deposits are both gone.
  const writes: W[] = [
    { readAt: 0, at: 2, read: 0, balance: 1 }, // A
    { readAt: 1, at: 6, read: 0, balance: 1 }, // B
    { readAt: 3, at: 4, read: 1, balance: 2 }, // C
  ];
  assert.deepEqual(lostUpdates(writes), [
    { lost: 0, by: 1 },
    { lost: 2, by: 1 },
  ]);
});

it('locked deposits, one after another, lose nothing', () => {
  const writes: W[] = [0, 1, 2].map((i) => ({ readAt: 10 * i, at: 10 * i + 5, read: i, balance: i + 1 }));
  assert.deepEqual(lostUpdates(writes), []);
});

it('for random interleavings of read-sleep-write deposits, the lost count is deposits minus balance', () => {
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let run = 0; run < 500; run++) {
    const n = 1 + rand(30);
    // Each deposit reads at one moment and writes at a later one; replay them on one balance.
    const deposits = Array.from({ length: n }, (_, i) => {
      const readAt = rand(1000) * 2;
      return { i, readAt, at: readAt + (rand(1000) + 1) * 2 + 1 };
    });
    const moments = deposits
      .flatMap((d) => [
        { t: d.readAt, d, kind: 'read' as const },
        { t: d.at, d, kind: 'write' as const },
      ])
      .sort((x, y) => x.t - y.t || x.d.i - y.d.i);
    let balance = 0;
    const read = new Map<number, number>();
    const writes: W[] = [];
    for (const m of moments) {
      if (m.kind === 'read') read.set(m.d.i, balance);
      else writes.push({ readAt: m.d.readAt, at: m.d.at, read: read.get(m.d.i)!, balance: (balance = read.get(m.d.i)! + 1) });
    }
    const lost = lostUpdates(writes);
    assert.equal(lost.length, n - balance, `run ${run}: ${JSON.stringify(writes)}`);
    for (const { lost: p, by } of lost) assert.ok(writes[by]!.at >= writes[p]!.at, 'overwritten by a later write');
  }
});
