/**
 * Errors of `threadkit download`, each with a stable `code` (branch on `err.code`, not on the
 * message) and a message that names the problem and the fix in one line.
 *
 * `transient` says whether trying again may help: the downloader retries transient errors
 * (connection reset, time-outs, 5xx, 429) with backoff, and fails at once on permanent ones
 * (4xx, DNS, TLS, a bad URL, a checksum mismatch).
 *
 * `DownloadError` is the command's own, not one of threadkit's (`ThreadkitError`): it never
 * leaves the command (workers send `ErrorInfo`), and importing threadkit for a base class would
 * add its load time to every start of `threadkit download`.
 */

import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export type DownloadErrorCode =
  /** Bad command line or input file: exit 2. */
  | 'TK_DL_USAGE'
  /** A URL that cannot be downloaded: not http(s), or not a URL at all. */
  | 'TK_DL_BAD_URL'
  /** The server answered with an HTTP status that is not a success (after redirects). */
  | 'TK_DL_HTTP_STATUS'
  /** The host name does not resolve. */
  | 'TK_DL_DNS'
  /** The TLS handshake or certificate check failed. */
  | 'TK_DL_TLS'
  /** The connection failed, was reset, or dropped before the body was complete. */
  | 'TK_DL_NETWORK'
  /** The server's answer breaks HTTP/1.1 in a way no retry mends (a Content-Length that is no byte count). */
  | 'TK_DL_PROTOCOL'
  /** No byte arrived for `--timeout` seconds. */
  | 'TK_DL_TIMEOUT'
  /** More than the allowed number of redirects, or a redirect without a usable Location. */
  | 'TK_DL_REDIRECT'
  /** The server answered a Range request with a Content-Range that does not fit the file on disk. */
  | 'TK_DL_RANGE'
  /**
   * An https body without a length ended with the connection, and the server did not confirm
   * (by a 416 to a Range request for the rest) that nothing follows; the bytes stay in `.part`.
   */
  | 'TK_DL_UNPROVEN'
  /** The downloaded bytes do not have the expected sha256. */
  | 'TK_DL_CHECKSUM'
  /** A different file already exists under the output name. */
  | 'TK_DL_EXISTS'
  /** Another download (of this run, or another running `threadkit download`) is writing the same name. */
  | 'TK_DL_NAME_TAKEN'
  /** Reading or writing the local file failed for another local reason. */
  | 'TK_DL_FILE'
  /** The disk (or the quota) is full: ENOSPC, EDQUOT. The `.part` is kept for `-c`. */
  | 'TK_DL_DISK_FULL'
  /** Permission denied on a local file or folder: EACCES, EPERM. */
  | 'TK_DL_PERMISSION'
  /** The output folder is on a read-only file system: EROFS. */
  | 'TK_DL_READ_ONLY'
  /** The output folder is missing (or a part of its path is not a folder): ENOENT, ENOTDIR. */
  | 'TK_DL_NO_FOLDER'
  /** A local path is too long for the file system: ENAMETOOLONG. */
  | 'TK_DL_NAME_TOO_LONG'
  /** The download was stopped (Ctrl-C); its `.part` file is kept for `--continue`. */
  | 'TK_DL_INTERRUPTED'
  /** The worker thread or process running the download died. */
  | 'TK_DL_WORKER';

export class DownloadError extends Error {
  readonly code: DownloadErrorCode;
  /** Whether a retry may succeed. */
  readonly transient: boolean;
  /** The HTTP status, for `TK_DL_HTTP_STATUS`. */
  readonly status?: number;
  /** Milliseconds the server asked us to wait (`Retry-After`), if it did. */
  readonly retryAfterMs?: number;

  constructor(code: DownloadErrorCode, message: string, options: ErrorOptions & { transient?: boolean; status?: number; retryAfterMs?: number } = {}) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    this.transient = options.transient ?? false;
    if (options.status !== undefined) this.status = options.status;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** A bad command line: the command prints the message and the usage hint, and exits 2. */
export class UsageError extends DownloadError {
  constructor(message: string) {
    super('TK_DL_USAGE', message);
  }
}

/** What crosses from a worker to the main thread for a failed download (structured-cloneable). */
export interface ErrorInfo {
  code: DownloadErrorCode;
  message: string;
  status?: number;
}

export function toErrorInfo(err: unknown): ErrorInfo {
  const e = asDownloadError(err);
  return e.status === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, status: e.status };
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'HPE_INVALID_EOF_STATE',
]);
const FILE_CODES = new Set([
  'ENOSPC',
  'EACCES',
  'EPERM',
  'EROFS',
  'EISDIR',
  'ENOTDIR',
  'EDQUOT',
  'EMFILE',
  'ENFILE',
  'EEXIST',
  'ENOENT',
  'ENAMETOOLONG',
  'EIO',
  'EFBIG',
]);

/**
 * A failed local file operation as the local error it is: the code says which (disk full,
 * permission, read-only, missing folder, name too long), the message names the path and the
 * fix. Never transient: trying the same write again would fail the same way.
 */
