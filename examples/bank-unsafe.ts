// The seed's second program: 100 threads each deposit ￥1 into one account, unprotected.
// Run it with the project's Node 24: npm run example:bank-unsafe (or npx node examples/bank-unsafe.ts)
//
// Python's threads share the account object; threadkit's Threads are worker threads, so the
// balance lives in shared memory (a RawValue: a plain shared int, no lock) and the Account
// crosses to each thread as its class plus that field.
import { RawValue, Thread, isMain } from 'threadkit';
import { setTimeout as sleep } from 'node:timers/promises';

export class Account {
  _balance = new RawValue('i', 0);

  async deposit(money: number) {
    // 计算存款后的余额
    const newBalance = this._balance.value + money;
    // 模拟受理存款业务需要0.01秒的时间
    await sleep(10);
    // 修改账户余额
    this._balance.value = newBalance;
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
  // 创建100个存款的线程向同一个账户中存钱
  for (let i = 0; i < 100; i++) {
    const t = new AddMoneyThread(account, 1);
    threads.push(t);
    t.start();
  }
  // 等所有存款的线程都执行完毕
  for (const t of threads) {
    await t.join();
  }
  console.log(`账户余额为: ￥${account.balance}元`);
}

if (isMain(import.meta)) {
  await main();
}
