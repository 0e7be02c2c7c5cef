/**
 * What `Queue` and `Connection` share: turning an item into a record and back, and driving a
 * ring's waits the three ways the public methods need (async, blocking, not at all).
 *
 * Every path first tries without waiting (`tryPush`/`tryPop`: no generator, no promise, no
 * allocation for primitives); only a wait builds the wait loop.
 */
import { InvalidArgumentError } from '../errors.ts';
import { checkMayBlock, deadlineFor, now, runAsync, runSync, startWait, type SyncWaitOptions, type WaitOptions } from '../internal/park.ts';
import { decodeItem, encodeItem, stable } from './item-codec.ts';
import { recordBytes, type Ring, type PopResult, type PushResult } from './ring.ts';

/** Default `capacityBytes`: 4 MiB of shared memory per ring (pages are only touched as used). */
export const DEFAULT_CAPACITY_BYTES = 4 * 1024 * 1024;
const MAX_CAPACITY_BYTES = 1024 * 1024 * 1024;
const MIN_CAPACITY_BYTES = 16;

/** A pop's outcome, the item decoded. */
export type Popped = { item: unknown } | 'empty' | 'closed';

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
function encodeFor(ring: Ring, item: unknown, what: string): Uint8Array {
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

function decoded(r: PopResult): Popped {
  return typeof r === 'string' ? r : { item: decodeItem(r) };
}

/**
 * An async push: at once when there is room, else a promise that waits for room until the
 * options' deadline and rejects with the signal's reason on abort.
 */
export function pushAsync(ring: Ring, item: unknown, options: WaitOptions | undefined, what: string): PushResult | Promise<PushResult> {
  const deadline = startWait(options, what);
  const bytes = encodeFor(ring, item, what);
  const r = ring.tryPush(bytes);
  if (r !== 'full' || now() >= deadline) return r;
  return runAsync(ring.push(stable(bytes), deadline), deadline, options?.signal);
}

/** A blocking push; refused on the program's main thread unless `timeoutMs` is 0 (`instead` names the async method). */
export function pushSync(ring: Ring, item: unknown, options: SyncWaitOptions | undefined, what: string, instead: string): PushResult {
  const deadline = deadlineFor(options?.timeoutMs, what);
  checkMayBlock(what, instead, options?.timeoutMs);
  const bytes = encodeFor(ring, item, what);
  const r = ring.tryPush(bytes);
  if (r !== 'full' || now() >= deadline) return r;
  return runSync(ring.push(bytes, deadline), deadline);
}

/** Pushes only if there is room now. */
export function pushNow(ring: Ring, item: unknown, what: string): PushResult {
  return ring.tryPush(encodeFor(ring, item, what));
}

/** An async pop: at once when there is a record, else a promise as for `pushAsync`. */
export function popAsync(ring: Ring, options: WaitOptions | undefined, what: string): Popped | Promise<Popped> {
  const deadline = startWait(options, what);
  const r = ring.tryPop();
  if (r !== 'empty' || now() >= deadline) return decoded(r);
  return runAsync(ring.pop(deadline), deadline, options?.signal).then(decoded);
}

/** A blocking pop; refused on the program's main thread unless `timeoutMs` is 0 (`instead` names the async method). */
export function popSync(ring: Ring, options: SyncWaitOptions | undefined, what: string, instead: string): Popped {
  const deadline = deadlineFor(options?.timeoutMs, what);
  checkMayBlock(what, instead, options?.timeoutMs);
  const r = ring.tryPop();
  if (r !== 'empty' || now() >= deadline) return decoded(r);
  return decoded(runSync(ring.pop(deadline), deadline));
}

export function popNow(ring: Ring): Popped {
  return decoded(ring.tryPop());
}
