/** The `threadkit` command: dispatches to one subcommand per folder of `src/cli/`. */
const USAGE = `Usage: threadkit <command> [options]

Commands:
  download   download files in parallel, one worker per file (try: threadkit download --demo)
  bank       the seed's bank account race, shown and then fixed with a Lock
  trace      draw a trace (THREADKIT_TRACE=run.json) as a timeline: threadkit trace view run.json
  worker     run tasks of a ClusterExecutor (threadkit/redis) from this machine

Run 'threadkit <command> --help' for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'download':
      return (await import('./download/command.ts')).run(rest);
    case 'bank':
      return (await import('./bank/command.ts')).run(rest);
    case 'trace':
      return (await import('./trace/command.ts')).run(rest);
    case 'worker':
      return (await import('./worker/command.ts')).run(rest);
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`threadkit: unknown command '${command}'.\n\n${USAGE}`);
      return 2;
  }
}
