/**
 * `threadkit trace view run.json -o run.html`: draws a trace-event file (threadkit's, or any
 * Chrome/Perfetto JSON trace) as one self-contained HTML page.
 *
 * threadkit itself (for `traceProblems`, the format's check) and the drawing (from-trace.ts,
 * timeline.ts) are imported only once there is a trace to read, so that `--help` and a bad
 * command line start at once.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TraceFile } from 'threadkit';
import { UsageError } from '../options.ts';

const USAGE = `Usage: threadkit trace view TRACE.json [-o OUT.html]

Draws a trace (Chrome trace-event JSON, as THREADKIT_TRACE=run.json or trace.stop() writes it)
as one self-contained HTML page: a lane per thread, waits and holds coloured apart, hover for
details, Ctrl + wheel to zoom. Open the HTML in any browser; it loads nothing from the network.

Options:
  -o, --output OUT.html   where to write (default: TRACE.html next to the trace)
  -h, --help              show this help`;

/** Writes `text` to `path` whole or not at all. */
export function writeWhole(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export async function readTrace(path: string): Promise<TraceFile> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not JSON (${(err as Error).message}); give a trace-event file such as THREADKIT_TRACE=run.json writes.`);
  }
  if (Array.isArray(value)) value = { traceEvents: value }; // the format's array form
  const { traceProblems } = await import('threadkit');
  const problems = traceProblems(value);
  if (problems.length > 0) throw new UsageError(`${path} is not a valid trace:\n  ${problems.join('\n  ')}`);
  return value as TraceFile;
}

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [verb, input, ...extra] = positionals;
    if (verb !== 'view')
      throw new UsageError(verb === undefined ? 'say what to do: threadkit trace view TRACE.json' : `unknown subcommand '${verb}'; the one there is: view.`);
    if (input === undefined) throw new UsageError('give the trace file to draw: threadkit trace view TRACE.json -o OUT.html');
    if (extra.length > 0) throw new UsageError(`one trace at a time; got also ${extra.join(' ')}.`);
    const output = resolve(values.output ?? input.replace(/\.json$/i, '') + '.html');
    const trace = await readTrace(input);
    const [{ timelineOf }, { renderTimeline }] = await Promise.all([import('./from-trace.ts'), import('./timeline.ts')]);
    const html = renderTimeline(timelineOf(trace, `Trace of ${basename(input)}`));
    try {
      writeWhole(output, html);
    } catch (err) {
      throw new UsageError(`cannot write ${output}: ${(err as Error).message}.`);
    }
    console.log(`Wrote ${output} (${trace.traceEvents.length} events). Open it in a browser.`);
    return 0;
  } catch (err) {
    console.error(`threadkit trace: ${(err as Error).message}\nRun 'threadkit trace --help' for the options.`);
    return 2;
  }
}
