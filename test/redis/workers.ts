/** `threadkit worker` processes standing in for machines, started on a queue and stopped by pid. */
import { fileURLToPath } from 'node:url';
import { LineProcess } from './process.ts';

const BIN = fileURLToPath(new URL('../../bin/threadkit.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function startWorker(url: string, queue: string, extra: string[] = []): Promise<LineProcess> {
  const w = new LineProcess([BIN, 'worker', '--redis', url, '--queue', queue, '--root', ROOT, '--lock-ms', '1000', ...extra]);
  await w.line(/serving queue/, 20_000);
  return w;
}

export async function startWorkers(count: number, url: string, queue: string, extra: string[] = []): Promise<LineProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker(url, queue, extra)));
}
