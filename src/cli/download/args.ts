/**
 * The command line of `threadkit download`, parsed with `util.parseArgs` and validated into
 * `DownloadArgs`. Every problem is a `UsageError` whose message echoes the bad value and says
 * what is expected (the command prints it and exits 2).
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { proxyFor } from './proxy.ts';
import type { DownloadJob } from './messages.ts';
import { DEFAULT_WORKER_MODEL, WORKER_MODELS, type WorkerModel } from './workers.ts';

export const USAGE = `Usage: threadkit download [options] URL...
       threadkit download [options] -i FILE
       threadkit download --demo

Downloads files in parallel, each in its own worker, into NAME.part files that are renamed to
NAME only once complete (and verified). Names come from Content-Disposition or the URL.

Options:
  -i, --input-file FILE   read URLs from FILE ('-' for stdin): one per line, optionally
                          followed by sha256=<hex>; blank lines and '#' comments are skipped
  -o, --output-dir DIR    where files go (default: the current directory; for --demo a new
                          temporary directory)
  -j, --jobs N            files downloaded at once (default: 8)
      --workers MODEL     where each download runs: auto (the default: on the main event loop,
                          and, with more than one at a time, a fresh download of 64 MiB or
                          more (Content-Length) on one of a few download threads, one per
                          core), inline (all on the main event loop), thread (all on the
                          download threads) or process (a threadkit Process per file, the
                          seed's model)
  -c, --continue          resume NAME.part files left by an earlier run (Ctrl-C, crash)
  -f, --force             replace existing files whose content differs (default: refuse;
                          a folder under the name is never replaced)
      --checksum sha256=HEX  verify the file (one URL only; use -i for several)
      --retries N         tries after a transient failure: reset, time-out, 5xx, 429 (default: 5)
      --retry-wait SEC    first backoff delay, doubled per try with jitter (default: 0.5)
      --retry-max-wait SEC  longest backoff or Retry-After honoured (default: 30)
      --timeout SEC       fail a try when no byte, or no whole head, comes for this long (default: 30)
      --connect-timeout SEC  fail a try when connecting (TCP, proxy, TLS) takes longer
                          (default: 10)
      --ca-certificate FILE  also trust the PEM certificate(s) in FILE for https://
                          (default: Node's roots, plus NODE_EXTRA_CA_CERTS when set)
      --max-redirects N   (default: 10)
      --json              print one JSON summary object at the end, nothing else
      --ndjson            print one JSON object per line as things happen: start, response,
                          progress, retry (events), result (one per file), summary (last)
  -q, --quiet             print only failures
      --plain             plain lines even when stdout is a terminal (no progress bars)
      --demo              serve the seed's two files from a local server and download them
      --demo-seconds LIST seconds each demo file takes, e.g. 1,2 (default: random 5-10 each)
  -h, --help              show this help

Environment: http_proxy / HTTP_PROXY and https_proxy / HTTPS_PROXY name an http:// proxy
for http:// and https:// URLs (https through CONNECT); no_proxy / NO_PROXY lists hosts that
go direct (comma-separated: host, .domain, IP, optional :port, or *). Default: no proxy.

Credentials: USER:PASSWORD@ in front of a URL's host is sent as Basic authorization to that
scheme, host and port only (also after a redirect there, never to another host), and is
masked in everything printed.

Exit status: 0 when every file is complete (and verified), 1 when any failed, 2 for bad usage,
130 after Ctrl-C, 143 after SIGTERM, 129 after SIGHUP (NAME.part files are kept: run the same
command with -c to resume).
On a checksum mismatch the download is deleted (resuming it would give the same bytes).`;

export type OutputMode = 'auto' | 'json' | 'ndjson' | 'quiet';

export interface UrlSpec {
  url: string;
  sha256?: string;
}

/** What a command line says; the per-file settings are a job's own (see `DownloadJob`). */
export interface DownloadArgs
  extends Pick<DownloadJob, 'resume' | 'force' | 'retries' | 'retryBaseMs' | 'retryMaxMs' | 'timeoutMs' | 'connectTimeoutMs' | 'ca' | 'maxRedirects'> {
  help: boolean;
  /** Each URL once (see `withoutRepeats`). */
  urls: UrlSpec[];
  /** The URLs given more than once, each with how many times. */
  repeated: Array<{ url: string; times: number }>;
  outputDir: string | undefined;
  jobs: number;
  workers: WorkerModel;
  output: OutputMode;
  plain: boolean;
  demo: boolean;
  demoSeconds: number[] | undefined;
}

