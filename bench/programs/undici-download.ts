/**
 * The undici side of the client comparison in suites/download.ts: every URL saved into OUT, `-j`
 * at a time, with `undici.stream` (Node's own HTTP engine, one keep-alive Agent) into an
 * `fs.WriteStream` with 1 MiB buffers (sequential writes that coalesce into `writev`), the same
 * write pattern as `threadkit download`. No retries, no resume: HTTP and disk only.
 *
 *   node programs/undici-download.ts OUT JOBS URL...
 */
import { createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { Agent, stream } from 'undici';

const [out, jobsText, ...urls] = process.argv.slice(2);
const jobs = Number(jobsText);
if (!out || !Number.isInteger(jobs) || jobs < 1 || urls.length === 0) {
  process.stderr.write('usage: undici-download.ts OUT JOBS URL...\n');
  process.exit(2);
}
const dispatcher = new Agent({ connections: jobs, pipelining: 1 });

async function save(url: string): Promise<void> {
  const path = `${out}/${basename(new URL(url).pathname)}`;
  await stream(url, { method: 'GET', dispatcher, opaque: path }, ({ statusCode, opaque }) => {
    if (statusCode !== 200) throw new Error(`HTTP ${statusCode} for ${url}`);
    return createWriteStream(opaque as string, { highWaterMark: 1 << 20 });
  });
}

let next = 0;
await Promise.all(
  Array.from({ length: Math.min(jobs, urls.length) }, async () => {
    while (next < urls.length) await save(urls[next++]!);
  }),
);
await dispatcher.close();
