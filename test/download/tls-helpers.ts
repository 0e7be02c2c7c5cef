/**
 * For the https: and proxy tests: a self-signed certificate for 127.0.0.1 made with openssl,
 * and a small HTTP proxy (absolute-URL GETs and CONNECT tunnels) that records what it was asked.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './helpers.ts';

export interface Certificate {
  key: string;
  cert: string;
  /** The certificate's PEM file, for --ca-certificate and NODE_EXTRA_CA_CERTS. */
  certFile: string;
}

export async function selfSigned(t: TestContext): Promise<Certificate> {
  const dir = await tempDir(t);
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), certFile };
}

export interface Proxy {
  url: string;
  /** The first line of every request it got: `CONNECT host:port HTTP/1.1`, `GET http://… HTTP/1.1`. */
  lines: string[];
}

/** An HTTP proxy on 127.0.0.1, closed when the test ends. */
export async function startProxy(t: TestContext): Promise<Proxy> {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const text = head.subarray(0, end).toString('latin1');
      const first = text.split('\r\n', 1)[0]!;
      lines.push(first);
      const [method, target] = first.split(' ');
      if (method === 'CONNECT') {
        const [host, port] = target!.split(':');
        const upstream = connect(Number(port), host!, () => {
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          upstream.pipe(client).pipe(upstream);
        });
        track(upstream, client);
        return;
      }
      const url = new URL(target!);
      const upstream = connect(Number(url.port || 80), url.hostname, () => {
        // Forward in origin form; later requests on this connection go to the same server.
        upstream.write(Buffer.concat([Buffer.from(text.replace(target!, `${url.pathname}${url.search}`), 'latin1'), head.subarray(end)]));
        upstream.pipe(client);
        client.on('data', (more: Buffer) => {
          const line = more.toString('latin1').split('\r\n', 1)[0]!;
          if (/^GET /.test(line)) {
            lines.push(line);
            const m = / (http:\/\/[^ ]+) /.exec(line);
            if (m) more = Buffer.from(more.toString('latin1').replace(m[1]!, new URL(m[1]!).pathname), 'latin1');
          }
          upstream.write(more);
        });
      });
      track(upstream, client);
    };
    client.on('data', onData);
  });
  const track = (upstream: Socket, client: Socket) => {
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, lines };
}
