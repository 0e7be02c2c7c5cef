// Node's floor for the seed's bank: one raw Worker (the least Node can do to run code on another
// thread) makes the 100 deposits of ￥1, each 10 ms inside a plain promise-chain lock, and the
// main thread prints the balance. No threadkit, no shared memory, no per-deposit thread. A .ts
// main, as examples/bank-lock.ts is. Usage: node raw-worker-bank.ts
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';

const worker = new Worker(new URL('./raw-worker-bank-thread.mjs', import.meta.url));
const [balance] = (await once(worker, 'message')) as [number];
await worker.terminate();
console.log(`账户余额为: ￥${balance}元`);
