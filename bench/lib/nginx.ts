/**
 * A throwaway nginx serving one folder on 127.0.0.1 at a free high port, with its own minimal
 * config (sendfile on, no access log), so the download suite measures clients, not the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { sleep } from './report.ts';

export interface Nginx {
  /** `http://127.0.0.1:PORT/` */
  baseUrl: string;
  stop(): Promise<void>;
}

/** A port the kernel just gave out, so very likely free (nginx fails loudly if not). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function config(root: string, prefix: string, port: number): string {
  const tmp = `${prefix}/tmp`;
  return `# Written by bench/lib/nginx.ts for one bench run.
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes auto;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
}

function ok(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'HEAD' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** Starts nginx serving `root`; `probe` is a file name under root used to tell it is up. */
export async function startNginx(root: string, prefix: string, probe: string): Promise<Nginx> {
  mkdirSync(`${prefix}/tmp`, { recursive: true });
  const port = await freePort();
  writeFileSync(`${prefix}/nginx.conf`, config(root, prefix, port));
  const child: ChildProcess = spawn('nginx', ['-p', prefix, '-e', `${prefix}/error.log`, '-c', `${prefix}/nginx.conf`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start: ${stderr.trim()}`);
    if (await ok(baseUrl + probe)) {
      return {
        baseUrl,
        async stop() {
          // SIGQUIT: graceful stop of master and workers.
          if (child.exitCode === null) child.kill('SIGQUIT');
          await Promise.race([exited, sleep(5000)]);
          if (child.exitCode === null) child.kill('SIGKILL');
        },
      };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not answer on ${baseUrl} within 5 s: ${stderr.trim()}`);
}
