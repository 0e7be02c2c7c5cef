/**
 * Where a primitive's state lives: a `SharedArrayBuffer` region of Int32 words, either freshly
 * allocated or attached to memory another instance (in this or another thread) laid out.
 */
import { InvalidArgumentError } from '../errors.ts';
import type { Cell } from '../internal/atomics.ts';

/** Options every shared primitive accepts to live inside memory it did not allocate. */
export interface MemoryOptions {
  /**
   * Attach to this buffer instead of allocating one. The memory must hold the state of an
   * instance of the same class (the one `[kShare]()` describes), or be zeroed where the class
   * documents that zeroed memory is a valid initial state.
   */
  buffer?: SharedArrayBuffer;
  /** Byte offset of the state inside `buffer`; a multiple of 8. Default 0. */
  byteOffset?: number;
}

export interface Region {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  /** True when the memory was allocated here and the caller must initialize it. */
  fresh: boolean;
}

/** Allocates `bytes` of shared memory, or validates and returns the caller's region. */
export function region(bytes: number, options: MemoryOptions | undefined, what: string): Region {
  const buffer = options?.buffer;
  if (buffer === undefined) return { buffer: new SharedArrayBuffer(bytes), byteOffset: 0, fresh: true };
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new InvalidArgumentError(`${what}: expected \`buffer\` to be a SharedArrayBuffer, got ${typeof buffer}`);
  }
  const byteOffset = options?.byteOffset ?? 0;
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0 || byteOffset + bytes > buffer.byteLength) {
    throw new InvalidArgumentError(
      `${what}: expected \`byteOffset\` to be a multiple of 8 with ${bytes} bytes after it inside a ${buffer.byteLength}-byte buffer, got \`${String(byteOffset)}\``,
    );
  }
  return { buffer, byteOffset, fresh: false };
}

/** The Int32 words of a region. */
export function words(r: Region, count: number): Cell {
  return new Int32Array(r.buffer, r.byteOffset, count) as Cell;
}
