// Node's floor for the seed's first program: the same two "downloads" in two children started
// with child_process.fork, the least Node can do to run code in a new process (the child is a
// plain .js file that does nothing else). Usage: node raw-fork-download.ts 1 2
import { fork } from 'node:child_process';
import { once } from 'node:events';

const time = () => performance.now() / 1000;
const child = new URL('./raw-fork-child.mjs', import.meta.url);

const start = time();
const p1 = fork(child, ['Python从入门到住院.pdf', process.argv[2] ?? '1'], { stdio: 'inherit' });
const p2 = fork(child, ['Peking Hot.avi', process.argv[3] ?? '2'], { stdio: 'inherit' });
await Promise.all([once(p1, 'exit'), once(p2, 'exit')]);
const end = time();
console.log(`总共耗费了${(end - start).toFixed(2)}秒.`);
console.log(`TOTAL ${(end - start).toFixed(6)}`);