export function localFileError(err: unknown, path: string, action: 'write' | 'create' | 'rename' | 'read', { resumable = true } = {}): DownloadError {
  if (err instanceof DownloadError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  const options = { cause: err };
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new DownloadError(
        'TK_DL_DISK_FULL',
        `the disk is full: cannot ${action} ${path} (${code}); free some space and run the same command ${resumable ? 'with -c to resume' : 'again'}, or use -o elsewhere`,
        options,
      );
    case 'EACCES':
    case 'EPERM':
      return new DownloadError(
        'TK_DL_PERMISSION',
        `permission denied: cannot ${action} ${path} (${code}); check the folder's permissions, or use -o elsewhere`,
        options,
      );
    case 'EROFS':
      return new DownloadError('TK_DL_READ_ONLY', `cannot ${action} ${path}: the file system is read-only (EROFS); use -o to download elsewhere`, options);
    case 'ENOENT':
    case 'ENOTDIR': {
      // The code alone misleads: ENOTDIR also comes of a file where a folder of the path should
      // be, and of an undeletable file (immutable: Node's rm tries rmdir after unlink's EPERM).
      const found = pathProblem(path);
      if (found?.kind === 'not-a-folder') {
        return new DownloadError('TK_DL_NO_FOLDER', `cannot ${action} ${path}: ${found.at} is a file, not a folder (${code}); use -o with a folder`, options);
      }
      if (found?.kind === 'exists') {
        return new DownloadError(
          'TK_DL_PERMISSION',
          `cannot ${action} ${path}: it exists and cannot be replaced or removed (${code}); check its permissions and attributes (lsattr; chattr -i), or use -o elsewhere`,
          options,
        );
      }
      return new DownloadError('TK_DL_NO_FOLDER', `cannot ${action} ${path}: its folder does not exist (${code}); create it, or use -o elsewhere`, options);
    }
    case 'ENAMETOOLONG': {
      const name = Buffer.byteLength(path.slice(path.lastIndexOf('/') + 1));
      return new DownloadError(
        'TK_DL_NAME_TOO_LONG',
        name > 255
          ? `cannot ${action} ${path}: its name (${name} bytes) is longer than the file system allows (ENAMETOOLONG)`
          : `cannot ${action} ${path}: the path is too long for the file system (ENAMETOOLONG); use a shorter -o folder`,
        options,
      );
    }
    default:
      return new DownloadError('TK_DL_FILE', `cannot ${action} ${path}: ${code} (${(err as Error)?.message ?? String(err)}); check the output folder`, options);
  }
}

/**
 * What an ENOENT or ENOTDIR for `path` means on disk: the path itself exists (so its folder
 * does), or a part of it is a file where a folder should be, or (undefined) a folder is missing.
 */
function pathProblem(path: string): { kind: 'exists' } | { kind: 'not-a-folder'; at: string } | undefined {
  // ENOTDIR itself comes back from a look through a file: that is not an answer.
  const look = (p: string, follow: boolean) => {
    try {
      return (follow ? statSync : lstatSync)(p, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  };
  if (look(path, false)) return { kind: 'exists' };
  for (let at = dirname(path); ; at = dirname(at)) {
    const found = look(at, true);
    if (found) return found.isDirectory() ? undefined : { kind: 'not-a-folder', at };
    if (dirname(at) === at) return undefined;
  }
}

/**
 * Classifies any error thrown while downloading (Node's `code`s for sockets, DNS, TLS and files)
 * into a `DownloadError`, transient or not.
 */
export function asDownloadError(err: unknown, what = 'the download'): DownloadError {
  if (err instanceof DownloadError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const msg = e?.message ?? String(err);
  if (code === 'ENOTFOUND') {
    return new DownloadError('TK_DL_DNS', `cannot resolve the host of ${what} (${msg}); check the URL's host name`, { cause: err });
  }
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ERR_SSL_HTTP_REQUEST') {
      return new DownloadError('TK_DL_TLS', `TLS failed for ${what}: the server does not speak TLS there (${code}); if it serves plain HTTP, use http://`, {
        cause: err,
      });
    }
    // Node's own hint (start Node with --use-system-ca) is not this command's to give.
    const reason = openSslReason(msg).replace(/;?\s*if the root CA is installed locally.*$/i, '');
    const fix = /UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|SELF_SIGNED/.test(code)
      ? "if you trust the server, pass its certificate or its CA's with --ca-certificate FILE (or NODE_EXTRA_CA_CERTS)"
      : "check the URL's host, or the server's certificate";
    return new DownloadError('TK_DL_TLS', `TLS failed for ${what} (${code}: ${reason}); ${fix}`, { cause: err });
  }
  if (code === 'ECONNREFUSED') {
    const where = e && 'address' in e ? `${(e as { address: string }).address}:${(e as { port?: number }).port ?? ''}` : 'the server';
    return new DownloadError('TK_DL_NETWORK', `connection refused by ${where} for ${what}; is the server running?`, { cause: err, transient: true });
  }
  if (NETWORK_CODES.has(code) || code.startsWith('HPE_') || msg === 'aborted' || msg === 'socket hang up') {
    return new DownloadError('TK_DL_NETWORK', `connection failed for ${what}: ${code || msg}`, { cause: err, transient: true });
  }
  if (FILE_CODES.has(code)) return localFileError(err, e?.path ?? 'the output file', 'write');
  // Unknown errors are not retried: a retry would only repeat them.
  return new DownloadError('TK_DL_NETWORK', `${what} failed: ${code ? `${code}: ` : ''}${msg}`, { cause: err });
}

/** OpenSSL's `…:error:0A00010B:SSL routines:fn:reason:file.c:77:` as its reason alone, on one line. */
function openSslReason(message: string): string {
  const m = /:error:[\dA-F]+:[^:]*:[^:]*:([^:]+):/.exec(message);
  return m ? m[1]! : message.trim().replace(/\s*\n\s*/g, ' ');
}
