/**
 * The `threadkit` command: dispatches to one subcommand per folder of `src/cli/` (download/,
 * bank/, trace/, worker/; options.ts is the flat option parsing they share).
 *
 * Each subcommand is imported only when it is the one asked for, so `threadkit --help` loads
 * this file alone and `threadkit bank` never loads the downloader. `threadkit X --help` loads
 * only the module that holds X's usage text (`usage`), not the whole command; each command's
 * own file is light too and imports its heavy parts (`threadkit` itself, about 45 ms to load,
 * the downloader, the drawing) once its command line is good. Keep it so: a static import of a
 * heavy module from a command's first file shows in `threadkit X --help`'s start-up time.
 *
 * The programs here use threadkit as a user does: they import only `threadkit` and
 * `threadkit/redis` (the package's own entry points, resolved to dist/), never src/ internals.
 */
interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
  /** The command's usage text, from the lightest module that has it. */
  usage?(): Promise<string>;
}

const COMMANDS: Record<string, Command> = {
  download: {
    summary: 'download files in parallel, one worker per file (try: threadkit download --demo)',
    run: async (argv) => (await import('./download/command.ts')).run(argv),
    usage: async () => (await import('./download/args.ts')).USAGE,
  },
  bank: {
    summary: "the seed's bank account race, shown and then fixed with a Lock",
    run: async (argv) => (await import('./bank/command.ts')).run(argv),
  },
  trace: {
    summary: 'draw a trace (THREADKIT_TRACE=run.json) as a timeline: threadkit trace view run.json',
    run: async (argv) => (await import('./trace/command.ts')).run(argv),
  },
  worker: {
    summary: 'run tasks of a ClusterExecutor (threadkit/redis) from this machine',
    run: async (argv) => (await import('./worker/command.ts')).run(argv),
  },
};

const USAGE = `Usage: threadkit <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run 'threadkit <command> --help' for a command's options; 'threadkit --version' for the version.`;

/**
 * Output that cannot be written — a reader that went away (`threadkit download … | head -1`,
 * EPIPE), a log on a full disk or /dev/full (ENOSPC) — makes the next write fail with an 'error'
 * event that would end the program with a stack trace, mid-download. What was left to print is
 * dropped instead, and the work goes on; its exit status still says how it went.
 */
function dropOutputOnceUnwritable(stream: NodeJS.WriteStream): void {
  stream.on('error', () => {
    stream.write = () => true;
  });
}

export async function main(argv: string[]): Promise<number> {
  dropOutputOnceUnwritable(process.stdout);
  dropOutputOnceUnwritable(process.stderr);
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '-V' || name === '--version') {
    const { readFileSync } = await import('node:fs');
    // src/cli/main.ts and dist/cli/main.js both sit two folders below the package's root.
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(`threadkit ${version} (Node.js ${process.version})`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(`threadkit: unknown command '${name}'.\n\n${USAGE}`);
    return 2;
  }
  if (command.usage && rest.length === 1 && (rest[0] === '-h' || rest[0] === '--help')) {
    process.stdout.write(`${await command.usage()}\n`);
    return 0;
  }
  return command.run(rest);
}
