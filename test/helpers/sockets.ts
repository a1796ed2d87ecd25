/** Raw client sockets and small upstream servers on 127.0.0.1. */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { freePort, until } from '../../bench/harness';
import { demoCa } from '../../examples/demo/upstream';
import { privateLinkOpening } from './bytes';

export interface Observed {
  /** Bytes received before the connection closed or the wait ended. */
  readonly data: Buffer;
  /** The peer closed (FIN or reset) within the wait. */
  readonly closed: boolean;
  readonly error?: string;
  readonly ms: number;
}

/** Connects, writes each chunk (with an optional pause between), and watches what comes back. */
export function sendRaw(
  port: number,
  chunks: readonly Buffer[],
  options: { waitMs?: number; gapMs?: number; end?: boolean } = {},
): Promise<Observed> {
  const waitMs = options.waitMs ?? 2000;
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(received), closed, error, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => received.push(d));
    socket.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
    socket.on('close', () => finish(true));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (options.gapMs) await sleep(options.gapMs);
      }
      if (options.end) socket.end();
    });
  });
}

export interface TlsOutcome {
  readonly ok: boolean;
  /** Response body when the request completed. */
  readonly body?: string;
  readonly error?: string;
}

/** A real TLS client (node:tls, demo CA trusted) making one HTTP request through `port`. */
export function httpsThrough(port: number, servername: string | null, prefix?: Buffer): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    const raw = connect({ port, host: '127.0.0.1' }, () => {
      if (prefix) raw.write(prefix);
      const tls = tlsConnect({
        socket: raw,
        ...(servername ? { servername } : {}),
        ca: demoCa(),
        checkServerIdentity: () => undefined,
      });
      let body = '';
      tls.setEncoding('utf8');
      tls.on('secureConnect', () => tls.write(`GET /through-linkgate HTTP/1.1\r\nHost: ${servername ?? 'none'}\r\nConnection: close\r\n\r\n`));
      tls.on('data', (d: string) => (body += d));
      tls.on('end', () => resolve({ ok: body.startsWith('HTTP/1.1 200'), body: body.slice(body.indexOf('\r\n\r\n') + 4) }));
      tls.on('error', (e) => resolve({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
    raw.on('error', (e) => resolve({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

export interface TestServer {
  readonly port: number;
  readonly server: Server;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A TCP server whose connections are handed to `onSocket`; tracks sockets so close() is prompt. */
export async function startTcpServer(onSocket: (socket: Socket) => void, options: { allowHalfOpen?: boolean } = {}): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every byte back; ends when the client ends (half-close aware). */
export function startEchoServer(): Promise<TestServer> {
  return startTcpServer((s) => s.pipe(s), { allowHalfOpen: true });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns (or resolves to) a truthy value, or `timeoutMs` passes: the bench harness's `until`. */
export function waitFor<T>(
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  return until(check, timeoutMs, () => `waiting for ${what}`, 10) as Promise<T>;
}

/** A port nothing listens on (bound, then released): the bench harness's `freePort`. */
export const closedPort = freePort;

export interface HeldConnection {
  /** 'answered' once the first byte comes back (forwarded to an echo), 'closed' if the peer closed first. */
  readonly outcome: 'answered' | 'closed';
  /** Ends the connection (the held ones are released by the test). */
  close(): void;
  /** Whether the connection is still open (neither side has closed it). */
  isOpen(): boolean;
}

/**
 * Connects (from `localAddress` when given, e.g. 127.0.0.2 for a second source), writes `bytes`
 * and waits for the first answer or the close; the connection stays open until close().
 */
export function openAndHold(port: number, bytes: Buffer, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<HeldConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
    const close = () => socket.destroy();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    const settle = (outcome: HeldConnection['outcome']) => {
      clearTimeout(timer);
      resolve({ outcome, close, isOpen: () => !socket.destroyed && !socket.readableEnded });
    };
    socket.on('error', () => undefined);
    socket.once('data', () => settle('answered'));
    socket.once('close', () => settle('closed'));
    socket.on('connect', () => socket.write(bytes));
  });
}

/**
 * Holds `count` connections that each send `opening` (nothing, or the start of a message) and are
 * opened again as soon as the server closes one, as an attacker holding slots does; resolves once
 * all are open (one after another, so the server sees them oldest first).
 */
export async function holdReopening(port: number, count: number, opening: Buffer): Promise<{ reopened: () => number; stop: () => void }> {
  let stopped = false;
  let reopened = 0;
  const sockets = new Set<Socket>();
  const open = () =>
    new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        if (opening.length) s.write(opening);
        resolve();
      });
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        if (!stopped) {
          reopened++;
          void open();
        }
      });
    });
  for (let i = 0; i < count; i++) await open();
  return {
    reopened: () => reopened,
    stop: () => {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

/** A connection opened through the gateway as an AWS endpoint would, echoed back by the upstream. */
export interface ForwardedConnection {
  readonly socket: Socket;
  /** Sends a token and says whether the echo came back within `pingTimeoutMs`. */
  ping(): Promise<boolean>;
  readonly closed: Promise<void>;
}

export async function forwardedConnection(
  port: number,
  linkId: string,
  options: { readonly hostname?: string; readonly pingTimeoutMs?: number } = {},
): Promise<ForwardedConnection> {
  let received = '';
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.setEncoding('latin1').on('data', (d: string) => (received += d));
  await new Promise((r) => socket.once('connect', r));
  socket.write(privateLinkOpening('aws', linkId, options.hostname ?? 'megacorp.example.com'));
  const ping = async () => {
    const token = `t${Math.random()}`;
    if (socket.destroyed) return false;
    socket.write(token);
    return waitFor(() => received.includes(token), options.pingTimeoutMs ?? 2000).then(
      () => true,
      () => false,
    );
  };
  return { socket, ping, closed };
}
