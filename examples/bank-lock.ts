// The seed's second program with a Lock: 100 threads each deposit ￥1, and the balance is ￥100.
// Run it with the project's Node 24: npm run example:bank-lock (or npx node examples/bank-lock.ts)
import { Lock, RawValue, Thread, isMain } from 'threadkit';
import { setTimeout as sleep } from 'node:timers/promises';

export class Account {
  _balance = new RawValue('i', 0);
  _lock = new Lock();

  async deposit(money: number) {
    // 先获取锁才能执行后续的代码
    await this._lock.acquire();
    try {
      const newBalance = this._balance.value + money;
      await sleep(10);
      this._balance.value = newBalance;
    } finally {
      // 在finally中执行释放锁的操作保证正常异常锁都能释放
      this._lock.release();
    }
  }

  get balance() {
    return this._balance.value;
  }
}

export class AddMoneyThread extends Thread {
  _account: Account;
  _money: number;

  constructor(account: Account, money: number) {
    super();
    this._account = account;
    this._money = money;
  }

  override async run() {
    await this._account.deposit(this._money);
  }
}

async function main() {
  const account = new Account();
  const threads: AddMoneyThread[] = [];
  for (let i = 0; i < 100; i++) {
    const t = new AddMoneyThread(account, 1);
    threads.push(t);
    t.start();
  }
  for (const t of threads) {
    await t.join();
  }
  console.log(`账户余额为: ￥${account.balance}元`);
}

if (isMain(import.meta)) {
  await main();
}
