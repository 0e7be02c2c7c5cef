// The seed's first program: two "downloads", each in its own process, at the same time.
// Run it with the project's Node 24: npm run example:download (or npx node examples/download.ts)
import { Process, isMain } from 'threadkit';
import { setTimeout as sleep } from 'node:timers/promises';

const randint = (a: number, b: number) => a + Math.floor(Math.random() * (b - a + 1));
const time = () => performance.now() / 1000;

export async function downloadTask(filename: string) {
  console.log(`启动下载进程，进程号[${process.pid}].`);
  console.log(`开始下载${filename}...`);
  const timeToDownload = randint(5, 10);
  await sleep(timeToDownload * 1000);
  console.log(`${filename}下载完成! 耗费了${timeToDownload}秒`);
}

async function main() {
  const start = time();
  const p1 = new Process({ target: downloadTask, args: ['Python从入门到住院.pdf'] });
  p1.start();
  const p2 = new Process({ target: downloadTask, args: ['Peking Hot.avi'] });
  p2.start();
  await p1.join();
  await p2.join();
  const end = time();
  console.log(`总共耗费了${(end - start).toFixed(2)}秒.`);
}

if (isMain(import.meta)) {
  await main();
}
