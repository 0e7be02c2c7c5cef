/**
 * Who holds a lock word, and whether that holder died: the one owner-death check that `Lock`
 * (sync/lock.ts) and the queue ring's mutex (queue/ring.ts) both use.
 *
 * A word records its holder as an *owner id*: the holder's slot (its OS thread, see
 * runtime.ts) plus 1, so that 0 means "nobody, or not known". Each word keeps the id in bits of
 * its own choosing and asks `ownerDied` when a holder keeps it too long.
 */
import { currentSlot, isSlotAlive } from './runtime.ts';

let mine = 0;

/**
 * The owner id of the thread running this code. Asked for by the first primitive made on a
 * thread, not at import: it starts the thread table (runtime.ts), which importing must not.
 */
export function myOwnerId(): number {
  mine ||= currentSlot() + 1;
  return mine;
}

/** Whether the holder recorded as `ownerId` is known to be dead (its thread or process ended). 0, unknown: false. */
export function ownerDied(ownerId: number): boolean {
  return ownerId !== 0 && !isSlotAlive(ownerId - 1);
}
