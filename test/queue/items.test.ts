// Items cross a queue exactly as the structured-clone algorithm (postMessage) copies them; what it
// would change silently (a class instance) is refused.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pipe, Queue } from 'threadkit';

const T = { timeout: 10_000 };

async function roundTrip<T>(item: T): Promise<T> {
  const q = new Queue<T>();
  await q.put(item);
  return q.get({ timeoutMs: 1_000 });
}

class Point {
  x: number;
  y: number;
  constructor(x: number, y: number) {
    this.x = x;
    this.y = y;
  }
}

describe('Queue items', () => {
  const cases: [string, unknown][] = [
    ['numbers, including -0, NaN and infinities', [0, -0, NaN, Infinity, -Infinity, 1.5e300, 2 ** 53]],
    ['strings: empty, non-ASCII, long, and with a lone surrogate', ['', 'naïve ✓ 😀', 'ü'.repeat(5_000), 'a\ud800b']],
    ['a lone-surrogate string on its own', '\udc00'],
    ['a long multi-byte string on its own', '✓'.repeat(10_000)],
    ['booleans, null and undefined', [true, false, null, undefined]],
    ['bigints', [0n, -(2n ** 100n)]],
    ['Map, Set, Date and RegExp', { m: new Map<unknown, unknown>([[{ k: 1 }, 'v']]), s: new Set([1, 'a']), d: new Date(1_700_000_000_000), r: /a+b/gi }],
    // biome-ignore lint/suspicious/noSparseArray: the hole is what this case checks
    ['sparse arrays', [1, , 3]],
    ['an error', new RangeError('out of range')],
    [
      "Node's own error (a RangeError of node:internal/errors)",
      (() => {
        try {
          Buffer.alloc(1).readUInt8(5);
        } catch (err) {
          return err;
        }
      })(),
    ],
    ...(typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function'
      ? [['a Float16Array', new (globalThis as unknown as { Float16Array: new (a: number[]) => unknown }).Float16Array([1.5, -2])] as [string, unknown]]
      : []),
    ['plain data', { id: 7, name: 'item', tags: ['a', 'b'], nested: { ok: true, none: null, n: [1.5, -2, 1e21] }, '1': 'integer key' }],
    ['plain data holding -0, NaN, undefined and Dates', { a: -0, b: [NaN], c: undefined, d: [new Date(0)], e: { f: 1n } }],
    ['an array with a named property', Object.assign([1, 2], { extra: 'x' })],
    [
      'an object without a prototype, and one with an own "__proto__" key',
      [Object.assign(Object.create(null), { a: 1 }), JSON.parse('{"__proto__": {"x": 1}}')],
    ],
    ['a long array and deeply nested objects', { list: Array.from({ length: 1_000 }, (_, i) => i), deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) }],
    ['an ArrayBuffer', new Uint8Array([1, 2, 3]).buffer],
  ];
  for (const [what, item] of cases) {
    it(`${what} arrive as structuredClone makes them`, T, async () => {
      assert.deepStrictEqual(await roundTrip(item), structuredClone(item));
    });
  }

  for (const item of [true, false, null, undefined, 0, -0, 42, 'x']) {
    it(`the primitive ${Object.is(item, -0) ? '-0' : (JSON.stringify(item) ?? 'undefined')} arrives as itself`, T, async () => {
      assert.ok(Object.is(await roundTrip(item), item));
    });
  }

  it('typed arrays, DataViews and Buffers arrive with a buffer of their own size', T, async () => {
    const got = await roundTrip({
      f64: new Float64Array([1.5, -2]),
      u8: new Uint8Array([7, 8, 9]),
      i16: new Int16Array([-1, 2, 3]),
      view: new DataView(new Uint8Array([1, 2]).buffer),
      buf: Buffer.from('hi'),
    });
    assert.deepEqual([...got.f64], [1.5, -2]);
    assert.deepEqual([...got.i16], [-1, 2, 3]);
    assert.equal(got.view.getUint8(1), 2);
    assert.ok(Buffer.isBuffer(got.buf));
    assert.equal(got.buf.toString(), 'hi');
    for (const v of [got.f64, got.u8, got.i16, got.view, got.buf]) {
      assert.equal(v.byteOffset, 0);
      assert.equal(v.buffer.byteLength, v.byteLength);
    }
  });

  it('cycles and shared references keep their shape', T, async () => {
    const shared = { n: 1 };
    const item: Record<string, unknown> = { a: shared, b: shared };
    item.self = item;
    const got = (await roundTrip(item)) as typeof item;
    assert.equal(got.a, got.b);
    assert.equal(got.self, got);
  });

  it('each property is read once, even by a getter', T, async () => {
    let reads = 0;
    const item = {
      get counted() {
        return ++reads;
      },
    };
    assert.deepEqual(await roundTrip(item), { counted: 1 });
    assert.equal(reads, 1);
  });

  // Structured clone would copy the fields into a plain object, silently dropping the class; an
  // item is data, so a class instance anywhere in it is refused, naming where it sits. Nothing is
  // put, and the queue goes on.
  for (const [what, item, path] of [
    ['a class instance', new Point(3, 4), /item is an instance of Point/],
    ['a class instance deep inside', { list: [1, { at: new Point(3, 4) }] }, /item\.list\[1\]\.at is an instance of Point/],
    ['a class instance in a Map', new Map([['p', new Point(3, 4)]]), /item\.get\(p\) is an instance of Point/],
    ['an Error subclass of the program', new (class NotFound extends Error {})('gone'), /item is an instance of NotFound, which would arrive as a plain Error/],
  ] as const) {
    it(`${what} is refused with NotCloneableError; nothing is put and the queue goes on`, T, async () => {
      const q = new Queue<unknown>();
      await assert.rejects(
        q.put(item),
        (err: Error & { code?: string }) => err.code === 'TK_NOT_CLONEABLE' && path.test(err.message) && /plain object|args/.test(err.message),
      );
      assert.throws(() => q.putNowait(item), { code: 'TK_NOT_CLONEABLE' });
      assert.equal(q.qsize(), 0);
      await q.put({ x: 3, y: 4 });
      assert.deepEqual(await q.get({ timeoutMs: 1_000 }), { x: 3, y: 4 });
    });
  }

  it('a Pipe refuses a class instance as a queue does, and carries the next message', T, async () => {
    const [a, b] = Pipe();
    await assert.rejects(a.send(new Point(3, 4)), { code: 'TK_NOT_CLONEABLE', message: /is an instance of Point/ });
    await a.send({ x: 3, y: 4 });
    assert.deepEqual(await b.recv({ timeoutMs: 1_000 }), { x: 3, y: 4 });
    a.close();
    b.close();
  });
});
