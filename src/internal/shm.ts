/**
 * Memory shared between processes: files of /dev/shm mapped by threadkit's native addon
 * (native/shm.c), carved into small regions for primitives and values.
 *
 * A region crosses to a thread or process as `{ path, size }` plus its offset; the receiving
 * side maps the same file (once per process) and builds its views over it. Files are named
 * after the pid that made them and removed when it exits; files of processes that died
 * without cleaning up are swept by the next threadkit process to start.
 *
 * Without the addon (not Linux, no C compiler at install) `available` is false and primitives
 * live in SharedArrayBuffers, which cannot cross fork(): passing one to a Process then fails
 * with an error that says so.
 */
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from './package-files.ts';
import { isPidAlive } from './pid.ts';
import { builtin } from './builtin.ts';

const { readdirSync, unlinkSync } = builtin('node:fs');

interface Addon {
  map(path: string, size: number): ArrayBuffer;
  wait(buffer: ArrayBuffer, byteOffset: number, expected: number, timeoutMs?: number): 0 | 1 | 2;
  wake(buffer: ArrayBuffer, byteOffset: number, count: number): number;
  waitAsync(buffer: ArrayBuffer, byteOffset: number, expected: number, timeoutMs?: number): Promise<0 | 1 | 2>;
  dieWithParent(): number;
}

function load(): Addon | undefined {
  if (process.env.THREADKIT_NO_ADDON === '1') return undefined;
  try {
    // process.dlopen directly: the CommonJS loader would add ~2 ms to every cold start.
    const module = { exports: {} as Addon };
    process.dlopen(module, fileURLToPath(new URL('native/build/threadkit_shm.node', PACKAGE_ROOT)));
    return module.exports;
  } catch {
    return undefined;
  }
}

export const addon: Addon | undefined = load();
export const available = addon !== undefined;

const DIR = '/dev/shm';
const PREFIX = 'threadkit-';
const ARENA_BYTES = 1 << 20;

/** Where a mapped file came from, for every mapping made in this process. */
const origins = new WeakMap<ArrayBuffer, ShmRef>();
const mapped = new Map<string, ArrayBuffer>();
const created: string[] = [];

export interface ShmRef {
  path: string;
  size: number;
}

function sweep(): void {
  try {
    // One check per pid, however many files it has (a program with many queues and locks).
    const alive = new Map<number, boolean>();
    for (const name of readdirSync(DIR)) {
      const pid = Number(/^threadkit-(\d+)-/.exec(name)?.[1]);
      if (!pid) continue;
      let live = alive.get(pid);
      if (live === undefined) alive.set(pid, (live = isPidAlive(pid)));
      if (!live) {
        try {
          unlinkSync(`${DIR}/${name}`);
        } catch {
          // Another process swept it first.
        }
      }
    }
  } catch {
    // No /dev/shm to sweep.
  }
}

let swept = false;
let counter = 0;

/** Maps (creating when missing) the file at `path`; one mapping per process and path. */
export function attach(ref: ShmRef): ArrayBuffer {
  let buffer = mapped.get(ref.path);
  if (!buffer) {
    if (!addon) throw new Error('threadkit: the shared-memory addon is not available in this process');
    buffer = addon.map(ref.path, ref.size);
    mapped.set(ref.path, buffer);
    origins.set(buffer, { path: ref.path, size: ref.size });
  }
  return buffer;
}

/** The file behind a buffer mapped here, or undefined for any other buffer. */
export function originOf(buffer: ArrayBufferLike): ShmRef | undefined {
  return buffer instanceof ArrayBuffer ? origins.get(buffer) : undefined;
}

/** A new file of `size` bytes, removed when this process exits. */
export function createFile(size: number, tag: string): { buffer: ArrayBuffer; ref: ShmRef } {
  if (!swept) {
    swept = true;
    sweep();
    process.once('exit', () => {
      for (const path of created) {
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      }
    });
  }
  const path = `${DIR}/${PREFIX}${process.pid}-${tag}-${++counter}`;
  created.push(path);
  return { buffer: attach({ path, size }), ref: { path, size } };
}

let arena: ArrayBuffer | undefined;
let used = 0;

/**
 * `bytes` of process-shared memory, 8-byte aligned. Regions are never reused: a primitive's
 * memory may still be in use in another process after this one dropped it.
 */
export function allocate(bytes: number): { buffer: ArrayBuffer; byteOffset: number } {
  const size = Math.ceil(bytes / 8) * 8;
  if (size > ARENA_BYTES / 4) return { buffer: createFile(size, 'region').buffer, byteOffset: 0 };
  if (!arena || used + size > ARENA_BYTES) {
    arena = createFile(ARENA_BYTES, 'arena').buffer;
    used = 0;
  }
  const byteOffset = used;
  used += size;
  return { buffer: arena, byteOffset };
}
