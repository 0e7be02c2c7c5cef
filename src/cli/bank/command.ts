/**
 * `threadkit bank`: the seed's lesson as a command. N depositors each add an amount to one
 * account; without a lock, updates are lost; with one, the balance is exact.
 */
import { parseArgs } from 'node:util';
import { Process } from '../../process/process.ts';
import { available as processMemory } from '../../internal/shm.ts';
import { Thread } from '../../thread/thread.ts';
import { Account, deposit } from './account.ts';
import { writeTimeline } from './record.ts';
import { TRACING, complete, nowUs } from '../../trace/recorder.ts';

const USAGE = `Usage: threadkit bank [options]

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

export interface BankRun {
  mode: 'thread' | 'async' | 'process';
  lock: boolean;
  threads: number;
  expected: number;
  actual: number;
  lost: number;
  ms: number;
}

export async function simulate(mode: BankRun['mode'], threads: number, amount: number, delayMs: number, lock: boolean): Promise<BankRun> {
  const account = new Account();
  const traceStart = TRACING ? nowUs() : 0;
  const start = performance.now();
  if (mode === 'thread' || mode === 'process') {
    const Kind = mode === 'thread' ? Thread : Process;
    const workers = Array.from({ length: threads }, () => new Kind({ target: deposit, args: [account, amount, delayMs, lock] }));
    for (const t of workers) t.start();
    for (const t of workers) await t.join();
    const failed = workers.find((t) => t.exitCode !== 0);
    if (failed) throw new Error(`A depositor ${mode} failed (exit code ${failed.exitCode}): ${(failed.error as Error)?.message ?? failed.error}`);
  } else {
    await Promise.all(Array.from({ length: threads }, () => deposit(account, amount, delayMs, lock)));
  }
  const ms = performance.now() - start;
  if (TRACING) complete('bank', `bank run ${lock ? 'with' : 'without'} a lock`, traceStart, nowUs(), { lock });
  const expected = threads * amount;
  const actual = account.balance.value;
  return { mode, lock, threads, expected, actual, lost: Math.round((expected - actual) / amount), ms: Math.round(ms * 10) / 10 };
}

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer from ${min} up, got '${text}'.`);
  return n;
}

class UsageError extends Error {}

const PLURAL = { thread: 'threads', async: 'async tasks', process: 'processes' } as const;

function describe(run: BankRun): string {
  const how = run.lock ? 'with a Lock' : 'without a lock';
  const who = `${run.threads} ${PLURAL[run.mode]}`;
  const verdict = run.lost === 0 ? 'no update lost' : `${run.lost} of ${run.threads} deposits lost`;
  return `${who} ${how}: expected ￥${run.expected}, actual ￥${run.actual} — ${verdict} (${run.ms} ms)`;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.some((a) => a === '--redis' || a.startsWith('--redis='))) return (await import('./redis.ts')).run(argv);
  let options;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        threads: { type: 'string' },
        amount: { type: 'string' },
        delay: { type: 'string' },
        lock: { type: 'boolean' },
        'no-lock': { type: 'boolean' },
        mode: { type: 'string' },
        json: { type: 'boolean' },
        timeline: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.lock && values['no-lock']) throw new UsageError('Give --lock or --no-lock, not both.');
    const mode = values.mode ?? 'thread';
    if (mode !== 'thread' && mode !== 'async' && mode !== 'process') throw new UsageError(`--mode must be thread, async or process, got '${mode}'.`);
    if (values.timeline !== undefined && mode === 'async')
      throw new UsageError('--timeline draws a lane per depositor thread or process; use it with --mode thread or --mode process.');
    if (values.timeline === '') throw new UsageError('--timeline needs a file name, such as --timeline race.html.');
    if (mode === 'process' && !processMemory) {
      throw new UsageError(
        "--mode process needs memory shared between processes, which needs threadkit's native addon (Linux, a C compiler at install). Use --mode thread or --mode async.",
      );
    }
    options = {
      mode: mode as BankRun['mode'],
      threads: positiveInt('threads', values.threads, 100),
      amount: positiveInt('amount', values.amount, 1),
      delay: positiveInt('delay', values.delay, 10, 0),
      locks: values.lock ? [true] : values['no-lock'] ? [false] : [false, true],
      json: values.json ?? false,
      timeline: values.timeline,
    };
  } catch (err) {
    const message = err instanceof UsageError ? err.message : (err as Error).message;
    console.error(`threadkit bank: ${message}\nRun 'threadkit bank --help' for the options.`);
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
      const path = await writeTimeline(options.timeline, runAll);
      if (!options.json) console.log(`Wrote the timeline to ${path}. Open it in a browser.`);
    } catch (err) {
      console.error(`threadkit bank: ${(err as Error).message}`);
      return 1;
    }
  }
  return 0;
}
