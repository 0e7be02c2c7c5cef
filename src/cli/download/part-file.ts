/**
 * The part file of one download, and everything on disk that goes with it, in one place:
 *
 * - `NAME.part`: the bytes received so far, always a prefix of the file: they are written
 *   strictly in order (by part-writer.ts, which http-get.ts drives), so after any crash its
 *   size is the resume point.
 * - `NAME.part.meta`: the `PartRecord` — JSON `{ url, etag, lastModified, total }` of the first
 *   response — written before the first byte of `NAME.part`. `-c` in a later run finds the
 *   `.part` of a URL whose name came from `Content-Disposition` by it, and every later answer
 *   (206, 416) is held to it: a different ETag, Last-Modified or size restarts from zero, as
 *   does a `.part` without a whole record. Bytes of two versions of a file are never spliced.
 * - `NAME.part.lock`: `PID THREAD JOB RUN` of the download writing it, created exclusively, so
 *   that two URLs of one run (or two runs) never write the same file; a lock whose process is
 *   gone (killed) is taken over. Downloads that share a thread (inline) tell their names apart
 *   in a `Map` first and take the lock only once they write a `.part`. Where they do not
 *   (download threads, processes), the lock of a name the run saved stays until the run ends,
 *   marked `saved` and held by the command, so that no later URL of the run replaces the file.
 *
 * A small body that came whole is written under a name of its own and renamed into place: no
 * `.part`, no `.meta`, no lock. All three are removed once the file is complete (the lock also
 * when the download stops); on a checksum mismatch `.part` and `.part.meta` are removed too.
 *
 * Every failure of a file operation is a local error (errors.ts `localFileError`) naming the
 * path: never retried, as the same write would fail the same way.
 */
