/**
 * The seed's bank account, as `threadkit bank` runs it: a balance in shared memory, a Lock, and
 * a deposit that reads, waits (the seed's `sleep(0.01)`), then writes — the window in which
 * concurrent deposits overwrite each other when nothing excludes them.
 *
 * Written against threadkit's public API only, as a user's program would be.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Lock, RawValue, trace } from 'threadkit';

/** The `bank` argument of the spans a traced deposit records: what timeline.ts draws. */
export type BankStep = 'read' | 'sleep' | 'write' | 'run';

export class Account {
  balance = new RawValue('i', 0);
  lock = new Lock({ name: 'account' });
}

const pause = (delayMs: number): Promise<unknown> => (delayMs > 0 ? sleep(delayMs) : Promise.resolve());

async function unprotected(account: Account, amount: number, delayMs: number): Promise<void> {
  if (trace.enabled) return traced(account, amount, delayMs);
  const newBalance = account.balance.value + amount;
  await pause(delayMs);
  account.balance.value = newBalance;
}

/**
 * The same deposit, each step a `trace.span` for `threadkit bank --timeline`, told apart by its
 * `bank` argument. The write's arguments carry the balance it had read.
 */
async function traced(account: Account, amount: number, delayMs: number): Promise<void> {
  const balance = trace.span('read the balance', () => account.balance.value, { bank: 'read' satisfies BankStep });
  const newBalance = balance + amount;
  await trace.span(`sleep ${delayMs} ms`, () => pause(delayMs), { bank: 'sleep' satisfies BankStep });
  trace.span(
    `write ￥${newBalance}`,
    () => {
      account.balance.value = newBalance;
    },
    { bank: 'write' satisfies BankStep, read: balance, balance: newBalance },
  );
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
