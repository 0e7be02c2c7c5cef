/**
 * `threadkit bank`: the seed's lesson as a command. N depositors each add an amount to one
 * account; without a lock, updates are lost; with one, the balance is exact.
 *
 * This file is the command line only (light: `--help` loads nothing else); the runs are in
 * simulate.ts, the account in account.ts, `--timeline` in record.ts and timeline.ts, and
 * `--redis` in redis.ts, each imported when asked for.
 */
import { integerOption, parseCommandLine, UsageError } from '../options.ts';
import type { BankMode, BankRun } from './simulate.ts';

export const USAGE = `Usage: threadkit bank [options]

The seed's bank account race: N depositors each add AMOUNT to one shared account.
Without a lock, concurrent read-wait-write deposits overwrite each other; with a Lock the
balance is exact. With neither --lock nor --no-lock, runs both: the race, then the fix.

Options:
  --threads N     depositors (default 100)
  --amount A      each deposit, a positive integer (default 1)
  --delay MS      time between reading and writing the balance, the seed's sleep(0.01) (default 10)
  --lock          protect each deposit with a Lock
  --no-lock       leave deposits unprotected
  --mode M        thread:  each depositor is a threadkit Thread (default)
                  async:   each depositor is an async task on the main thread
                  process: each depositor is a threadkit Process (the account in /dev/shm)
  --json          print one JSON object per run: {"mode","lock","expected","actual","lost","ms"}
  --timeline FILE trace the runs and draw them as one self-contained HTML page: each deposit as
                  read → sleep → write, each lost update marked (--mode thread or process)
  --redis URL     the race across processes with the balance in Redis (see --redis URL --help)
  -h, --help      show this help`;

const PLURAL = { thread: 'threads', async: 'async tasks', process: 'processes' } as const;

function describe(run: BankRun): string {
  const how = run.lock ? 'with a Lock' : 'without a lock';
  const who = `${run.threads} ${PLURAL[run.mode]}`;
  const verdict = run.lost === 0 ? 'no update lost' : `${run.lost} of ${run.threads} deposits lost`;
  return `${who} ${how}: expected ￥${run.expected}, actual ￥${run.actual} — ${verdict} (${run.ms} ms)`;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.some((a) => a === '--redis' || a.startsWith('--redis='))) return (await import('./redis.ts')).run(argv);
  const options = parseCommandLine(
    { command: 'bank', usage: USAGE },
    argv,
    {
      threads: { type: 'string' },
      amount: { type: 'string' },
      delay: { type: 'string' },
      lock: { type: 'boolean' },
      'no-lock': { type: 'boolean' },
      mode: { type: 'string' },
      json: { type: 'boolean' },
      timeline: { type: 'string' },
    },
    (values) => {
      if (values.lock && values['no-lock']) throw new UsageError('Give --lock or --no-lock, not both.');
      const mode = values.mode ?? 'thread';
      if (mode !== 'thread' && mode !== 'async' && mode !== 'process') throw new UsageError(`--mode must be thread, async or process, got '${mode}'.`);
      if (values.timeline !== undefined && mode === 'async')
        throw new UsageError('--timeline draws a lane per depositor thread or process; use it with --mode thread or --mode process.');
      if (values.timeline === '') throw new UsageError('--timeline needs a file name, such as --timeline race.html.');
      return {
        mode: mode as BankMode,
        threads: integerOption('threads', values.threads, 100),
        amount: integerOption('amount', values.amount, 1),
        delay: integerOption('delay', values.delay, 10, 0),
        locks: values.lock ? [true] : values['no-lock'] ? [false] : [false, true],
        json: values.json ?? false,
        timeline: values.timeline,
      };
    },
  );
  if (typeof options === 'number') return options;
  const { simulate, processMemoryAvailable } = await import('./simulate.ts');
  if (options.mode === 'process' && !processMemoryAvailable()) {
    console.error(
      "threadkit bank: --mode process needs memory shared between processes, which needs threadkit's native addon (Linux, a C compiler at install). Use --mode thread or --mode async.\nRun 'threadkit bank --help' for the options.",
    );
    return 2;
  }

  const results: BankRun[] = [];
  const runAll = async (): Promise<BankRun[]> => {
    for (const lock of options.locks) {
      const result = await simulate(options.mode, options.threads, options.amount, options.delay, lock);
      results.push(result);
      if (options.json) {
        const { mode, expected, actual, lost, ms } = result;
        console.log(JSON.stringify({ mode, lock, expected, actual, lost, ms }));
      } else {
        console.log(describe(result));
      }
    }
    return results;
  };
  if (options.timeline === undefined) {
    await runAll();
  } else {
    try {
      const { writeTimeline } = await import('./record.ts');
      const path = await writeTimeline(options.timeline, runAll);
      if (!options.json) console.log(`Wrote the timeline to ${path}. Open it in a browser.`);
    } catch (err) {
      console.error(`threadkit bank: ${(err as Error).message}`);
      return 1;
    }
  }
  return 0;
}