import {
  closeSync,
  constants,
  createReadStream,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { lstat, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { threadId } from 'node:worker_threads';
import { DownloadError, localFileError } from './errors.ts';

/** What the first response said about the file: the yardstick every later response is held to. */
export interface PartRecord {
  url: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

type Headers = Readonly<Record<string, string | undefined>>;

export function recordOf(url: string, headers: Headers, total: number | null): PartRecord {
  return {
    url,
    ...(headers.etag !== undefined && { etag: headers.etag }),
    ...(headers['last-modified'] !== undefined && { lastModified: headers['last-modified'] }),
    ...(total !== null && { total }),
  };
}

/** Why a `.part` with this record cannot be resumed for `url` (undefined: it can). */
export function untrusted(record: PartRecord | undefined, url: string): string | undefined {
  if (!record) return 'its record (.part.meta) is missing or unreadable';
  if (record.url !== url) return `its record (.part.meta) is for another URL (${record.url})`;
  if (record.etag === undefined && record.lastModified === undefined) return 'the server gave no ETag or Last-Modified to check a resume against';
  // A weak ETag names a version "close enough" for a cache, not the same bytes (RFC 9110 §8.8.1):
  // it cannot go in If-Range, and a 206 carrying it may be part of another file.
  if (ifRangeOf(record) === undefined)
    return `the server gave only a weak ETag (${record.etag}) and no Last-Modified, which cannot prove the bytes are the same`;
  return undefined;
}

/** The `If-Range` value: a strong ETag, else the Last-Modified date (RFC 9110 forbids weak ETags there). */
export function ifRangeOf(record: PartRecord): string | undefined {
  return record.etag && !record.etag.startsWith('W/') ? record.etag : record.lastModified;
}

/** How a later response differs from the record (undefined: it matches). */
export function changeFrom(record: PartRecord, headers: Headers, total: number | null): string | undefined {
  if (record.total !== undefined && total !== null && total !== record.total) return `its size changed from ${record.total} to ${total} bytes`;
  const etag = headers.etag;
  if (record.etag !== undefined) {
    if (etag === undefined) return `the ETag ${record.etag} is gone from the server's answer`;
    // Weak comparison: W/"x" and "x" name the same version; any other difference is a new one.
    if (opaque(etag) !== opaque(record.etag)) return `its ETag changed from ${record.etag} to ${etag}`;
  }
  const modified = headers['last-modified'];
  if (record.lastModified !== undefined && modified !== record.lastModified) {
    return modified === undefined
      ? "its Last-Modified date is gone from the server's answer"
      : `its Last-Modified changed from ${record.lastModified} to ${modified}`;
  }
  if (record.etag === undefined && record.lastModified === undefined) return 'there is no ETag or Last-Modified to check it against';
  return undefined;
}

function opaque(etag: string): string {
  return etag.trim().replace(/^W\//, '');
}

/**
 * Opening flags for reading a file a download wrote (a record, a lock): never through a link
 * planted there, and never waiting: a FIFO under that name reads as empty at once, where a plain
 * open would wait for a writer for good (with Ctrl-C unable to end the run).
 */
const READ_OWN = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

async function readRecord(path: string): Promise<PartRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, { encoding: 'utf8', flag: READ_OWN })) as PartRecord;
    return typeof r?.url === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Who writes a part file: the job's URL, its number in the run, and the run. */
export interface PartOwner {
  url: string;
  id: number;
  run: string;
  dir: string;
  /** See `DownloadJob.namesHeldBy`. */
  namesHeldBy?: number | undefined;
}

export class PartFile {
  #name = '';
  /** The paths of the file, its `.part` and `.part.meta`: made once per name, since every step of a download reads them. */
  #paths = { final: '', part: '', meta: '' };
  /** What the first response said (or the `.part.meta` of an earlier run); undefined once a restart drops it. */
  record: PartRecord | undefined;
  /** Whether the `.part` is this download's (it took the lock for it). */
  ownsPart = false;
  /** Whether a `.part.meta` is on disk (to remove at the end). */
  private recordOnDisk = false;
  private lockPath: string | undefined;
  private readonly owner: PartOwner;
  /** Names being written by the other downloads on this thread (inline), if they share one. */
  private readonly names: Map<string, number> | undefined;
  /** The name this download holds in `names`. */
  private namePath: string | undefined;
  /** Saved under the final name: the name stays taken in `names` for the rest of the run. */
  private kept = false;

  constructor(owner: PartOwner, name: string, names?: Map<string, number>) {
    this.owner = owner;
    this.#setName(name);
    this.names = names;
  }

  /** The file's name in `dir`; a guess until the response headers arrive (`rename`). */
  get name(): string {
    return this.#name;
  }
  get finalPath(): string {
    return this.#paths.final;
  }
  get partPath(): string {
    return this.#paths.part;
  }
  get metaPath(): string {
    return this.#paths.meta;
  }

  #setName(name: string): void {
    const final = join(this.owner.dir, name);
    this.#name = name;
    this.#paths = { final, part: `${final}.part`, meta: `${final}.part.meta` };
  }

  /** The server named the file otherwise: let go of the old name (and its record). */
  rename(name: string): void {
    this.release();
    this.#setName(name);
    this.record = undefined;
    this.recordOnDisk = false;
  }

  /**
   * The size of the file under the final name, -1 when there is none (a symbolic link counts as
   * what it points to). Throws TK_DL_EXISTS when the name is taken by a folder, a FIFO, a socket
   * or a device: the rename at the end could not replace it, or would replace what is not a
   * download's to replace, so the run says so before a byte is fetched, --force or not.
   * Synchronous, like `writeWhole`: a small file's every file-system call stays on this thread.
   */
  existingSize(): number {
    const found = lstatSync(this.finalPath, { throwIfNoEntry: false });
    if (!found || found.isFile()) return found?.size ?? -1;
    if (found.isSymbolicLink()) return statSync(this.finalPath, { throwIfNoEntry: false })?.size ?? -1;
    const what = found.isDirectory() ? 'a folder' : found.isFIFO() ? 'a FIFO' : found.isSocket() ? 'a socket' : 'a device';
    throw new DownloadError(
      'TK_DL_EXISTS',
      `${this.finalPath} is ${what}, which a download never replaces (not even with --force); remove or rename it, or use -o to download elsewhere`,
    );
  }

  /**
   * What is at NAME.part: its size (0 when there is none), and `foreign`, why it is not a
   * `.part` a download wrote, when it is not a file of its own (a symbolic link, a second name
   * of another file, a folder). Such a thing counts as no `.part`: it is replaced, never written
   * through (`prepare`).
   */
  async onDisk(): Promise<{ size: number; foreign?: string }> {
    const found = await lstat(this.partPath).catch(() => undefined);
    if (!found) return { size: 0 };
    if (found.isFile() && found.nlink === 1) return { size: found.size };
    const foreign = found.isSymbolicLink()
      ? `${this.partPath} is a symbolic link, which a download never writes through`
      : found.isFile()
        ? `${this.partPath} is a second name of another file (a hard link), which a download never writes into`
        : `${this.partPath} is not a file`;
    return { size: 0, foreign };
  }

  /**
   * Why the `.part` this download wrote is no longer there (its folder or the file was removed
   * while it downloaded: the bytes went to a file without a name), or undefined when it is.
   */
  async vanished(): Promise<DownloadError | undefined> {
    if (await lstat(this.partPath).catch(() => undefined)) return undefined;
    const folder = await lstat(this.owner.dir).catch(() => undefined);
    return folder?.isDirectory()
      ? new DownloadError('TK_DL_FILE', `${this.partPath} was removed while it downloaded; nothing was saved — run the same command again`)
      : new DownloadError(
          'TK_DL_NO_FOLDER',
          `the output folder ${this.owner.dir} was removed while ${this.name} downloaded; nothing was saved — create it and run the same command again, or use -o elsewhere`,
        );
  }

  /** The size of the `.part` on disk (see `onDisk`). */
  async size(): Promise<number> {
    return (await this.onDisk()).size;
  }

  /** The record of the `.part`: the one in memory, else `.part.meta` from an earlier run (undefined when unreadable). */
  async loadRecord(): Promise<PartRecord | undefined> {
    if (!this.record) {
      this.record = await readRecord(this.metaPath);
      this.recordOnDisk = this.record !== undefined;
    }
    return this.record;
  }

  /** Writes the record to `.part.meta`, before the first byte of the `.part` (a new file: never through a link planted there). */
  async saveRecord(): Promise<void> {
    try {
      await rm(this.metaPath, { force: true });
      await writeFile(this.metaPath, JSON.stringify(this.record), { flag: 'wx' });
    } catch (err) {
      throw localFileError(err, this.metaPath, 'write');
    }
    this.recordOnDisk = true;
  }

  removeRecord(): void {
    if (this.recordOnDisk) rmSync(this.metaPath, { force: true });
    this.recordOnDisk = false;
  }

  /** Makes the `.part` end at `start`, where the body goes on: empty for a fresh download, cut past the resume point. */
  async prepare(start: number): Promise<void> {
    try {
      if (start === 0) {
        // A new file, whatever was there: a link planted as NAME.part is removed, not followed.
        await rm(this.partPath, { force: true });
        await writeFile(this.partPath, '', { flag: 'wx' });
      } else if ((await this.size()) !== start) {
        // Anything past the resume point goes before the first new byte is written.
        const file = await open(this.partPath, constants.O_WRONLY | constants.O_NOFOLLOW);
        try {
          await file.truncate(start);
        } finally {
          await file.close();
        }
      }
    } catch (err) {
      throw localFileError(err, this.partPath, 'create');
    }
  }

  /**
   * The `.part` is complete and verified: puts it under the final name, and the record goes.
   * With `replace` false (no --force), never over a file that appeared there meanwhile (another
   * run, another program): then it returns false and leaves the `.part`.
   */
  async commit(replace: boolean): Promise<boolean> {
    try {
      if (!place(this.partPath, this.finalPath, replace)) return false;
    } catch (err) {
      throw localFileError(err, this.finalPath, 'rename');
    }
    this.kept = true;
    await rm(this.metaPath, { force: true });
    this.recordOnDisk = false;
    return true;
  }

  /** Deletes the `.part` and its record (resuming those bytes would give the same wrong file). */
  async remove(): Promise<void> {
    await rm(this.partPath, { force: true });
    await rm(this.metaPath, { force: true });
    this.recordOnDisk = false;
  }

  /**
   * A whole small body: written under a name of its own (no lock needed) and renamed into place,
   * so that the final name holds a whole file or nothing; false (nothing written) when, without
   * `replace`, a file appeared under the final name meanwhile (see `commit`).
   *
   * Synchronous, on the thread that reads the sockets (as part-writer.ts writes): open, write,
   * close and rename are four system calls, where the thread pool adds a round trip (and its
   * futexes) to each. Measured for 1000 files of 1-16 KiB, -j 16, from nginx on loopback: on
   * tmpfs 0.36 s → 0.24 s wall, and on a loaded disk, where creating a file is what costs, the
   * same wall time with a fifth less CPU.
   */
  writeWhole(body: Buffer, replace: boolean): boolean {
    // NAME.part.RUN-ID, or a short hidden name when that would pass the 255 bytes a name may have
    // (names are cut to leave room for `.part.meta` only).
    const own = `${this.owner.run}-${this.owner.id}`;
    const temp =
      Buffer.byteLength(this.name) + '.part.'.length + own.length <= 255 ? `${this.partPath}.${own}` : join(this.owner.dir, `.threadkit-${own}.part`);
    try {
      writeFileSync(temp, body, { flag: 'wx' });
    } catch (err) {
      rmSync(temp, { force: true });
      throw localFileError(err, temp, 'write', { resumable: false });
    }
    let placed: boolean;
    try {
      placed = place(temp, this.finalPath, replace);
    } catch (err) {
      rmSync(temp, { force: true });
      throw localFileError(err, this.finalPath, 'rename');
    }
    if (!placed) {
      rmSync(temp, { force: true });
      return false;
    }
    this.kept = true;
    this.removeRecord();
    return true;
  }

  /**
   * After a small body replaced it: removes the `.part` (and its record) an earlier try or run
   * left, unless a live download holds it.
   */
  dropLeftover(): void {
    try {
      this.claim();
    } catch {
      return; // another download is writing it: not ours to remove
    }
    rmSync(this.partPath, { force: true });
    rmSync(this.metaPath, { force: true });
    this.recordOnDisk = false;
    this.release();
  }

  /** Takes `NAME.part.lock` unless held already, or fails when a live download holds it (synchronous: three system calls). */
  claim(): void {
    if (this.lockPath) return;
    const lock = `${this.partPath}.lock`;
    const { owner } = this;
    const token = `${process.pid} ${threadId} ${owner.id} ${owner.run}`;
    for (;;) {
      try {
        writeFileSync(lock, token, { flag: 'wx' });
        this.lockPath = lock;
        this.ownsPart = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw localFileError(err, lock, 'create');
      }
      let text = '';
      const found = lstatSync(lock, { throwIfNoEntry: false });
      if (found && !found.isFile()) {
        // Not a lock any download wrote: a folder, a FIFO, a link… where the lock must go.
        const what = found.isDirectory() ? 'a folder' : found.isFIFO() ? 'a FIFO' : found.isSymbolicLink() ? 'a symbolic link' : 'not a file';
        throw new DownloadError(
          'TK_DL_EXISTS',
          `${lock} is ${what}, where this download keeps its lock file; remove or rename it, or use -o to download elsewhere`,
        );
      }
      try {
        text = readFileSync(lock, { encoding: 'utf8', flag: READ_OWN });
      } catch {
        // Gone meanwhile: try again.
      }
      const [pid, thread, job, run] = text.split(' ');
      const holder = Number(pid);
      if (!(holder > 0) && lockIsFresh(found?.mtimeMs)) {
        // Created this instant and not written yet: another download is taking it now.
        throw new DownloadError(
          'TK_DL_NAME_TAKEN',
          `${this.finalPath} is being taken by another download right now; wait for it to finish, or use another -o directory`,
        );
      }
      if (run === owner.run && isAlive(holder)) {
        throw new DownloadError(
          'TK_DL_NAME_TAKEN',
          `${owner.url} and URL #${Number(job) + 1} of this run both save to ${this.name}; download them into different -o directories`,
        );
      }
      if (thread === SAVED && run !== owner.run) {
        // Another run's mark on a name it saved (see `release`): that run's to keep, not this one's to obey.
        rmSync(lock, { force: true });
        continue;
      }
      if (run !== owner.run && holder !== process.pid && isAlive(holder)) {
        throw new DownloadError(
          'TK_DL_NAME_TAKEN',
          `${this.finalPath} is being downloaded by another process (pid ${holder}); wait for it to finish, or use another -o directory`,
        );
      }
      // Left by a download that was killed: take it over.
      rmSync(lock, { force: true });
    }
  }

  /**
   * Takes the name for this download: in `names` when downloads share this thread (a lock file
   * is taken later, only if a `.part` is written), else the lock file at once.
   */
  claimName(): void {
    if (!this.names) return this.claim();
    const path = this.partPath;
    if (this.namePath === path) return;
    const other = this.names.get(path);
    if (other !== undefined && other !== this.owner.id) {
      throw new DownloadError(
        'TK_DL_NAME_TAKEN',
        `${this.owner.url} and URL #${other + 1} of this run both save to ${this.name}; download them into different -o directories`,
      );
    }
    this.names.set(path, this.owner.id);
    this.namePath = path;
  }

  /** Drops the name and the lock, if held. */
  release(): void {
    if (this.namePath !== undefined) {
      // A file this run saved keeps its name: a later URL of the run with the same name would
      // replace it (with --force) or be told it exists, where it is this run's own.
      if (!this.kept) this.names?.delete(this.namePath);
      this.namePath = undefined;
    }
    if (!this.lockPath) return;
    const lock = this.lockPath;
    this.lockPath = undefined;
    const heldBy = this.owner.namesHeldBy;
    if (this.kept && heldBy !== undefined) {
      // Saved, by a run whose downloads do not share a thread: the lock stays, marked saved and
      // held by the command, which removes it when the run ends (`removeSavedLocks`).
      try {
        const fd = openSync(lock, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
        try {
          writeSync(fd, `${heldBy} ${SAVED} ${this.owner.id} ${this.owner.run}`);
        } finally {
          closeSync(fd);
        }
        return;
      } catch {
        // Gone or unwritable: then the name is not kept for the rest of the run.
      }
    }
    rmSync(lock, { force: true });
  }

  /** The download was saved under this name elsewhere (a download thread, `HandOff`): the name stays taken in `names`. */
  markSaved(): void {
    this.kept = true;
  }
}

/** The thread field of a `.part.lock` that marks a name its run saved (see `PartFile.release`). */
const SAVED = 'saved';

/**
 * At the end of a run with `namesHeldBy`: removes the marks its downloads left on the names they
 * saved, where still this run's. `paths`: the final paths of the files the run saved.
 */
export function removeSavedLocks(paths: Iterable<string>, run: string): void {
  for (const path of paths) {
    const lock = `${path}.part.lock`;
    try {
      const [, thread, , owner] = readFileSync(lock, { encoding: 'utf8', flag: READ_OWN }).split(' ');
      if (thread === SAVED && owner === run) rmSync(lock, { force: true });
    } catch {
      // None there (its mark could not be written), or not a file: nothing of this run's to remove.
    }
  }
}

/**
 * Puts the file at `from` under the name `to`. Without `replace`, never over what is there:
 * a hard link (which fails if `to` exists) and then the old name goes, so that two runs that
 * both checked the name was free cannot replace each other's file; false when `to` exists. On
 * a file system without hard links, the check and the rename are two steps.
 */
function place(from: string, to: string, replace: boolean): boolean {
  if (replace) {
    renameSync(from, to);
    return true;
  }
  try {
    linkSync(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') throw err;
    if (lstatSync(to, { throwIfNoEntry: false })) return false;
    renameSync(from, to);
    return true;
  }
  unlinkSync(from);
  return true;
}

/** `-c` with a name from Content-Disposition: the name of the `.part` in `dir` whose record names `url`. */
export async function findPartOf(dir: string, url: string): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!entry.endsWith('.part.meta')) continue;
    const meta = await readRecord(join(dir, entry));
    if (meta?.url === url) return entry.slice(0, -'.part.meta'.length);
  }
  return undefined;
}

