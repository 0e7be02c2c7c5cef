// The seed's first program (examples/download.ts) with fixed sleeps instead of randint(5, 10),
// so that total − longest is threadkit's overhead alone. Usage: node seed-download.ts 1 2
import { setTimeout as sleep } from 'node:timers/promises';
import { Process, isMain } from '../../dist/index.js';

const time = () => performance.now() / 1000;

export async function downloadTask(filename: string, timeToDownload: number) {
  console.log(`启动下载进程，进程号[${process.pid}].`);
  console.log(`开始下载${filename}...`);
  await sleep(timeToDownload * 1000);
  console.log(`${filename}下载完成! 耗费了${timeToDownload}秒`);
}

async function main(first: number, second: number) {
  const start = time();
  const p1 = new Process({ target: downloadTask, args: ['Python从入门到住院.pdf', first] });
  p1.start();
  const p2 = new Process({ target: downloadTask, args: ['Peking Hot.avi', second] });
  p2.start();
  await p1.join();
  await p2.join();
  const end = time();
  console.log(`总共耗费了${(end - start).toFixed(2)}秒.`);
  // For the bench: the same total at full precision.
  console.log(`TOTAL ${(end - start).toFixed(6)}`);
}

if (isMain(import.meta)) {
  await main(Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 2));
}
