// The worker of raw-worker-bank.ts: 100 async deposits, serialized by a promise chain.
import { parentPort } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

let balance = 0;
let tail = Promise.resolve();
const deposit = (money) => {
  const turn = tail.then(async () => {
    const next = balance + money;
    await sleep(10);
    balance = next;
  });
  tail = turn;
  return turn;
};
await Promise.all(Array.from({ length: 100 }, () => deposit(1)));
parentPort.postMessage(balance);
