/**
 * The service side of the gateway's promise. The gateway decides once per connection, on the TLS
 * SNI; inside TLS a client may ask for any hostname the certificate covers (domain fronting, HTTP/2
 * connection coalescing, RFC 9113 §9.1.1). This module reads the PROXY v2 header the gateway sends
 * upstream (`proxyProtocol: true`), with the gateway's own decoder, before TLS, and answers
 * 421 Misdirected Request (RFC 9110 §15.5.20) to every request whose Host / :authority is not a
 * hostname of the tenant the gateway decided on.
 */
import { EventEmitter } from 'node:events';
import { Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2SecureServer, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import { proxyHeaderReader, type ProxyHeader, DEFAULT_MAX_HEADER_BYTES } from '../gateway/proxy-protocol/decoder';
import { normalizeHostname } from '../tenants/hostnames';
import type { Cloud } from '../tenants/ids';
import { DEFAULT_TENANT_TLV_TYPE, tenantTlvTypeProblem } from '../tenants/upstream-tlv';
import { TenantHostnames } from './tenant-hostnames';

/** What the gateway decided for a connection, as its PROXY header said. */
export interface LinkgateInfo {
  /** The tenant the gateway forwarded the connection for. */
  readonly tenant: string;
  /** The SNI the gateway decided on (lowercase, no trailing dot); null when the client sent none. */
  readonly hostname: string | null;
  /** The cloud whose link-ID TLV the gateway received; null on the public listener. */
  readonly cloud: Cloud | null;
  /** The customer's endpoint: VPC endpoint ID, Azure LinkID or GCP PSC connection ID (decimal). */
  readonly linkId: string | null;
  /** The original client as the cloud (or the public socket) reported it. */
  readonly source: { readonly address: string; readonly port: number } | null;
}

/** Why a connection was refused before the server saw it. */
export type RefusalReason =
  /** The stream does not start with a PROXY v2 header (not from the gateway). */
  | 'no_proxy_header'
  /** Malformed header, wrong CRC32C, or a name TLV that is not printable UTF-8. */
  | 'bad_proxy_header'
  /** The header did not arrive within `headerTimeoutMs`. */
  | 'header_timeout'
  /** The peer closed before a whole header. */
  | 'client_closed'
  /** The header names no tenant (an old gateway, another PROXY sender, or a LOCAL header). */
  | 'no_tenant'
  /** The header names a tenant the service does not know (its hostnames are out of date). */
  | 'unknown_tenant'
  /** The TLS client asked for another name than the SNI the gateway decided on. */
  | 'sni_mismatch'
  /** A connection reached the server without going through `LinkgateUpstream.listen`. */
  | 'not_via_linkgate';

export interface Refusal {
  readonly reason: RefusalReason;
  readonly detail: string;
  readonly remoteAddress: string | null;
  readonly remotePort: number | null;
}

/** A request answered 421: its host belongs to another tenant than the connection's. */
export interface Misdirected {
  readonly info: LinkgateInfo | null;
  /** The Host / :authority as sent (port included). */
  readonly authority: string | null;
  /** The tenant that owns that host, if any. */
  readonly owner: string | null;
}

/**
 * The servers `LinkgateUpstream` guards: Node's https, http2 secure (`createSecureServer`) and plain
 * http. Not plain-text HTTP/2 (h2c): its session reads the socket's handle directly and would miss
 * the bytes that arrived with the PROXY header.
 */
export type GuardedServer = HttpServer | TlsServer | Http2SecureServer;

export interface LinkgateUpstreamOptions {
  /**
   * Each tenant's hostnames: `TenantHostnames.fromConfigFile(path)` on the gateway's own config
   * file, `TenantHostnames.fromConfig(config)`, or a plain map `{ tenant: [hostnames] }`.
   */
  readonly tenants: TenantHostnames | Readonly<Record<string, readonly string[]>>;
  /**
   * The gateway upstream's `tenantTlvType` (0xE0-0xEF, not a cloud's).
   * @default 0xE1
   */
  readonly tenantTlvType?: number;
  /**
   * Time from accept to a complete PROXY header; then the connection is refused (`header_timeout`).
   * @default 5000
   */
  readonly headerTimeoutMs?: number;
  /**
   * Largest PROXY header read; a longer one is refused (`bad_proxy_header`).
   * @default 4096
   */
  readonly maxHeaderBytes?: number;
}

/** Per-object facts: raw sockets, TLS sockets, HTTP/2 sessions. */
const bound = new WeakMap<object, LinkgateInfo>();
/**
 * TLS servers wrap the raw socket in a TLSSocket of their own; the two share one file descriptor,
 * hence one address 4-tuple, which is how the TLS socket finds the facts read from the raw one.
 */
const byAddress = new Map<string, LinkgateInfo>();

interface AddressLike {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}
const addressKey = (s: AddressLike): string | null =>
  s.remoteAddress && s.localAddress ? `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}` : null;

function infoOfSocket(socket: object | null | undefined): LinkgateInfo | null {
  if (!socket) return null;
  const direct = bound.get(socket);
  if (direct) return direct;
  const key = addressKey(socket as AddressLike);
  return key ? (byAddress.get(key) ?? null) : null;
}

/**
 * What the gateway decided for the connection of a request, stream, session or socket:
 * `{ tenant, hostname, cloud, linkId, source }`, or null when it did not come through a
 * `LinkgateUpstream`. Accepts an http/https request or response, an HTTP/2 compat request or
 * response, an HTTP/2 stream or session, a TLS socket or a raw socket.
 */
export function linkgateInfo(of: unknown): LinkgateInfo | null {
  if (!of || typeof of !== 'object') return null;
  const direct = bound.get(of);
  if (direct) return direct;
  const o = of as { stream?: { session?: object }; session?: object; socket?: object };
  // HTTP/2 compat objects carry .stream and a proxied .socket; the session is the stable key.
  if (o.stream && typeof o.stream === 'object') return linkgateInfo(o.stream);
  if (o.session && typeof o.session === 'object') return infoOfSession(o.session);
  if (o.socket && typeof o.socket === 'object') return infoOfSocket(o.socket);
  return infoOfSocket(of);
}

function infoOfSession(session: object): LinkgateInfo | null {
  return bound.get(session) ?? infoOfSocket((session as { socket?: object }).socket);
}

/** The host of a Host / :authority value: lowercase, no trailing dot, no port; null when absent. */
export function authorityHostname(authority: string | undefined | null): string | null {
  if (!authority) return null;
  let host = authority.trim();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end > 0 ? host.slice(0, end + 1) : host; // an IPv6 literal: never a tenant's hostname
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  return host ? normalizeHostname(host) : null;
}

const MISDIRECTED_BODY = 'Misdirected Request: this connection cannot serve that host; retry on a new connection.\n';

/**
 * Guards one Node.js server (https, http2 secure, plain http): listen with `listen()` here, not on
 * the server. Each accepted TCP connection must start with the gateway's PROXY v2 header, read with
 * a size bound and a deadline; the connection is then handed to the server with every byte after
 * the header intact. Connections without a valid header naming a known tenant are destroyed and
 * reported (`'refused'` event, `counts`), never served. Every request whose Host / :authority is not
 * a hostname of the connection's tenant is answered 421 before any `'request'` or `'stream'`
 * listener of the server sees it (`'misdirected'` event); other requests reach the server as usual,
 * on the same connection.
 *
 * Events: `'refused'` (Refusal), `'misdirected'` (Misdirected), `'error'` (listener errors).
 */
export class LinkgateUpstream extends EventEmitter {
  /** The TCP listener that reads the PROXY header; the guarded server never listens itself. */
  readonly netServer: NetServer;
  /** Refusals by reason, plus answered-421 requests as `misdirected`. */
  readonly counts: Record<RefusalReason | 'misdirected', number> = {
    no_proxy_header: 0,
    bad_proxy_header: 0,
    header_timeout: 0,
    client_closed: 0,
    no_tenant: 0,
    unknown_tenant: 0,
    sni_mismatch: 0,
    not_via_linkgate: 0,
    misdirected: 0,
  };
  private hostnames: TenantHostnames;
  private readonly tenantTlvType: number;
  private readonly headerTimeoutMs: number;
  private readonly maxHeaderBytes: number;
  private readonly handedOver = new WeakSet<Socket>();
  private readonly sockets = new Set<Socket>();
  private readonly tls: boolean;

  constructor(
    readonly server: GuardedServer,
    options: LinkgateUpstreamOptions,
  ) {
    super();
    this.tenantTlvType = options.tenantTlvType ?? DEFAULT_TENANT_TLV_TYPE;
    const problem = tenantTlvTypeProblem(this.tenantTlvType);
    if (problem) throw new RangeError(`linkgate/upstream: ${problem}`);
    this.headerTimeoutMs = options.headerTimeoutMs ?? 5_000;
    this.maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.hostnames = toHostnames(options.tenants);
    this.tls = server instanceof TlsServer;
    if (!this.tls && !(server instanceof HttpServer)) {
      throw new TypeError('linkgate/upstream: guard an https, http2 secure (createSecureServer) or http server; plain-text HTTP/2 (h2c) is not supported');
    }
    this.netServer = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.netServer.on('error', (err) => this.emit('error', err));
    this.guard();
  }

  /** Replaces the tenants' hostnames (e.g. after the gateway config changed); live connections keep their tenant. */
  setTenants(tenants: LinkgateUpstreamOptions['tenants']): void {
    this.hostnames = toHostnames(tenants);
  }

  /** Starts accepting on `port` (0: any free port) and `host`. */
  listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.netServer.once('error', reject);
      this.netServer.listen(port, host, () => {
        this.netServer.off('error', reject);
        resolve(this.netServer.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting and destroys every connection accepted here (served or still reading the header). */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.netServer.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    let key: string | null = null;
    let settled = false;
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (key) byAddress.delete(key);
      if (!settled) onEnd(); // reset before a whole header: no FIN, no 'end'
    });
    // Errors end the socket (and whatever server holds it); they must never crash the process.
    socket.on('error', () => undefined);
    const reader = proxyHeaderReader({ maxHeaderBytes: this.maxHeaderBytes, tenantTlvType: this.tenantTlvType });
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
    };
    const timer = setTimeout(() => {
      settle();
      this.refuse(socket, 'header_timeout', `no complete PROXY header within ${this.headerTimeoutMs} ms`);
    }, this.headerTimeoutMs);
    const onEnd = () => {
      if (settled) return;
      settle();
      this.refuse(socket, 'client_closed', 'the peer closed before a complete PROXY header');
    };
    const onData = (chunk: Buffer) => {
      const result = reader.feed(chunk);
      if (result.status === 'incomplete') return;
      settle();
      socket.pause();
      if (result.status === 'error') {
        const reason = result.code === 'not_proxy_v2' ? 'no_proxy_header' : 'bad_proxy_header';
        return this.refuse(socket, reason, `${result.code}: ${result.message}`);
      }
      const info = this.infoFrom(socket, result.value);
      if (!info) return;
      const rest = result.bytes.subarray(result.length);
      if (rest.length > 0) socket.unshift(rest);
      bound.set(socket, info);
      key = addressKey(socket);
      if (key) byAddress.set(key, info);
      this.handedOver.add(socket);
      this.server.emit('connection', socket);
      // A TLS server reads what is buffered from the raw socket itself; an http server needs it flowing.
      if (!this.tls && socket.isPaused()) socket.resume();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
  }

  private infoFrom(socket: Socket, header: ProxyHeader): LinkgateInfo | null {
    if (header.command === 'LOCAL' || header.tenant === null) {
      this.refuse(socket, 'no_tenant', `the PROXY header (${header.command}) has no tenant TLV 0x${this.tenantTlvType.toString(16)}`);
      return null;
    }
    if (!this.hostnames.has(header.tenant)) {
      this.refuse(socket, 'unknown_tenant', `tenant ${JSON.stringify(header.tenant)} is not among the tenants this service knows`);
      return null;
    }
    const src = header.source;
    return {
      tenant: header.tenant,
      hostname: header.authority === null ? null : normalizeHostname(header.authority),
      cloud: header.link?.cloud ?? null,
      linkId: header.link?.linkId ?? null,
      source: src && 'address' in src ? { address: src.address, port: src.port } : null,
    };
  }

  private refuse(socket: Socket, reason: RefusalReason, detail: string): void {
    this.counts[reason]++;
    const refusal: Refusal = { reason, detail, remoteAddress: socket.remoteAddress ?? null, remotePort: socket.remotePort ?? null };
    socket.destroy();
    this.emit('refused', refusal);
  }

  /**
   * Sees the server's events before its listeners do: a misdirected request is answered here and
   * never emitted, so no handler registered on the server (before or after) can serve it.
   */
  private guard(): void {
    const server = this.server as EventEmitter;
    const emit = server.emit;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    server.emit = function (this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
      switch (event) {
        case 'connection':
          if (!self.handedOver.has(args[0] as Socket)) {
            self.refuse(args[0] as Socket, 'not_via_linkgate', 'the server accepted a connection itself; listen with LinkgateUpstream.listen()');
            return false;
          }
          break;
        case 'secureConnection':
          if (!self.checkTls(args[0] as TLSSocket)) return false;
          break;
        case 'session': {
          const info = infoOfSocket((args[0] as { socket?: object }).socket);
          if (info) bound.set(args[0] as object, info);
          break;
        }
        case 'stream':
          if (!self.allowStream(args[0] as ServerHttp2Stream, args[1] as IncomingHttpHeaders)) return true;
          break;
        case 'request':
          if (!self.allowRequest(args[0] as IncomingMessage, args[1] as ServerResponse)) return true;
          break;
      }
      return emit.call(this, event, ...args);
    };
  }

  /** The TLS client's SNI must be the one the gateway decided on (it reads every ClientHello). */
  private checkTls(tlsSocket: TLSSocket): boolean {
    const info = infoOfSocket(tlsSocket);
    const servername = typeof tlsSocket.servername === 'string' && tlsSocket.servername ? normalizeHostname(tlsSocket.servername) : null;
    if (!info) {
      this.counts.not_via_linkgate++;
      tlsSocket.destroy();
      this.emit('refused', { reason: 'not_via_linkgate', detail: 'TLS connection without linkgate facts', remoteAddress: null, remotePort: null });
      return false;
    }
    if (servername !== info.hostname) {
      this.counts.sni_mismatch++;
      const refusal: Refusal = {
        reason: 'sni_mismatch',
        detail: `TLS SNI ${JSON.stringify(servername)} is not the gateway's ${JSON.stringify(info.hostname)}`,
        remoteAddress: tlsSocket.remoteAddress ?? null,
        remotePort: tlsSocket.remotePort ?? null,
      };
      tlsSocket.destroy();
      this.emit('refused', refusal);
      return false;
    }
    bound.set(tlsSocket, info);
    return true;
  }

  private misdirected(info: LinkgateInfo | null, authority: string | undefined): Misdirected | null {
    const host = authorityHostname(authority);
    const owner = host === null ? null : this.hostnames.tenantOf(host);
    if (info !== null && owner === info.tenant) return null;
    this.counts.misdirected++;
    const event: Misdirected = { info, authority: authority ?? null, owner };
    this.emit('misdirected', event);
    return event;
  }

  private allowStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    const authority = headers[':authority'] ?? headers.host;
    if (!this.misdirected(infoOfSession(stream.session as object), authority)) return true;
    if (!stream.destroyed && !stream.headersSent) {
      stream.respond({ ':status': 421, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(MISDIRECTED_BODY) });
      stream.end(MISDIRECTED_BODY);
    }
    return false;
  }

  private allowRequest(req: IncomingMessage, res: ServerResponse): boolean {
    // HTTP/2 compat requests were checked as streams already.
    if ((req as { stream?: unknown }).stream) return true;
    if (!this.misdirected(infoOfSocket(req.socket), req.headers.host)) return true;
    // Drain the body so the connection can carry the next request (a browser retries elsewhere).
    req.resume();
    res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(MISDIRECTED_BODY) });
    res.end(MISDIRECTED_BODY);
    return false;
  }
}

function toHostnames(tenants: LinkgateUpstreamOptions['tenants']): TenantHostnames {
  return tenants instanceof TenantHostnames ? tenants : TenantHostnames.fromMap(tenants);
}

/**
 * Guards `server` (https, http2 secure, or plain http) and returns the listener to start:
 *
 * ```ts
 * const gate = linkgateUpstream(https.createServer({ key, cert }, app), {
 *   tenants: TenantHostnames.fromConfigFile('/etc/linkgate/config.yaml'),
 * });
 * await gate.listen(8443);
 * ```
 */
export function linkgateUpstream(server: GuardedServer, options: LinkgateUpstreamOptions): LinkgateUpstream {
  return new LinkgateUpstream(server, options);
}
