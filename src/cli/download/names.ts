/**
 * Output file names: from `Content-Disposition` when the server sends one, else from the URL's
 * last path segment; always sanitized to a single plain file name inside the output directory
 * (no `/`, `\`, `..`, control characters, or names longer than 255 bytes).
 */

/** The name used when neither the header nor the URL gives one (`https://host/`). */
export const FALLBACK_NAME = 'index.html';

/**
 * Reduces any string to a safe base name, or returns `undefined` when nothing usable is left.
 * A server can send `filename="../../.bashrc"`; this yields `.bashrc`, which stays in `-o DIR`.
 */
export function sanitizeName(raw: string): string | undefined {
  // Keep only what follows the last separator of any platform.
  let name = raw.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  // Windows reserves these; replacing them keeps names portable and shell-friendly.
  name = name.replace(/[<>:"|?*]/g, '_');
  // Bidirectional controls make a name read otherwise than it is (`evil\u202egnp.exe` shows as
  // `evilexe.png`): each becomes a `_`, so that what is listed is what it is.
  name = name.replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/g, '_');
  // Strip trailing dots and spaces (Windows drops them silently; `..` becomes empty).
  name = name.replace(/[. ]+$/, '');
  if (name === '' || name === '.' || name === '..') return undefined;
  while (Buffer.byteLength(name) > 255 - '.part.meta'.length) {
    // Cut from the end of the stem, keeping the extension when it is short.
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
    name = [...name.slice(0, name.length - ext.length)].slice(0, -1).join('') + ext;
  }
  // The names of a download's own files (NAME.part, .part.meta, .part.lock): a file saved under
  // one would be taken for another download's partial file (by -c, or by a download of NAME in
  // the same run), so it gets a `_` at the end.
  if (/\.part(\.meta|\.lock)?$/i.test(name)) name += '_';
  return name;
}

/** The last non-empty path segment of a URL, percent-decoded, or `undefined`. */
export function nameFromUrl(url: URL): string | undefined {
  const segment = url.pathname.split('/').filter(Boolean).pop();
  if (segment === undefined) return undefined;
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // A malformed escape: keep it as it is, sanitized.
  }
  return sanitizeName(decoded);
}

/**
 * The file name in a `Content-Disposition` header (RFC 6266), preferring the RFC 5987
 * `filename*=UTF-8''…` form over the plain `filename=`; `undefined` when absent or unusable.
 */
export function nameFromContentDisposition(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*([^;]+)/i.exec(header);
  if (star) {
    const value = star[1]!.trim().replace(/^"(.*)"$/, '$1');
    const m = /^([\w!#$%&+^`{}~-]*)'[^']*'(.*)$/.exec(value);
    if (m) {
      try {
        const charset = m[1]!.toLowerCase();
        const text =
          charset === 'iso-8859-1'
            ? m[2]!.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
            : decodeURIComponent(m[2]!);
        const name = sanitizeName(text);
        if (name) return name;
      } catch {
        // Fall through to the plain form.
      }
    }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:\\.|[^"\\])*)"|([^;]*))/i.exec(header);
  if (plain) {
    const value = plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2]!.trim();
    // Servers often send raw UTF-8 in the quoted form; Node hands header bytes over as latin1.
    return sanitizeName(latin1ToUtf8(value));
  }
  return undefined;
}

function latin1ToUtf8(s: string): string {
  if (!/[\u0080-\u00ff]/.test(s) || /[^\u0000-\u00ff]/.test(s)) return s;
  const decoded = Buffer.from(s, 'latin1').toString('utf8');
  return decoded.includes('\ufffd') ? s : decoded;
}

/** Chooses the output name: header first, then the URL as given, then the URL after redirects. */
export function chooseName(original: URL, final: URL, contentDisposition: string | undefined): string {
  return nameFromContentDisposition(contentDisposition) ?? nameFromUrl(original) ?? nameFromUrl(final) ?? FALLBACK_NAME;
}

/** Display width of a string in a terminal: CJK and other wide characters take two columns. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x300 && cp <= 0x36f) || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) continue;
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Pads or cuts `s` to exactly `width` terminal columns (cut names end in `…`). */
export function fitWidth(s: string, width: number): string {
  if (displayWidth(s) <= width) return s + ' '.repeat(width - displayWidth(s));
  let out = '';
  for (const ch of s) {
    if (displayWidth(out + ch) > width - 1) break;
    out += ch;
  }
  return out + '…' + ' '.repeat(width - 1 - displayWidth(out));
}
