// A program that awaits, at its top level, work its pool can finish only by replacing its one
// worker (maxTasksPerChild / maxTasksPerWorker): while the old worker exits and the new one boots,
// the pool must hold the program open, or Node ends it with code 13 (unsettled top-level await).
// Prints which worker ran each task, in order, as `pid:threadId`.
import { Pool, ProcessPoolExecutor, ThreadPoolExecutor } from 'threadkit';
import { whereAmI } from '../fixtures/pool-targets.ts';

const kind = process.argv[2] === 'process' ? 'process' : 'thread';
const api = process.argv[3];
const label = ({ pid, threadId }: { pid: number; threadId: number }) => `${pid}:${threadId}`;
let ran: string[];
if (api === 'executor') {
  const ex = new (kind === 'process' ? ProcessPoolExecutor : ThreadPoolExecutor)({ maxWorkers: 1, maxTasksPerWorker: 1 });
  ran = (await Promise.all([1, 2, 3].map(() => ex.submit(whereAmI).result()))).map(label);
  await ex.shutdown();
} else if (api === 'two-maps') {
  // The worker retires at the end of the first map; the second is submitted while it exits.
  const pool = new Pool({ processes: 1, kind, maxTasksPerChild: 2 });
  const first = await pool.map(whereAmI, [1, 2], { chunksize: 1 });
  const second = await pool.map(whereAmI, [3, 4], { chunksize: 1 });
  ran = [...first, ...second].map(label);
  await pool.terminate();
} else {
  const pool = new Pool({ processes: 1, kind, maxTasksPerChild: 2 });
  ran = (await pool.map(whereAmI, [1, 2, 3, 4, 5, 6], { chunksize: 1 })).map(label);
  await pool.terminate();
}
console.log(JSON.stringify(ran));
