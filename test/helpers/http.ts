/**
 * http mode helpers: real certificates made by openssl, an upstream that echoes what it received,
 * curl through a simulated Private Link edge.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { runPeer, type RunResult } from './peers';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A self-signed certificate for `names` (DNS SANs; the first is the CN), valid as its own CA. */
export async function makeCertificate(dir: string, file: string, names: readonly string[]): Promise<CertificateFiles> {
  const certFile = join(dir, `${file}.crt`);
  const keyFile = join(dir, `${file}.key`);
  const r = await runPeer('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${names[0]}`,
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
  ]);
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { certFile, keyFile };
}

export function pem(files: CertificateFiles): string {
  return readFileSync(files.certFile, 'utf8');
}

/** What the echo upstream saw of one request. */
export interface Echoed {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface EchoUpstream {
  readonly port: number;
  readonly server: Server;
  /** Upgrade requests it answered, with their headers. */
  readonly upgrades: Echoed[];
  close(): Promise<void>;
}

/**
 * Plain HTTP/1.1 upstream. `/stream` answers with a chunk every 20 ms until the client goes;
 * `/protected` says so in its body; anything else answers its request as JSON. An Upgrade is
 * answered 101, then every byte is echoed back.
 */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const upgrades: Echoed[] = [];
  const sockets = new Set<Socket>();
  const echoOf = (req: IncomingMessage): Echoed => ({ method: req.method!, url: req.url!, httpVersion: req.httpVersion, headers: req.headers });
  const server = createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('tick\n'), 20);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ ...echoOf(req), body: Buffer.concat(chunks).toString('utf8'), protected: req.url === '/protected' ? 'PROTECTED-BODY' : undefined });
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
      res.end(body);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrades.push(echoOf(req));
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface CurlAnswer {
  readonly status: number;
  readonly httpVersion: string;
  readonly body: string;
  readonly run: RunResult;
}

/** curl to https://HOST:PORT/PATH with HOST resolved to 127.0.0.1 and `caFile` trusted. */
export async function curl(
  options: { host: string; port: number; path?: string; caFile: string; http: '1.1' | '2'; headers?: readonly string[]; data?: string },
): Promise<CurlAnswer> {
  const args = [
    '-sS', options.http === '2' ? '--http2' : '--http1.1', '--cacert', options.caFile,
    '--resolve', `${options.host}:${options.port}:127.0.0.1`, '--max-time', '20',
    '-w', '\n%{http_code} %{http_version}',
  ];
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.data !== undefined) args.push('--data-binary', `@${options.data}`);
  args.push(`https://${options.host}:${options.port}${options.path ?? '/'}`);
  const run = await runPeer('curl', args, { timeoutMs: 25_000 });
  const cut = run.stdout.lastIndexOf('\n');
  const [status, version] = run.stdout.slice(cut + 1).split(' ');
  return { status: Number(status), httpVersion: version ?? '', body: run.stdout.slice(0, Math.max(cut, 0)), run };
}

/** One request as the vhost upstream parsed it. */
export interface VhostRequest {
  readonly method: string;
  readonly target: string;
  /** The virtual host it was routed to: an absolute-form target's host, else Host (as nginx). */
  readonly vhost: string;
  readonly headers: Record<string, string>;
}

export interface VhostUpstream {
  readonly port: number;
  readonly seen: VhostRequest[];
  close(): Promise<void>;
}

/**
 * A raw HTTP/1.1 upstream that behaves like nginx with name-based virtual hosts and no WebSocket
 * location: it ignores `Upgrade`, answers every request 200 `vhost=... path=...` and keeps the
 * connection alive, and routes an absolute-form target on its authority (RFC 9112 §3.2.2). Heads
 * only (Content-Length bodies are skipped); enough for the smuggling tests.
 */
export async function startVhostUpstream(): Promise<VhostUpstream> {
  const seen: VhostRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let skip = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, buffered.length);
          buffered = buffered.subarray(n);
          skip -= n;
          if (skip > 0) return;
        }
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
        buffered = buffered.subarray(end + 4);
        const [method = '', target = ''] = lines[0]!.split(' ');
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const absolute = /^https?:\/\/([^/:]+)/i.exec(target);
        const vhost = (absolute ? absolute[1]! : (headers.host ?? '').replace(/:\d+$/, '')).toLowerCase();
        seen.push({ method, target, vhost, headers });
        skip = Number(headers['content-length'] ?? 0);
        const body = `vhost=${vhost} path=${target} tenant=${headers['x-linkgate-tenant'] ?? ''}\n`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
