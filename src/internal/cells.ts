/**
 * Where a primitive's state lives: a region of Int32 words of shared memory (a
 * `SharedArrayBuffer`, or /dev/shm memory mapped by shm.ts), either freshly allocated or
 * attached to memory another instance (in this or another thread or process) laid out. Used by
 * sync/, queue/ and shared/.
 */
import { InvalidArgumentError, NotSupportedError } from '../errors.ts';
import type { Cell } from './atomics.ts';
import { allocate, available as processMemoryAvailable, originOf } from './shm.ts';

/**
 * Memory a primitive's state can live in: a `SharedArrayBuffer`, or an `ArrayBuffer` mapped
 * from /dev/shm by threadkit (shared with child processes too).
 */
export type SharedMemory = SharedArrayBuffer | ArrayBuffer;

/**
 * Where fresh state lives. `'process'`: memory shared with child processes as well as threads
 * (a Lock passed to a `Process` keeps excluding); the default where threadkit's native addon
 * was built (Linux with a C compiler at install), unless `THREADKIT_MEMORY=thread`.
 * `'thread'`: a `SharedArrayBuffer`, shared with threads only.
 */
export type MemoryKind = 'thread' | 'process';

export const defaultMemory: MemoryKind = processMemoryAvailable && process.env.THREADKIT_MEMORY !== 'thread' ? 'process' : 'thread';

/** Options every shared primitive accepts to live inside memory it did not allocate. */
export interface MemoryOptions {
  /**
   * Attach to this buffer instead of allocating one. The memory must hold the state of an
   * instance of the same class (the one `[kShare]()` describes), or be zeroed where the class
   * documents that zeroed memory is a valid initial state.
   */
  buffer?: SharedMemory;
  /** Byte offset of the state inside `buffer`; a multiple of 8. Default 0. */
  byteOffset?: number;
  /** Where fresh state lives when no `buffer` is given: see {@link MemoryKind}. */
  memory?: MemoryKind;
}

export interface Region {
  buffer: SharedMemory;
  byteOffset: number;
  /** True when the memory was allocated here and the caller must initialize it. */
  fresh: boolean;
}

/** Allocates `bytes` of shared memory, or validates and returns the caller's region. */
export function region(bytes: number, options: MemoryOptions | undefined, what: string): Region {
  const buffer = options?.buffer;
  if (buffer === undefined) return fresh(bytes, options?.memory ?? defaultMemory, what);
  if (!(buffer instanceof SharedArrayBuffer) && !originOf(buffer)) {
    throw new InvalidArgumentError(
      `${what}: expected \`buffer\` to be a SharedArrayBuffer (or process-shared memory from another threadkit object), got ${buffer?.constructor?.name ?? typeof buffer}`,
    );
  }
  const byteOffset = options?.byteOffset ?? 0;
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0 || byteOffset + bytes > buffer.byteLength) {
    throw new InvalidArgumentError(
      `${what}: expected \`byteOffset\` to be a multiple of 8 with ${bytes} bytes after it inside a ${buffer.byteLength}-byte buffer, got \`${String(byteOffset)}\``,
    );
  }
  return { buffer, byteOffset, fresh: false };
}

function fresh(bytes: number, memory: MemoryKind, what: string): Region {
  if (memory === 'thread') return { buffer: new SharedArrayBuffer(bytes), byteOffset: 0, fresh: true };
  if (memory !== 'process') throw new InvalidArgumentError(`${what}: expected \`memory\` to be 'thread' or 'process', got \`${String(memory)}\``);
  if (!processMemoryAvailable) {
    throw new NotSupportedError(
      `${what}: memory shared between processes needs threadkit's native addon, which was not built here ` +
        "(it needs Linux and a C compiler at install: run `node node_modules/threadkit/native/build.js`). Use { memory: 'thread' } to share with threads only.",
    );
  }
  return { ...allocate(bytes), fresh: true };
}

/** The Int32 words of a region. */
export function words(r: Region, count: number): Cell {
  return new Int32Array(r.buffer, r.byteOffset, count) as Cell;
}
