// describeTarget and loadTarget, the internal API that names a target for another thread,
// process or machine: what they say for every shape of export, collisions first.
import '../helpers/watchdog.ts';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { TargetNotFoundError } from 'threadkit';
import { describeTarget, loadTarget } from '../../dist/internal/for-tests.js';
import { Config as ConfigA, task as taskA } from '../fixtures/targets/collide-a.ts';
import { Config as ConfigB, task as taskB } from '../fixtures/targets/collide-b.ts';
import plusOne, { Greeter, arrow, named, renamed } from '../fixtures/targets/shapes.ts';
import { again } from '../fixtures/targets/reexport.ts';
import { localTask, makeFormat } from '../fixtures/targets/closures.ts';

const require = createRequire(import.meta.url);
const cjs = require('../fixtures/targets/cjs-target.cjs') as { triple: Function };
const whole = require('../fixtures/targets/whole.cjs') as Function;

const fixture = (name: string) => new URL(`../fixtures/targets/${name}`, import.meta.url).href;

describe('describeTarget', () => {
  it('tells two same-name exports of two modules apart, and same-name classes', () => {
    const a = describeTarget(taskA);
    const b = describeTarget(taskB);
    assert.equal(a.url, fixture('collide-a.ts'));
    assert.equal(b.url, fixture('collide-b.ts'));
    assert.equal(a.exportName, 'task');
    assert.equal(b.exportName, 'task');
    assert.equal(describeTarget(ConfigA, 'class').url, fixture('collide-a.ts'));
    assert.equal(describeTarget(ConfigB, 'class').url, fixture('collide-b.ts'));
  });

  it('names default, renamed, `function inner` and arrow exports by their export name', () => {
    assert.equal(describeTarget(plusOne).exportName, 'default');
    assert.equal(describeTarget(named).exportName, 'named');
    assert.equal(describeTarget(named).name, 'inner');
    assert.equal(describeTarget(arrow).exportName, 'arrow');
    assert.equal(describeTarget(renamed).exportName, 'renamed');
    assert.equal(describeTarget(Greeter, 'class').exportName, 'Greeter');
  });

  it('names a re-exported function by the module that defines it', () => {
    assert.equal(again, taskB);
    assert.equal(describeTarget(again).url, fixture('collide-b.ts'));
  });

  it('names CommonJS exports, and a module that is the function', () => {
    assert.deepEqual(
      { ...describeTarget(cjs.triple), line: 0, column: 0, source: '' },
      { url: fixture('cjs-target.cjs'), format: 'commonjs', exportName: 'triple', name: 'triple', kind: 'function', line: 0, column: 0, source: '' },
    );
    assert.equal(describeTarget(whole).exportName, 'module.exports');
  });

  it('carries a hash of the definition source, different for two bodies', () => {
    const { source } = describeTarget(cjs.triple);
    assert.match(String(source), /^[0-9a-z]+\.[0-9a-z]+$/);
    assert.notEqual(describeTarget(whole).source, source);
  });

  it('gives a JSON-safe ref, the same object on later calls', () => {
    const ref = describeTarget(taskB);
    assert.deepEqual(JSON.parse(JSON.stringify(ref)), ref);
    assert.equal(describeTarget(taskB), ref);
  });

  it('refuses a method of an exported class, a closure and a local function, naming their module', () => {
    const names = (e: unknown) => e instanceof TargetNotFoundError && /is not exported/.test(e.message);
    assert.throws(
      () => describeTarget(Greeter.prototype.greet),
      (e: unknown) => names(e) && /shapes\.ts/.test((e as Error).message),
    );
    assert.throws(
      () => describeTarget(makeFormat()),
      (e: unknown) => names(e) && /closures\.ts/.test((e as Error).message),
    );
    assert.throws(
      () => describeTarget(localTask()),
      (e: unknown) => names(e) && /closures\.ts/.test((e as Error).message),
    );
  });

  it('refuses a function declared in a test file, saying to move it', () => {
    const inHere = () => 1;
    assert.throws(
      () => describeTarget(inHere),
      (e: unknown) => e instanceof TargetNotFoundError && /test file/.test(e.message) && /module of its own/.test(e.message),
    );
  });
});

describe('loadTarget', () => {
  it('returns the very function described (this thread imports the same module)', async () => {
    assert.equal(await loadTarget(describeTarget(taskB)), taskB);
    assert.equal(await loadTarget(describeTarget(cjs.triple)), cjs.triple);
    assert.equal(await loadTarget(describeTarget(ConfigA, 'class')), ConfigA);
  });

  it('refuses an export that is not the same definition', async () => {
    const ref = { ...describeTarget(taskB), line: describeTarget(taskB).line + 1 };
    await assert.rejects(loadTarget(ref), (e: unknown) => e instanceof TargetNotFoundError && /not the function the parent passed/.test(e.message));
    const other = { ...describeTarget(taskB), url: fixture('collide-a.ts') };
    await assert.rejects(loadTarget(other), TargetNotFoundError);
  });
});
