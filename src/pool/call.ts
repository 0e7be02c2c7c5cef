/**
 * How a call crosses to a pool worker: the function as a TargetRef (as for Process/Thread
 * targets: the export that is that very function), the arguments through the codec — or, when they are all primitives
 * (the common case for tiny tasks), as they are, skipping the codec's walk and allocations.
 */
import { InvalidArgumentError } from '../errors.ts';
import { encode, type Destination } from '../internal/codec.ts';
import { describeTarget, type TargetRef } from '../internal/target.ts';
import { Mode } from './worker-messages.ts';

export type AnyFunction = (...args: any[]) => unknown;

/** The export that is `fn` (`describeTarget` caches it: repeated submits cost a WeakMap lookup). */
export function resolveTarget(fn: unknown): TargetRef {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected an exported function to run, got ${fn === null ? 'null' : typeof fn}.`);
  return describeTarget(fn, 'function');
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol');
}

/** True when every value (or, at `depth` 2, every value of every array) is a primitive. */
function flat(values: readonly unknown[], depth: number): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isPrimitive(v)) continue;
    if (depth > 1 && Array.isArray(v) && flat(v, depth - 1)) continue;
    return false;
  }
  return true;
}

/**
 * Encodes a task's payload for `mode` (the result's `mode` gets `Mode.ENCODED` when it went through
 * the codec). Returned through `encoded` rather than as a pair: no tuple per tiny task.
 */
export function encodePayload(mode: number, payload: unknown[], dest: Destination): unknown {
  if (mode === Mode.CALL && payload.length === 1 && isPrimitive(payload[0])) {
    encoded.mode = Mode.CALL | Mode.ONE;
    return payload[0];
  }
  if (flat(payload, mode === Mode.STARMAP ? 2 : 1)) {
    encoded.mode = mode;
    return payload;
  }
  encoded.mode = mode | Mode.ENCODED;
  return encode(payload, mode === Mode.CALL ? 'args' : 'items', dest);
}

/** The mode of the last `encodePayload`. */
export const encoded = { mode: 0 };

export function checkCount(value: unknown, what: string, min: number, allowInfinity = false): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || (!Number.isInteger(value) && !(allowInfinity && value === Infinity))) {
    throw new InvalidArgumentError(
      `Expected \`${what}\` to be an integer from ${min} up${allowInfinity ? ' (or Infinity)' : ''}, got \`${String(value)}\` (${typeof value}).`,
    );
  }
  return value;
}

/**
 * Checks a duration option (`idleTimeoutMs`, `cancelGraceMs`, a task's `timeoutMs` limit): a number
 * of milliseconds from 0 up, or `Infinity`. Not a wait's `timeoutMs` (that rule is
 * src/internal/timeout.ts, where `-1` means forever).
 */
export function checkDuration(value: unknown, what: string): number {
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new InvalidArgumentError(`Expected \`${what}\` to be a number of milliseconds from 0 up, got \`${String(value)}\` (${typeof value}).`);
  }
  return value;
}
