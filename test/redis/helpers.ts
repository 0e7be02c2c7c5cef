/**
 * A real Redis for the tests: `redis-server` on a free port with a temporary directory
 * (append-only file on, so a restart keeps the data), stopped by its pid. Without a
 * `redis-server` on PATH the Redis tests are skipped with the reason and the install command —
 * except under CI=true, where they fail instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, waitUntilGone } from '../helpers/processes.ts';

const INSTALL = 'apt-get install -y redis-server (Debian/Ubuntu) or brew install redis';

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** `{ skip: reason }` for `describe` when there is no Redis to test against; under CI=true it throws instead. */
export function redisSkip(): { skip?: string } {
  if (hasRedisServer()) return {};
  const reason = `redis-server is not on PATH; install it to run the Redis tests: ${INSTALL}`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return { skip: reason };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.once('error', () => done(false));
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#child!.pid!;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'threadkit-redis-')));
    await server.#spawn();
    return server;
  }

  async #spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    this.#child = child;
    const deadline = Date.now() + 10_000;
    while (!(await answers(this.port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server on port ${this.port} did not answer within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGSTOP: Redis stops answering, connections stay open. */
  pause(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  /** Stops Redis (SIGTERM: it flushes the append-only file) and starts it again on the same port and directory. */
  async restart(downMs = 300): Promise<void> {
    await this.#stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.#spawn();
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || !isRunning(child.pid!)) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid!, 'SIGCONT');
    process.kill(child.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (isRunning(child.pid!)) process.kill(child.pid!, 'SIGKILL');
    await waitUntilGone([child.pid!], 5000);
  }

  async stop(): Promise<void> {
    await this.#stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
