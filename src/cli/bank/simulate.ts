/**
 * One run of the bank: N depositors, each a Thread, a Process or an async task, adding to one
 * `Account`. Loaded only once the command line is good: it is what loads threadkit.
 */
import { NotSupportedError, Process, RawValue, Thread, trace } from 'threadkit';
import { Account, deposit, type BankStep } from './account.ts';

export type BankMode = 'thread' | 'async' | 'process';

export interface BankRun {
  mode: BankMode;
  lock: boolean;
  threads: number;
  expected: number;
  actual: number;
  lost: number;
  ms: number;
}

export async function simulate(mode: BankMode, threads: number, amount: number, delayMs: number, lock: boolean): Promise<BankRun> {
  // The span marks the run in a trace: timeline.ts draws one section per run.
  return trace.span(`bank run ${lock ? 'with' : 'without'} a lock`, () => runDepositors(mode, threads, amount, delayMs, lock), {
    bank: 'run' satisfies BankStep,
    lock,
  });
}

async function runDepositors(mode: BankMode, threads: number, amount: number, delayMs: number, lock: boolean): Promise<BankRun> {
  const account = new Account();
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
  const expected = threads * amount;
  const actual = account.balance.value;
  return { mode, lock, threads, expected, actual, lost: Math.round((expected - actual) / amount), ms: Math.round(ms * 10) / 10 };
}

/**
 * Whether memory can be shared between processes here (threadkit's native addon was built):
 * asked the way a user would, by making a value in process memory.
 */
export function processMemoryAvailable(): boolean {
  try {
    new RawValue('i', 0, { memory: 'process' });
    return true;
  } catch (err) {
    if (err instanceof NotSupportedError) return false;
    throw err;
  }
}