export const DEFAULT_JOBS = 8;

/** Options that take a number: `-j -1` is given to them as `--jobs=-1`, so the check below names the problem. */
const NUMERIC = new Map([
  ['-j', 'jobs'],
  ['--jobs', 'jobs'],
  ['--retries', 'retries'],
  ['--retry-wait', 'retry-wait'],
  ['--retry-max-wait', 'retry-max-wait'],
  ['--timeout', 'timeout'],
  ['--connect-timeout', 'connect-timeout'],
  ['--max-redirects', 'max-redirects'],
]);

/**
 * parseArgs takes the `-1` of `-j -1` for an option and says "argument is ambiguous"; a negative
 * number after a numeric option is that option's value, which the checks then refuse clearly.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const long = NUMERIC.get(arg);
    const next = argv[i + 1];
    if (long && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${long}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export async function parseDownloadArgs(argv: string[]): Promise<DownloadArgs> {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      strict: true,
      options: {
        'input-file': { type: 'string', short: 'i' },
        'output-dir': { type: 'string', short: 'o' },
        jobs: { type: 'string', short: 'j' },
        workers: { type: 'string' },
        continue: { type: 'boolean', short: 'c' },
        force: { type: 'boolean', short: 'f' },
        checksum: { type: 'string' },
        retries: { type: 'string' },
        'retry-wait': { type: 'string' },
        'retry-max-wait': { type: 'string' },
        timeout: { type: 'string' },
        'connect-timeout': { type: 'string' },
        'ca-certificate': { type: 'string' },
        'max-redirects': { type: 'string' },
        json: { type: 'boolean' },
        ndjson: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        plain: { type: 'boolean' },
        demo: { type: 'boolean' },
        'demo-seconds': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs' own messages are clear ("Unknown option '--frob'"); keep their first line.
    throw new UsageError(String((err as Error).message).split('\n')[0]!);
  }
  const { values: v, positionals } = parsed;
  const help = v.help === true;

  const workers = (v.workers ?? DEFAULT_WORKER_MODEL) as WorkerModel;
  if (!WORKER_MODELS.includes(workers)) {
    throw new UsageError(`--workers expects one of ${WORKER_MODELS.join(', ')}, got '${v.workers}'`);
  }
  if ([v.json, v.ndjson, v.quiet].filter(Boolean).length > 1) {
    throw new UsageError('--json, --ndjson and --quiet exclude each other; pick one');
  }
  const output: OutputMode = v.json ? 'json' : v.ndjson ? 'ndjson' : v.quiet ? 'quiet' : 'auto';

  const urls: UrlSpec[] = positionals.map((url) => ({ url }));
  if (v['input-file'] !== undefined) urls.push(...(await readInputFile(v['input-file'])));
  const demo = v.demo === true;
  if (demo && urls.length > 0) throw new UsageError('--demo downloads its own files; drop the URLs or drop --demo');
  if (!demo && urls.length === 0 && !help) {
    throw new UsageError('no URL given; pass one or more URLs, -i FILE, or --demo to try it');
  }
  if (v.checksum !== undefined) {
    if (urls.length !== 1) {
      throw new UsageError(`--checksum applies to a single URL, got ${urls.length}; for several, put sha256=<hex> after each URL in an -i file`);
    }
    urls[0]!.sha256 = parseChecksum(v.checksum, '--checksum');
  }
  // A bad URL or proxy setting is bad usage (exit 2), found before anything starts.
  for (const spec of urls) proxyFor(checkUrl(spec.url));
  const { unique, repeated } = withoutRepeats(urls);
  let ca: string | undefined;
  if (v['ca-certificate'] !== undefined) {
    try {
      ca = await readFile(v['ca-certificate'], 'utf8');
    } catch (err) {
      throw new UsageError(
        `cannot read the --ca-certificate file '${v['ca-certificate']}' (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a PEM file`,
      );
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      throw new UsageError(`--ca-certificate '${v['ca-certificate']}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    await checkCertificates(ca, v['ca-certificate']);
  }
  const demoSeconds = v['demo-seconds'] === undefined ? undefined : parseSecondsList(v['demo-seconds']);
  if (demoSeconds && !demo) throw new UsageError('--demo-seconds only applies with --demo');

  return {
    help,
    urls: unique,
    repeated,
    outputDir: v['output-dir'],
    jobs: parseCount(v.jobs, '-j/--jobs', DEFAULT_JOBS, 1, 256),
    workers,
    resume: v.continue === true,
    force: v.force === true,
    retries: parseCount(v.retries, '--retries', 5, 0, 1000),
    retryBaseMs: parseSeconds(v['retry-wait'], '--retry-wait', 0.5) * 1000,
    retryMaxMs: parseSeconds(v['retry-max-wait'], '--retry-max-wait', 30) * 1000,
    timeoutMs: parseSeconds(v.timeout, '--timeout', 30, 0.001) * 1000,
    connectTimeoutMs: parseSeconds(v['connect-timeout'], '--connect-timeout', 10, 0.001) * 1000,
    ...(ca !== undefined && { ca }),
    maxRedirects: parseCount(v['max-redirects'], '--max-redirects', 10, 0, 100),
    output,
    plain: v.plain === true,
    demo,
    demoSeconds,
  };
}

/** A name for one run of the command; a `.part.lock` says which run holds it. */
export function newRunId(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Every certificate in a --ca-certificate file must parse: Node skips a damaged one in silence,
 * and the download then fails as "unable to verify", naming neither the file nor the option.
 */
async function checkCertificates(pem: string, file: string): Promise<void> {
  const { X509Certificate } = await import('node:crypto');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?(?:-----END CERTIFICATE-----|$)/g) ?? [];
  for (const [i, block] of blocks.entries()) {
    const which = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length}` : 'its certificate';
    if (!block.endsWith('-----END CERTIFICATE-----')) {
      throw new UsageError(`--ca-certificate '${file}': ${which} has no -----END CERTIFICATE----- line (the file is cut short); give the whole PEM file`);
    }
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new UsageError(
        `--ca-certificate '${file}': ${which} is damaged (${(err as Error).message.split('\n')[0]}); give the PEM file of the server's certificate or of the CA that signed it`,
      );
    }
  }
}

