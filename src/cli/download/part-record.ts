/**
 * `NAME.part.meta`: what the first response of a download said about the file — its URL,
 * validators (ETag, Last-Modified) and total size — written before the first byte of
 * `NAME.part`, and the yardstick every later response is held to. A resume is trusted only
 * when this record is whole, names the same URL and has a validator; every 206 (and every
 * 416) must then agree with it, or the download starts again from zero.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { localFileError } from './errors.ts';

export interface PartRecord {
  url: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

export function recordOf(url: string, headers: Readonly<Record<string, string | undefined>>, total: number | null): PartRecord {
  return {
    url,
    ...(headers.etag !== undefined && { etag: headers.etag }),
    ...(headers['last-modified'] !== undefined && { lastModified: headers['last-modified'] }),
    ...(total !== null && { total }),
  };
}

export async function readRecord(path: string): Promise<PartRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as PartRecord;
    return typeof r?.url === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRecord(path: string, record: PartRecord): Promise<void> {
  try {
    await writeFile(path, JSON.stringify(record));
  } catch (err) {
    throw localFileError(err, path, 'write');
  }
}

/** Why a `.part` with this record cannot be resumed for `url` (undefined: it can). */
export function untrusted(record: PartRecord | undefined, url: string): string | undefined {
  if (!record) return 'its record (.part.meta) is missing or unreadable';
  if (record.url !== url) return `its record (.part.meta) is for another URL (${record.url})`;
  if (record.etag === undefined && record.lastModified === undefined) return 'the server gave no ETag or Last-Modified to check a resume against';
  return undefined;
}

/** The `If-Range` value: a strong ETag, else the Last-Modified date (RFC 9110 forbids weak ETags there). */
export function ifRangeOf(record: PartRecord): string | undefined {
  return record.etag && !record.etag.startsWith('W/') ? record.etag : record.lastModified;
}

/** How a later response differs from the record (undefined: it matches). */
export function changeFrom(record: PartRecord, headers: Readonly<Record<string, string | undefined>>, total: number | null): string | undefined {
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
