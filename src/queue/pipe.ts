/**
 * `Pipe()`: Python's `multiprocessing.Pipe`, two `Connection` ends over two byte rings.
 */
import { Connection } from './connection.ts';
import { Ring } from './ring.ts';
import { capacityOption } from './transfer.ts';

export interface PipeOptions {
  /** Bytes of shared memory per direction (default 4 MiB); an object larger than that is refused. See `QueueOptions.capacityBytes`. */
  capacityBytes?: number;
}

/**
 * Returns the two ends of a pipe, `[a, b]`. With `duplex` (the default) each end sends and
 * receives; otherwise `a` can only receive and `b` can only send (as in Python).
 *
 * ```ts
 * const [parent, child] = Pipe<string>();
 * new Thread({ target: echo, args: [child] }).start();
 * await parent.send('ping');
 * await parent.recv({ timeoutMs: 1000 });
 * ```
 * Ends work among async tasks of one thread, across `Thread`s and across `Process`es (pass an
 * end in `args`).
 */
export function Pipe<T = unknown>(duplex = true, options?: PipeOptions): [Connection<T>, Connection<T>] {
  const capacity = capacityOption(options?.capacityBytes, 'Pipe()');
  const ab = Ring.create(capacity, 0).state;
  if (!duplex) return [new Connection<T>({ inbound: ab }), new Connection<T>({ outbound: ab })];
  const ba = Ring.create(capacity, 0).state;
  return [new Connection<T>({ inbound: ba, outbound: ab }), new Connection<T>({ inbound: ab, outbound: ba })];
}
