/**
 * The seed's bank account, as `threadkit bank` runs it: a balance in shared memory, a Lock, and
 * a deposit that reads, waits (the seed's `sleep(0.01)`), then writes — the window in which
 * concurrent deposits overwrite each other when nothing excludes them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Lock } from '../../sync/lock.ts';
import { RawValue } from '../../shared/raw-value.ts';
import { TRACING, complete, nowUs } from '../../trace/recorder.ts';

export class Account {
  balance = new RawValue('i', 0);
  lock = new Lock({ name: 'account' });
}

async function unprotected(account: Account, amount: number, delayMs: number): Promise<void> {
  if (TRACING) return traced(account, amount, delayMs);
  const newBalance = account.balance.value + amount;
  if (delayMs > 0) await sleep(delayMs);
  else await Promise.resolve();
  account.balance.value = newBalance;
}

/** The same deposit, each step recorded for `threadkit bank --timeline` (categories read, sleep, write). */
async function traced(account: Account, amount: number, delayMs: number): Promise<void> {
  const t0 = nowUs();
  const balance = account.balance.value;
  const newBalance = balance + amount;
  const t1 = nowUs();
  complete('read', `read ￥${balance}`, t0, t1, { balance });
  if (delayMs > 0) await sleep(delayMs);
  else await Promise.resolve();
  const t2 = nowUs();
  complete('sleep', `sleep ${delayMs} ms`, t1, t2);
  account.balance.value = newBalance;
  complete('write', `write ￥${newBalance}`, t2, nowUs(), { read: balance, balance: newBalance });
}

/** One deposit; with `useLock`, the read-wait-write runs under the account's lock. */
export async function deposit(account: Account, amount: number, delayMs: number, useLock: boolean): Promise<void> {
  if (!useLock) return unprotected(account, amount, delayMs);
  await account.lock.acquire();
  try {
    await unprotected(account, amount, delayMs);
  } finally {
    account.lock.release();
  }
}
