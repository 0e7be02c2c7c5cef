/**
 * The internals threadkit's own tests reach into, as one entry point of the built package. Not
 * public API and not in package.json's `exports`: tests import it by path. It exists because the
 * built library is bundled (scripts/build.ts): importing `dist/internal/runtime.js` on its own
 * would load a second copy of the runtime instead of the one `threadkit` uses.
 *
 * It also imports the public entry point, so that every module it reaches is reached from
 * `index` too: the bundler then cuts the same chunks as without this entry, and a child or a
 * carrier loads no more files for it.
 */
import '../index.ts';
export { notify, waitAsync, wakesHere } from './atomics.ts';
export { region, words } from './cells.ts';
export { decode, encode } from './codec.ts';
export { currentSlot, markSlotDead, newTaskId, RUNTIME_KEY, reserveSlot, startRuntime, taskStorage } from './runtime.ts';
export { kShare } from './shareable.ts';
export { available, originOf } from './shm.ts';
export { isPidAlive } from './pid.ts';
export { describeTarget, loadTarget } from './target.ts';
export { kSettle } from '../pool/future.ts';
export { handedOff, Handoff, HANDOFF_BYTES } from '../pool/handoff.ts';
