/**
 * The command line of the commands with flat options (`bank`, `bank --redis`, `worker`): parsed
 * strictly with `util.parseArgs`, `-h`/`--help` answered with the usage text, and every problem
 * printed as one line plus a hint, exit code 2, no stack trace. (`download` has its own parser,
 * download/args.ts, for its URL lists and input files.)
 *
 * Light on purpose: a command's start and its `--help` load this file and nothing heavy.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A bad command line: the message echoes the bad value and says what is expected. */
export class UsageError extends Error {}

type WithHelp<O extends ParseArgsOptionsConfig> = O & { help: { type: 'boolean'; short: 'h' } };
export type OptionValues<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: WithHelp<O>; strict: true }>>['values'];

export interface CommandLine {
  /** The command's name as typed after `threadkit`, e.g. `bank`. */
  command: string;
  usage: string;
  /** How to ask for the options, in the hint after an error (default: `threadkit COMMAND --help`). */
  helpHint?: string;
}

/**
 * Parses `argv` and hands the values to `validate` (which throws `UsageError` for a bad one).
 * Returns what `validate` returns, or an exit code once it has printed: 0 after the usage text
 * (`-h`), 2 after a usage error.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig, T extends object>(
  line: CommandLine,
  argv: string[],
  options: O,
  validate: (values: OptionValues<O>) => T,
): T | number {
  try {
    const all: WithHelp<O> = { ...options, help: { type: 'boolean', short: 'h' } };
    const { values } = parseArgs<{ args: string[]; options: WithHelp<O>; strict: true }>({ args: argv, options: all, strict: true });
    if ('help' in values && values.help === true) {
      console.log(line.usage);
      return 0;
    }
    return validate(values);
  } catch (err) {
    // parseArgs's own errors (an unknown or valueless option) are usage errors too.
    console.error(`threadkit ${line.command}: ${(err as Error).message}\nRun '${line.helpHint ?? `threadkit ${line.command} --help`}' for the options.`);
    return 2;
  }
}

/** `--NAME N`: an integer from `min` up, or `fallback` when not given. */
export function integerOption(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer from ${min} up, got '${text}'.`);
  return n;
}

/** `--redis URL`: a `redis://` or `rediss://` URL. */
export function redisUrlOption(value: string | undefined): string {
  if (!value || !/^rediss?:\/\//.test(value)) throw new UsageError(`--redis must be a URL such as redis://127.0.0.1:6379${value ? `, got '${value}'` : ''}.`);
  return value;
}

/** `--queue NAME`: letters, digits, `_`, `.` and `-`, as Redis keys and BullMQ queue names take them. */
export function queueNameOption(value: string | undefined): string {
  if (!value || !/^[A-Za-z0-9_.-]+$/.test(value))
    throw new UsageError(`--queue must be a name of letters, digits, '_', '.' or '-'${value ? `, got '${value}'` : ''}.`);
  return value;
}
