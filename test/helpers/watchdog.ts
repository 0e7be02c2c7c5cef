/**
 * Imported first by every test file (`import '../helpers/watchdog.ts';`, checked by
 * test/hygiene.test.ts; not preloaded with --import, which would make threadkit treat the run as
 * one under loader hooks and name targets by position): once the
 * file's tests are done, anything still holding the event loop is a leak — a server, a worker, a
 * socket or a timer a test forgot. Without this the file's process would never exit and the run
 * would hang until something outside killed it; with it the file fails after a grace period and
 * names what it left behind. THREADKIT_WATCHDOG_STACKS=1 adds where each live timer was made.
 */
import { createHook } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { after } from 'node:test';

const GRACE_MS = Number(process.env.THREADKIT_WATCHDOG_MS ?? 30_000);

const clients = new Map<{ status: string }, string>();
const timers = new Map<number, { resource: { hasRef?(): boolean; _destroyed?: boolean }; stack: string }>();
if (process.env.THREADKIT_WATCHDOG_STACKS === '1') {
  createHook({
    init(id, type, _trigger, resource) {
      if (type === 'Timeout') timers.set(id, { resource: resource as never, stack: new Error().stack ?? '' });
    },
    destroy(id) {
      timers.delete(id);
    },
  }).enable();
  // Every ioredis client, with where it was made: a reconnect timer alone does not say whose it is.
  try {
    // require, not import(): a top-level await here would make every test file's module graph
    // asynchronous, and threadkit could then not read a test module's exports.
    const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    const connect = Redis.prototype.connect;
    Redis.prototype.connect = function (this: InstanceType<typeof Redis>, ...args: unknown[]) {
      if (!clients.has(this)) clients.set(this, new Error().stack ?? '');
      return (connect as (...a: unknown[]) => Promise<void>).apply(this, args);
    } as typeof connect;
  } catch {}
}

function describeHandle(h: unknown): string {
  const name = (h as object)?.constructor?.name ?? typeof h;
  const o = h as Record<string, unknown>;
  if (Array.isArray(o.spawnargs)) return `${name} pid ${String(o.pid)}: ${(o.spawnargs as string[]).join(' ')}`;
  if (typeof o.remotePort === 'number') return `${name} to ${String(o.remoteAddress)}:${o.remotePort}`;
  if (typeof o.localPort === 'number') return `${name} on port ${o.localPort}`;
  return name;
}

after(() => {
  setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().map(describeHandle);
    const openClients = [...clients]
      .filter(([c]) => c.status !== 'end')
      .map(([c, stack]) => `  an ioredis client (${c.status}) made at:\n${stack.split('\n').slice(2, 14).join('\n')}\n`);
    const live = [...timers.values()].filter((t) => t.resource.hasRef?.() && !t.resource._destroyed).map((t) => t.stack.split('\n').slice(2, 12).join('\n'));
    process.stderr.write(
      `watchdog: ${GRACE_MS} ms after this file's last test its process is still held open by: ${process.getActiveResourcesInfo().join(', ')}\n` +
        `  handles: ${handles.join('; ')}\n${openClients.join('')}${live.map((s) => `  a timer made at:\n${s}\n`).join('')}` +
        '  Close or stop whatever the file started (an after() hook), or it leaks into the next.\n',
    );
    process.exit(1);
  }, GRACE_MS).unref();
});