/** The job for URL number `id` of a run: the command line's per-file settings, for a local run or a cluster worker alike. */
export function jobOf(args: DownloadArgs, spec: UrlSpec, id: number, run: string, dir: string, progressIntervalMs: number): DownloadJob {
  return {
    id,
    run,
    url: spec.url,
    dir,
    ...(spec.sha256 && { sha256: spec.sha256 }),
    resume: args.resume,
    force: args.force,
    retries: args.retries,
    retryBaseMs: args.retryBaseMs,
    retryMaxMs: args.retryMaxMs,
    timeoutMs: args.timeoutMs,
    connectTimeoutMs: args.connectTimeoutMs,
    maxRedirects: args.maxRedirects,
    ...(args.ca && { ca: args.ca }),
    progressIntervalMs,
  };
}

/** A URL the downloader can fetch, or a `UsageError` naming what is wrong with it. */
export function checkUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    if (statSync(text, { throwIfNoEntry: false })?.isFile()) {
      throw new UsageError(`'${text}' is a file, not a URL; to download the URLs listed in it, use -i ${text}`);
    }
    if (/^[\w.-]+\.[a-z]{2,}(?:[:/?#]|$)/i.test(text)) throw new UsageError(`'${text}' has no scheme; give a full URL, such as 'https://${text}'`);
    throw new UsageError(`'${text}' is not a valid URL; give a full http:// or https:// URL`);
  }
  // `host:8080/path` parses as a URL of the scheme `host:`; `example.com/x` does not parse at all.
  if (/^[a-z\d.-]+:\d+(?:[/?#]|$)/i.test(text)) {
    throw new UsageError(`'${text}' has no scheme; give a full URL, such as 'http://${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`'${text}' uses ${url.protocol.slice(0, -1)}:, which is not supported; use http:// or https://`);
  }
  if (!url.hostname) throw new UsageError(`'${text}' has no host; give a full http:// or https:// URL`);
  return url;
}

/**
 * A URL given twice (on the command line, in -i, or both) would be two downloads of one file to
 * one name: it is downloaded once. The same URL with two different checksums is bad usage.
 */
function withoutRepeats(urls: UrlSpec[]): { unique: UrlSpec[]; repeated: Array<{ url: string; times: number }> } {
  const seen = new Map<string, { spec: UrlSpec; times: number }>();
  for (const spec of urls) {
    // The fragment never reaches the server: `#a` and `#b` name one file.
    const key = new URL(spec.url).href.replace(/#.*$/, '');
    const first = seen.get(key);
    if (!first) {
      seen.set(key, { spec: { ...spec }, times: 1 });
      continue;
    }
    first.times++;
    if (spec.sha256 === undefined) continue;
    if (first.spec.sha256 !== undefined && first.spec.sha256 !== spec.sha256) {
      throw new UsageError(`${spec.url} is given twice with different checksums (sha256 ${first.spec.sha256} and ${spec.sha256}); keep the right one`);
    }
    first.spec.sha256 = spec.sha256;
  }
  const entries = [...seen.values()];
  return {
    unique: entries.map((e) => e.spec),
    repeated: entries.filter((e) => e.times > 1).map((e) => ({ url: e.spec.url, times: e.times })),
  };
}

/** Says on stderr which URLs were given more than once (each is downloaded once). */
export function noteRepeats({ repeated }: Pick<DownloadArgs, 'repeated'>): void {
  for (const { url, times } of repeated) process.stderr.write(`threadkit download: ${url} is given ${times} times; downloading it once\n`);
}

/** Reads an input file: `URL [sha256=<hex>]` per line; `#` starts a comment. */
export async function readInputFile(path: string): Promise<UrlSpec[]> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot read the input file '${path}' (${code}); check the path given to -i`);
  }
  const specs: UrlSpec[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const [url, ...rest] = line.split(/\s+/);
    const spec: UrlSpec = { url: url! };
    for (const field of rest) {
      spec.sha256 = parseChecksum(field, `${path} line ${i + 1}`);
    }
    specs.push(spec);
  });
  return specs;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseChecksum(text: string, where: string): string {
  const m = /^sha256[=:]([0-9a-fA-F]{64})$/.exec(text.trim());
  if (!m) throw new UsageError(`${where}: expected sha256=<64 hex digits>, got '${text}'`);
  return m[1]!.toLowerCase();
}

function parseCount(text: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    throw new UsageError(`${name} expects a whole number from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

/** The longest a Node timer waits (2^31 - 1 ms); a longer one fires at once. */
const MAX_SECONDS = 2_147_483;

function parseSeconds(text: string | undefined, name: string, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > MAX_SECONDS) {
    throw new UsageError(`${name} expects a number of seconds${min > 0 ? ` from ${min}` : ' (0 or more)'} up to ${MAX_SECONDS} (24 days), got '${text}'`);
  }
  return n;
}

function parseSecondsList(text: string): number[] {
  const parts = text.split(',');
  const values = parts.map(Number);
  if (parts.some((p) => p.trim() === '') || values.some((n) => !Number.isFinite(n) || n <= 0 || n > 3600)) {
    throw new UsageError(`--demo-seconds expects seconds above 0 separated by commas, such as 1,2; got '${text}'`);
  }
  return values;
}