/**
 * Removes the `.part.lock` files in `dir` whose process is gone (a run killed with -9 leaves one
 * per file it was writing; a small file's download never looks at its lock, so nothing else
 * would). Locks of live processes, and anything that is not a lock file, stay.
 */
export async function sweepStaleLocks(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.endsWith('.part.lock')) continue;
    const path = join(dir, entry);
    try {
      const found = await lstat(path);
      if (!found.isFile()) continue;
      const pid = Number((await readFile(path, { encoding: 'utf8', flag: READ_OWN })).split(' ')[0]);
      // An empty lock just created is being written by a live download (see `claim`).
      if (!(pid > 0) && lockIsFresh(found.mtimeMs)) continue;
      if (!isAlive(pid)) await rm(path, { force: true });
    } catch {
      // Gone meanwhile, or unreadable: the download that needs it will say so.
    }
  }
}

/**
 * A lock is created, then its token written: one read between the two finds it empty. Such a
 * lock younger than this is a download taking it; an older empty one was left by a crash.
 */
const FRESH_LOCK_MS = 2000;
const lockIsFresh = (mtimeMs: number | undefined) => mtimeMs !== undefined && Date.now() - mtimeMs < FRESH_LOCK_MS;

/**
 * Whether the process holding a `.part.lock` runs (EPERM: it does, as another user). One that
 * ended but is not reaped yet does not: a download child of a run killed with -9 waits as a
 * zombie until init reaps it, a second or more, and `-c` must not wait for that.
 */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat[stat.lastIndexOf(')') + 2];
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

/** Large buffers cut the per-chunk overhead of hashing a big file. */
const HASH_READ_SIZE = 1 << 20;

let crypto: Promise<typeof import('node:crypto')> | undefined;

/** node:crypto, loaded on first use: most runs hash nothing, and it is about 4 ms of start-up. */
export function loadCrypto(): Promise<typeof import('node:crypto')> {
  return (crypto ??= import('node:crypto'));
}

export async function sha256Of(path: string): Promise<string> {
  const hash = (await loadCrypto()).createHash('sha256');
  try {
    await pipeline(createReadStream(path, { highWaterMark: HASH_READ_SIZE }), hash);
  } catch (err) {
    throw localFileError(err, path, 'read', { resumable: false });
  }
  return hash.digest('hex');
}
