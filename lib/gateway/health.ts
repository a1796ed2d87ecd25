/**
 * The health listener: /healthz (alive), /readyz (accepting: fails first on SIGTERM), /metrics.
 * Load balancer probes may arrive with a PROXY v2 header (AWS NLB and Azure LB once PP2 is on),
 * so a leading header is read and skipped; it serves no tenant data, so nothing is trusted from it.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { proxyHeaderReader } from './proxy-protocol/decoder';

export interface HealthHandlers {
  isLive(): boolean;
  isReady(): boolean;
  metrics(): Promise<{ contentType: string; body: string }>;
}

export interface HealthLimits {
  /**
   * Open connections at once. Probes are a few per load balancer node and interval, plus a
   * scraper: far fewer than this. When full, a new connection pushes out the oldest one that is
   * not being answered (silent, half a request, or idle between requests), so whoever holds the
   * slots cannot keep a probe out; only when every slot is mid-answer is the new one closed.
   */
  readonly maxConnections?: number;
  /**
   * Absolute time from accept (or from the previous answer on a kept-alive connection) to the
   * answer of a request, PROXY header included. An idle timer alone is reset by every byte, so a
   * client sending one byte every few seconds would hold the connection for ever.
   */
  readonly requestDeadlineMs?: number;
  /**
   * Time from accept to the first byte. A probe writes its request (or PROXY header) at once, so
   * a connection that stays silent is closed well before the request deadline.
   */
  readonly firstByteDeadlineMs?: number;
}

const DEFAULT_MAX_CONNECTIONS = 64;
const DEFAULT_REQUEST_DEADLINE_MS = 10_000;
const DEFAULT_FIRST_BYTE_DEADLINE_MS = 2_000;

const DEADLINE = Symbol('linkgate.health.deadline');
const FIRST_BYTE = Symbol('linkgate.health.first-byte');
/**
 * The response being prepared, from a complete request until its answer is handed to the socket:
 * such a connection is never pushed out. Only that short while: a client that does not read its
 * answer holds no protected slot.
 */
const ANSWERING = Symbol('linkgate.health.answering');
type ProbeSocket = Socket & { [DEADLINE]?: NodeJS.Timeout; [FIRST_BYTE]?: NodeJS.Timeout; [ANSWERING]?: ServerResponse | null };

export class HealthServer {
  private readonly tcp: Server;
  private readonly http: ReturnType<typeof createHttpServer>;
  private readonly deadlineMs: number;
  private readonly firstByteMs: number;
  private readonly maxConnections: number;
  /** Open connections, least recently answered first (a Set keeps insertion order). */
  private readonly open = new Set<ProbeSocket>();

  constructor(
    private readonly handlers: HealthHandlers,
    limits: HealthLimits = {},
  ) {
    this.deadlineMs = limits.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
    this.firstByteMs = Math.min(limits.firstByteDeadlineMs ?? DEFAULT_FIRST_BYTE_DEADLINE_MS, this.deadlineMs);
    this.maxConnections = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.http = createHttpServer({ requestTimeout: this.deadlineMs, headersTimeout: this.deadlineMs });
    this.http.keepAliveTimeout = 5_000;
    this.http.on('request', (req, res) => void this.route(req, res));
    this.http.on('clientError', (_err, socket) => socket.destroy());
    // The cap is kept by onConnection, not by Node's maxConnections, which refuses the newest.
    this.tcp = createNetServer({ pauseOnConnect: false }, (socket) => this.onConnection(socket));
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', reject);
        resolve(this.tcp.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.http.closeAllConnections();
    // Also those mid-header or idle between requests: tcp.close() waits for every one to end.
    for (const socket of this.open) socket.destroy();
    return new Promise((resolve) => this.tcp.close(() => resolve()));
  }

  private onConnection(socket: ProbeSocket): void {
    if (this.open.size >= this.maxConnections && !this.pushOutOne()) {
      socket.destroy();
      return;
    }
    this.open.add(socket);
    armDeadline(socket, this.deadlineMs);
    socket[FIRST_BYTE] = setTimeout(destroySocket, this.firstByteMs, socket);
    socket[FIRST_BYTE].unref();
    socket.once('data', () => clearTimeout(socket[FIRST_BYTE]));
    socket.on('close', () => {
      clearTimeout(socket[DEADLINE]);
      clearTimeout(socket[FIRST_BYTE]);
      this.open.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    // The reader fails at the first byte that is not the v2 signature, so plain HTTP (and a v1
    // header, which the HTTP parser then rejects) is handed over as soon as it starts.
    const reader = proxyHeaderReader();
    const handOver = (rest: Buffer) => {
      socket.off('data', onData);
      socket.pause();
      if (rest.length) socket.unshift(rest);
      this.http.emit('connection', socket);
      socket.resume();
    };
    const onData = (chunk: Buffer) => {
      const result = reader.feed(chunk);
      if (result.status === 'incomplete') return;
      if (result.status === 'done') return handOver(result.bytes.subarray(result.length));
      if (result.code === 'not_proxy_v2') return handOver(reader.bytes());
      socket.destroy();
    };
    socket.on('data', onData);
  }

  /** Open connections and how many of them are being answered (tests, debugging). */
  connections(): { open: number; answering: number } {
    let answering = 0;
    for (const socket of this.open) if (socket[ANSWERING]) answering++;
    return { open: this.open.size, answering };
  }

  /** Closes the oldest connection not being answered; false when every one is. */
  private pushOutOne(): boolean {
    for (const socket of this.open) {
      if (socket[ANSWERING]) continue;
      this.open.delete(socket);
      socket.destroy();
      return true;
    }
    return false;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const socket = req.socket as ProbeSocket;
    socket[ANSWERING] = res;
    const answered = () => {
      if (socket[ANSWERING] === res) socket[ANSWERING] = null;
    };
    res.on('close', answered);
    res.on('finish', () => {
      // The next request on a kept-alive connection gets a deadline of its own, and the
      // connection goes to the back of the line for being pushed out.
      armDeadline(socket, this.deadlineMs);
      if (this.open.delete(socket)) this.open.add(socket);
    });
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      answered();
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return this.handlers.isLive() ? send(200, 'ok\n') : send(503, 'not live\n');
      case '/readyz':
        return this.handlers.isReady() ? send(200, 'ready\n') : send(503, 'not ready\n');
      case '/metrics':
        try {
          const { contentType, body } = await this.handlers.metrics();
          return send(200, body, contentType);
        } catch (err) {
          return send(500, `metrics unavailable: ${(err as Error).message}\n`);
        }
      default:
        return send(404, 'not found: try /healthz, /readyz or /metrics\n');
    }
  }
}

function armDeadline(socket: ProbeSocket, ms: number): void {
  clearTimeout(socket[DEADLINE]);
  socket[DEADLINE] = setTimeout(destroySocket, ms, socket);
  socket[DEADLINE].unref();
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
