/**
 * The seed's bank account, as `threadkit bank` runs it: a balance in shared memory, a Lock, and
 * a deposit that reads, waits (the seed's `sleep(0.01)`), then writes — the window in which
 * concurrent deposits overwrite each other when nothing excludes them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Lock } from '../../sync/lock.ts';
import { RawValue } from '../../shared/raw-value.ts';

export class Account {
  balance = new RawValue('i', 0);
  lock = new Lock();
}

async function unprotected(account: Account, amount: number, delayMs: number): Promise<void> {
  const newBalance = account.balance.value + amount;
  if (delayMs > 0) await sleep(delayMs);
  else await Promise.resolve();
  account.balance.value = newBalance;
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
