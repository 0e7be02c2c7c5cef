// Under vitest, the test's copy of a module is vitest's own, not the one Node's import() gives:
// an instance or an error of the module's class that comes back from a Process or a Thread
// must be of the test's copy of the class (instanceof holds), found through the target passed
// from that module. It used to come back as Node's copy (instanceof false) or, with threadkit
// linked into the project, not at all ("the class is not exported", exit code 0).
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { BIN, project, removeProjects, runIn } from './projects.ts';

after(removeProjects);

const SHAPES = `
export class Point {
  x: number;
  y: number;
  constructor(x: number, y: number) { this.x = x; this.y = y; }
  norm(): number { return Math.hypot(this.x, this.y); }
}
export class Boom extends Error {
  constructor(message: string) { super(message); this.name = 'Boom'; }
}
export function makePoint(x: number): Point { return new Point(x, x); }
export function normOf(p: Point): number { return p.norm(); }
export function throwBoom(message: string): never { throw new Boom(message); }
`;

const TEST = `
import { expect, test } from 'vitest';
import { Process, Thread } from 'threadkit';
import { Boom, Point, makePoint, normOf, throwBoom } from './shapes.ts';

for (const Kind of [Process, Thread]) {
  test('a result keeps its class in a ' + Kind.name, async () => {
    const r = new Kind({ target: makePoint, args: [2] });
    r.start();
    await r.join();
    expect(r.error).toBeUndefined();
    expect(r.result).toBeInstanceOf(Point);
    expect((r.result as Point).norm()).toBeCloseTo(Math.hypot(2, 2));
  });
  test('an argument keeps its class in a ' + Kind.name, async () => {
    const r = new Kind({ target: normOf, args: [new Point(3, 4)] });
    r.start();
    await r.join();
    expect(r.result).toBe(5);
  });
  test('a thrown error keeps its class in a ' + Kind.name, async () => {
    const r = new Kind({ target: throwBoom, args: ['b'] });
    r.start();
    await r.join();
    expect(r.error).toBeInstanceOf(Boom);
    expect((r.error as Error).message).toBe('b');
  });
}
`;

it('vitest: results, arguments and errors of a module’s classes keep their class in a Process and a Thread', async () => {
  const dir = project({ 'shapes.ts': SHAPES, 'classes.test.ts': TEST }, ['vitest']);
  const r = await runIn(dir, process.execPath, [join(BIN, 'vitest'), 'run', '--root', dir, '--reporter=json'], { CI: 'true' });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json?.numPassedTests, 6, r.stdout);
});
