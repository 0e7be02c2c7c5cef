/**
 * What `Queue` and `Connection` share: turning an item into a record and back, and driving a
 * ring's waits the three ways the public methods need (async, blocking, not at all).
 */
import { InvalidArgumentError } from '../errors.ts';
import { deadlineFor, mustNotBlock, runAsync, runSync, startWait, type SyncWaitOptions, type WaitOptions } from '../sync/park.ts';
import { decodeItem, encodeItem } from './item-codec.ts';
import { recordBytes, Ring, type PopResult, type PushResult } from './ring.ts';

/** Default `capacityBytes`: 4 MiB of shared memory per ring (pages are only touched as used). */
export const DEFAULT_CAPACITY_BYTES = 4 * 1024 * 1024;
const MAX_CAPACITY_BYTES = 1024 * 1024 * 1024;
const MIN_CAPACITY_BYTES = 16;

/** Validates `capacityBytes`; returns it rounded up to a multiple of 8. */
export function capacityOption(value: unknown, what: string): number {
  if (value === undefined) return DEFAULT_CAPACITY_BYTES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_CAPACITY_BYTES || value > MAX_CAPACITY_BYTES) {
    throw new InvalidArgumentError(
      `${what}: expected \`capacityBytes\` to be an integer from ${MIN_CAPACITY_BYTES} to ${MAX_CAPACITY_BYTES} (1 GiB), got \`${String(value)}\` (${typeof value})`,
    );
  }
  return (value + 7) & ~7;
}

/** Encodes `item` and checks that it can ever fit in `ring`. */
export function encodeFor(ring: Ring, item: unknown, what: string): Uint8Array {
  const bytes = encodeItem(item, what);
  const rec = recordBytes(bytes.length);
  if (rec > ring.capacity) {
    throw new InvalidArgumentError(
      `${what}: the item takes ${rec} bytes (${bytes.length} serialized + 4), more than the whole ring holds: \`capacityBytes\` is ${ring.capacity}. ` +
        'Create the queue or pipe with a larger `capacityBytes`, or send the item in parts.',
    );
  }
  return bytes;
}

export const decode = decodeItem;

/** An async push: waits for room until the options' deadline. Rejects with the signal's reason on abort. */
export function pushAsync(ring: Ring, item: unknown, options: WaitOptions | undefined, what: string): Promise<PushResult> {
  try {
    const deadline = startWait(options, what);
    const bytes = encodeFor(ring, item, what);
    return runAsync(ring.push(bytes, deadline), deadline, options?.signal);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** A blocking push; on the main thread it only tries (see `blocked`). */
export function pushSync(ring: Ring, item: unknown, options: SyncWaitOptions | undefined, what: string): PushResult | 'would-block' {
  const deadline = deadlineFor(options?.timeoutMs, what);
  const bytes = encodeFor(ring, item, what);
  if (mustNotBlock(what)) {
    const r = runSync(ring.push(bytes, -Infinity), Infinity);
    return r === 'full' && options?.timeoutMs !== 0 ? 'would-block' : r;
  }
  return runSync(ring.push(bytes, deadline), deadline);
}

/** Pushes only if there is room now. */
export function pushNow(ring: Ring, item: unknown, what: string): PushResult {
  return runSync(ring.push(encodeFor(ring, item, what), -Infinity), Infinity);
}

export async function popAsync(ring: Ring, options: WaitOptions | undefined, what: string): Promise<PopResult> {
  const deadline = startWait(options, what);
  return runAsync(ring.pop(deadline), deadline, options?.signal);
}

export function popSync(ring: Ring, options: SyncWaitOptions | undefined, what: string): PopResult | 'would-block' {
  const deadline = deadlineFor(options?.timeoutMs, what);
  if (mustNotBlock(what)) {
    const r = runSync(ring.pop(-Infinity), Infinity);
    return r === 'empty' && options?.timeoutMs !== 0 ? 'would-block' : r;
  }
  return runSync(ring.pop(deadline), deadline);
}

export function popNow(ring: Ring): PopResult {
  return runSync(ring.pop(-Infinity), Infinity);
}

/** The error a `…Sync` method throws on the main thread where it would have to wait. */
export function wouldBlock(what: string): Error {
  return mustNotBlock(what)!;
}
