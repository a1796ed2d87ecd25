/**
 * http mode: after server.ts has read the PROXY header (same decoder, same link ID and source as
 * tcp mode), the connection is handed here. TLS is terminated with the provider's certificates
 * (chosen by SNI), Node's http2 server speaks HTTP/2 or HTTP/1.1 (ALPN), and every request is
 * decided on its own:
 *
 *   Host / :authority outside the connection's certificate or SNI tenant → 421 (fronting, coalescing)
 *   tenant from Host, a header or a path prefix; none → 403   link ID / source not allowed → 403
 *   allowed → forwarded over a pooled connection (undici) with the decision in X-Linkgate-* headers
 *
 * Node parses HTTP (http, http2) on this side and undici on the upstream side; nothing here parses.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import {
  constants as h2constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { GatewayConfig, HttpSettings } from '../../tenants/schema';
import type { Logger } from '../log';
import type { GatewayMetrics } from '../metrics';
import type { CloseReason, CompiledTenant, ConnectionFacts, DropReason, ListenerKind, Policy } from '../policy';
import type { LinkIdentity } from '../proxy-protocol/cloud-tlv';
import type { CloseRecord, DecisionRecord } from '../server';
import { CertificateStore, MIN_TLS_VERSION, covers, type LoadedCertificate } from './certificates';
import { clientResponseHeaders, hostnameOf, upstreamRequestHeaders, type Decided } from './headers';
import { originFormTarget, hasDotSegment } from './target';
import { UpstreamPools, takeTenantSlot, type UpstreamPool } from './upstreams';

/** What the gateway lends the front: its running policy, metrics and decision log. */
export interface HttpHost {
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  policy(): Policy;
  recordDecision(record: DecisionRecord): void;
  recordClose(record: CloseRecord): void;
}

/** The facts server.ts established before the hand-over. */
export interface AdoptedConnection {
  readonly listener: ListenerKind;
  readonly link: LinkIdentity | null;
  /** Client address:port as the cloud reported it (private link) or as seen (public). */
  readonly source: string;
  /** Public listener: the socket's peer address, for CIDR rules. */
  readonly sourceAddress: string | null;
}

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** Per client connection (one TLS session), found from its sockets. */
class HttpConnection {
  tls: TLSSocket | null = null;
  session: ServerHttp2Session | null = null;
  sni: string | null = null;
  cert: LoadedCertificate | null = null;
  /** The last Host this connection's certificate was found to cover: keep-alive requests repeat it (checkHost is ~1.5 % of a request's CPU). */
  coveredHost: string | null = null;
  /** Tenants this connection has been allowed for: a reload re-decides them. */
  readonly tenants = new Set<string>();
  inflight = 0;
  served = 0;
  revoked = false;
  revokeTimer: NodeJS.Timeout | undefined;
  headersTimer: NodeJS.Timeout | undefined;
  readonly upgraded = new Set<Socket>();
  constructor(
    readonly facts: AdoptedConnection,
    readonly raw: Socket,
  ) {}

  connectionFacts(): ConnectionFacts {
    return { listener: this.facts.listener, serverName: this.sni, link: this.facts.link, sourceAddress: this.facts.sourceAddress };
  }
}

const CONN = Symbol('linkgate.http.connection');
type Tagged<T> = T & { [CONN]?: HttpConnection };

/** The answer to a request the gateway does not forward. */
interface Refusal {
  readonly status: 400 | 403 | 405 | 421 | 503;
  readonly reason: DropReason;
  readonly detail: string;
  readonly tenant: CompiledTenant | null;
}

interface Allowed {
  readonly tenant: CompiledTenant;
  readonly hostname: string;
  readonly decided: Decided;
  /** The request target to send upstream (a path prefix naming the tenant removed). */
  readonly path: string;
}

export class HttpFront {
  private settings: HttpSettings;
  private certs: CertificateStore;
  private readonly pools = new UpstreamPools();
  private readonly server: Http2SecureServer;
  /** Raw sockets handed over and not yet through the TLS handshake, by their TCP 4-tuple. */
  private readonly handshaking = new Map<string, HttpConnection>();
  private readonly live = new Set<HttpConnection>();
  private byName: { policy: Policy; names: Map<string, CompiledTenant> } | null = null;

  constructor(
    private readonly host: HttpHost,
    config: GatewayConfig,
  ) {
    if (!config.http) throw new Error('an http-mode listener needs the `http` section');
    this.settings = config.http;
    this.certs = CertificateStore.load(this.settings);
    this.pools.prepare(config, this.settings)();
    this.server = createSecureServer({
      allowHTTP1: true,
      minVersion: MIN_TLS_VERSION,
      handshakeTimeout: this.settings.timeouts.headersMs,
      SNICallback: (name, cb) => cb(null, this.certs.select(name).context),
      // The first certificate answers a ClientHello without SNI (the server's own context: a
      // `secureContext` option is ignored by tls.Server, and such a hello failed the handshake);
      // its requests must then name a host that certificate covers (else 421), and each is decided
      // on its Host alone, as there is no SNI tenant to match (decide()).
      ...this.certs.certificates[0]!.pem,
      // A client opening thousands of streams on one session would have as many upstream
      // requests in flight (each with its buffers): nghttp2 refuses streams above this limit
      // (RST_STREAM REFUSED_STREAM, GOAWAY after maxSessionRejectedStreams) — the usual value.
      settings: { enableConnectProtocol: false, maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    });
    // Node's own HTTP/1 timers run only on a listening server; ours are set per connection.
    const h1 = this.server as unknown as { requestTimeout: number; headersTimeout: number; keepAliveTimeout: number };
    h1.requestTimeout = 0;
    h1.headersTimeout = 0;
    h1.keepAliveTimeout = this.settings.timeouts.idleMs;
    this.server.on('secureConnection', (socket: TLSSocket) => this.onSecure(socket));
    this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.onTlsError(err, socket));
    this.server.on('session', (session: ServerHttp2Session) => this.onSession(session));
    this.server.on('request', (req: Request, res: Response) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (err: Error, socket: Socket) => this.onClientError(err, socket));
    this.server.on('connect', (req: Request, socket: Socket | Http2ServerResponse) => this.onConnectMethod(req, socket));
  }

  /** Takes a raw socket whose PROXY header (if any) is read; `rest` is what followed it. */
  adopt(raw: Socket, facts: AdoptedConnection, rest: Buffer): void {
    const conn = new HttpConnection(facts, raw);
    this.live.add(conn);
    const key = tupleKey(raw);
    this.handshaking.set(key, conn);
    raw.once('close', () => {
      this.handshaking.delete(key);
      this.forget(conn);
    });
    if (rest.length) raw.unshift(rest);
    // The TLS socket reads anything buffered on the raw one first (node:_tls_wrap).
    this.server.emit('connection', raw);
  }

  private onSecure(socket: TLSSocket): void {
    if (!this.bind(socket)) socket.destroy();
  }

  /** Finds the connection of a TLS socket once its handshake is done ('secureConnection'). */
  private bind(socket: TLSSocket): HttpConnection | undefined {
    const tagged = (socket as Tagged<TLSSocket>)[CONN];
    if (tagged) return tagged;
    const key = tupleKey(socket);
    const conn = this.handshaking.get(key);
    if (!conn) return undefined;
    this.handshaking.delete(key);
    (socket as Tagged<TLSSocket>)[CONN] = conn;
    conn.tls = socket;
    // A renegotiated TLS 1.2 handshake could name another server: refused.
    socket.disableRenegotiation();
    const sni = (socket as TLSSocket & { servername?: string | false }).servername;
    conn.sni = typeof sni === 'string' && sni ? sni.toLowerCase().replace(/\.$/, '') : null;
    conn.cert = this.certs.select(conn.sni);
    socket.setTimeout(this.settings.timeouts.idleMs);
    socket.on('timeout', () => socket.destroy());
    this.armHeadersTimer(conn);
    return conn;
  }

  private onTlsError(err: Error, socket: TLSSocket): void {
    const conn = this.handshaking.get(tupleKey(socket));
    const code = (err as NodeJS.ErrnoException).code;
    const reason: DropReason = code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'client_hello_timeout' : code === 'ECONNRESET' ? 'client_closed' : 'bad_client_hello';
    this.drop(conn?.facts ?? null, null, reason, err.message, null);
    socket.destroy();
  }

  private onSession(session: ServerHttp2Session): void {
    // Emitted from the http2 server's own 'secureConnection' listener, before bind() ran; and
    // session.socket is a guard that refuses direct use, so only its addresses are read.
    const conn = this.handshaking.get(tupleKey(session.socket as Socket));
    if (!conn) return void session.destroy();
    conn.session = session;
    (session as Tagged<ServerHttp2Session>)[CONN] = conn;
    session.on('error', () => undefined); // the socket's close ends the connection
  }

  private connOf(req: Request): HttpConnection | undefined {
    const stream = (req as Http2ServerRequest).stream;
    if (stream) return (stream.session as Tagged<ServerHttp2Session> | undefined)?.[CONN];
    return (req.socket as Tagged<Socket>)[CONN];
  }

  /** Time to the first request (and, on HTTP/1.1, to the next one): a slow client is cut off. */
  private armHeadersTimer(conn: HttpConnection): void {
    clearTimeout(conn.headersTimer);
    conn.headersTimer = setTimeout(() => {
      if (conn.inflight > 0) return;
      if (conn.served === 0) {
        this.drop(conn.facts, conn.sni, 'header_timeout', `no request within ${this.settings.timeouts.headersMs} ms`, null);
      }
      conn.tls?.destroy();
    }, this.settings.timeouts.headersMs);
    conn.headersTimer.unref();
  }

  // ---- per request -------------------------------------------------------------------------

  private onRequest(req: Request, res: Response): void {
    const started = performance.now();
    const conn = this.connOf(req);
    if (!conn) return void res.destroy();
    clearTimeout(conn.headersTimer);
    conn.inflight++;
    conn.served++;
    if (conn.revoked && !conn.session) (res as ServerResponse).shouldKeepAlive = false;
    res.once('close', () => this.requestDone(conn));
    if (req.method === 'CONNECT') {
      // HTTP/2 CONNECT (RFC 9113 §8.5) would make the gateway a tunnel to anywhere.
      return this.refuse(conn, req, res, { status: 405, reason: 'bad_request', detail: 'CONNECT is not served', tenant: null }, started);
    }
    const verdict = this.decide(conn, req);
    if ('status' in verdict) return this.refuse(conn, req, res, verdict, started);
    const upstream = this.pools.get(verdict.tenant.upstream.name);
    const release = upstream ? takeTenantSlot(upstream, verdict.tenant.name) : () => undefined;
    if (!release) {
      const detail = `above ${upstream!.maxPerTenant} requests in flight to ${upstream!.name} for this tenant`;
      return this.refuse(conn, req, res, { status: 503, reason: 'tenant_over_capacity', detail, tenant: verdict.tenant }, started);
    }
    res.once('close', release);
    this.admit(conn, verdict, started);
    this.forward(conn, req, res, verdict);
  }

  private requestDone(conn: HttpConnection): void {
    conn.inflight--;
    if (conn.inflight > 0 || conn.session) return;
    if (conn.revoked) conn.tls?.end();
    else this.armHeadersTimer(conn);
  }

  /** The per-request decision; shared by requests and upgrades. */
  private decide(conn: HttpConnection, req: Request): Allowed | Refusal {
    const authority = (req as Http2ServerRequest).authority || req.headers.host;
    const hostname = hostnameOf(authority);
    if (!authority || hostname === null) {
      return { status: 400, reason: 'bad_request', detail: `no usable Host or :authority (${JSON.stringify(authority ?? null)})`, tenant: null };
    }
    const policy = this.host.policy();
    // Fronting and coalescing: a request is answered only for a name this connection's
    // certificate covers, and (when Host names the tenant) for the tenant its SNI named.
    if (conn.coveredHost !== hostname) {
      if (!conn.cert || !covers(conn.cert, hostname)) {
        return { status: 421, reason: 'misdirected_request', detail: `${hostname} is not covered by the certificate chosen for SNI ${conn.sni ?? '(none)'}`, tenant: null };
      }
      conn.coveredHost = hostname; // conn.cert is fixed for the connection's life
    }
    // The upstream routes on an absolute-form target's authority, not on Host (target.ts).
    const target = originFormTarget(req.method, req.url, hostname);
    if (!target.ok) return { status: 400, reason: 'bad_request', detail: target.detail, tenant: null };
    const from = this.settings.tenantFrom;
    let tenant: CompiledTenant | null;
    let path = target.path;
    if (from === 'host') {
      tenant = policy.tenantFor(hostname);
      if (!tenant) return { status: 403, reason: 'unknown_host', detail: hostname, tenant: null };
      if (conn.sni !== null && conn.sni !== hostname && policy.tenantFor(conn.sni) !== tenant) {
        return { status: 421, reason: 'misdirected_request', detail: `${hostname} belongs to another tenant than SNI ${conn.sni}`, tenant: null };
      }
    } else {
      let name: string | undefined;
      if (from === 'pathPrefix') {
        // `/alpha/../beta/x` would reach beta's prefix once the upstream resolves it.
        if (hasDotSegment(path)) return { status: 400, reason: 'bad_request', detail: 'dot segment in the path', tenant: null };
        const m = /^\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?=\/|\?|$)/.exec(path);
        name = m?.[1];
        if (m) path = path.slice(m[0].length) || '/';
        if (path.startsWith('?')) path = `/${path}`;
      } else {
        const v = req.headers[from.header];
        name = Array.isArray(v) ? undefined : v;
      }
      if (name === undefined) {
        return { status: 403, reason: 'no_tenant', detail: from === 'pathPrefix' ? 'no tenant path segment' : `no single ${from.header} header`, tenant: null };
      }
      tenant = this.tenantNamed(policy, name);
      if (!tenant) return { status: 403, reason: 'unknown_tenant', detail: JSON.stringify(name.slice(0, 64)), tenant: null };
      // A Host that is another tenant's own name is misdirected (an upstream routing on Host
      // would serve that tenant); the shared hostname, which no tenant owns, is fine.
      const owner = policy.tenantFor(hostname);
      if (owner && owner !== tenant) {
        return { status: 421, reason: 'misdirected_request', detail: `${hostname} belongs to another tenant than ${tenant.name}`, tenant: null };
      }
    }
    const decision = policy.decideFor(tenant, conn.connectionFacts());
    if (decision.verdict === 'drop') return { status: 403, reason: decision.reason, detail: `tenant ${tenant.name}`, tenant };
    const link = conn.facts.link;
    return {
      tenant,
      hostname,
      path,
      decided: { tenant: tenant.name, linkId: link?.linkId ?? null, cloud: link?.cloud ?? null, source: conn.facts.source, host: authority },
    };
  }

  private tenantNamed(policy: Policy, name: string): CompiledTenant | null {
    if (this.byName?.policy !== policy) {
      this.byName = { policy, names: new Map(policy.tenants.map((t) => [t.name, t])) };
    }
    return this.byName.names.get(name) ?? null;
  }

  private refuse(conn: HttpConnection, req: Request, res: Response, refusal: Refusal, started: number): void {
    this.drop(conn.facts, hostnameOf((req as Http2ServerRequest).authority || req.headers.host), refusal.reason, refusal.detail, refusal.tenant, started);
    const body = JSON.stringify({ error: refusal.reason });
    res.writeHead(refusal.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  private admit(conn: HttpConnection, allowed: Allowed, started: number): void {
    conn.tenants.add(allowed.tenant.name);
    const { metrics } = this.host;
    const decisionMs = performance.now() - started;
    metrics.observeDecision(conn.facts.listener, 'forward', decisionMs / 1000);
    metrics.countAccepted(conn.facts.listener, allowed.tenant.name, conn.facts.link?.cloud ?? 'none');
    this.host.recordDecision({
      listener: conn.facts.listener,
      verdict: 'forward',
      reason: null,
      tenant: allowed.tenant.name,
      cloud: conn.facts.link?.cloud ?? null,
      linkId: conn.facts.link?.linkId ?? null,
      hostname: allowed.hostname,
      source: conn.facts.source,
      upstream: allowed.tenant.upstream.name,
      decisionMs: round(decisionMs),
    });
  }

  /** Counted and logged like a tcp drop; `started` absent for drops before any request. */
  private drop(facts: AdoptedConnection | null, hostname: string | null, reason: DropReason, detail: string, tenant: CompiledTenant | null, started?: number): void {
    const listener = facts?.listener ?? 'privateLink';
    this.host.metrics.countDropped(listener, reason, tenant?.name ?? '');
    const decisionMs = started === undefined ? 0 : performance.now() - started;
    if (started !== undefined) this.host.metrics.observeDecision(listener, 'drop', decisionMs / 1000);
    this.host.recordDecision({
      listener,
      verdict: 'drop',
      reason,
      detail,
      tenant: tenant?.name ?? null,
      cloud: facts?.link?.cloud ?? null,
      linkId: facts?.link?.linkId ?? null,
      hostname,
      source: facts?.source ?? 'unknown',
      decisionMs: round(decisionMs),
    });
  }

  private closed(conn: HttpConnection, reason: CloseReason, tenant: string, detail: string): void {
    this.host.metrics.countClosed(reason, tenant);
    this.host.recordClose({ reason, tenant, hostname: conn.sni, linkId: conn.facts.link?.linkId ?? null, source: conn.facts.source, detail });
  }

  // ---- forwarding --------------------------------------------------------------------------

  private forward(conn: HttpConnection, req: Request, res: Response, allowed: Allowed): void {
    const upstream = this.pools.get(allowed.tenant.upstream.name);
    if (!upstream) return this.failBeforeHead(conn, res, allowed, 'upstream_error', `no pool for ${allowed.tenant.upstream.name}`);
    const abort = new AbortController();
    const { requestMs } = this.settings.timeouts;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, requestMs);
    timer.unref();
    let finished = false;
    res.once('close', () => {
      clearTimeout(timer);
      // The client went away, or the gateway ended it (revoked): the upstream request is abandoned
      // too, and that is no upstream error.
      if (finished) return;
      finished = true;
      abort.abort();
    });
    const h2 = (req as Http2ServerRequest).stream !== undefined;
    const hasBody = h2
      ? !(req as Http2ServerRequest).stream.endAfterHeaders
      : req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    const headers = upstreamRequestHeaders(req.headers, allowed.decided);
    upstream.pool
      .request({
        method: req.method as 'GET',
        path: allowed.path,
        headers,
        body: hasBody ? (req as NodeJS.ReadableStream as never) : null,
        signal: abort.signal,
      })
      .then(
        ({ statusCode, headers: answer, body }) => {
          if (res.destroyed || (res as ServerResponse).writableEnded) {
            body.destroy();
            return;
          }
          const out = clientResponseHeaders(answer);
          if (conn.revoked && !conn.session) out.connection = 'close';
          res.writeHead(statusCode, out);
          let bytes = 0;
          body.on('data', (chunk: Buffer) => (bytes += chunk.length));
          body.on('error', (err: Error) => {
            if (finished) return;
            finished = true;
            this.closed(conn, timedOut ? 'request_timeout' : 'upstream_error', allowed.tenant.name, err.message);
            res.destroy();
          });
          body.on('end', () => {
            finished = true;
            this.host.metrics.countBytes('upstream_to_client', allowed.tenant.name, bytes);
          });
          body.pipe(res as unknown as NodeJS.WritableStream);
        },
        (err: Error) => {
          if (finished) return;
          finished = true;
          if (res.destroyed) return; // the client left first
          this.failBeforeHead(conn, res, allowed, timedOut ? 'request_timeout' : 'upstream_error', err.message);
        },
      );
  }

  /** The upstream gave no answer: 502 (504 on the request bound), counted as a close of the request. */
  private failBeforeHead(conn: HttpConnection, res: Response, allowed: Allowed, reason: CloseReason, detail: string): void {
    this.closed(conn, reason, allowed.tenant.name, detail);
    if (res.headersSent) return void res.destroy();
    const error = reason === 'request_timeout' ? 'request_timeout' : 'upstream_unreachable';
    const body = JSON.stringify({ error });
    res.writeHead(reason === 'request_timeout' ? 504 : 502, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  // ---- HTTP/1.1 upgrades (WebSocket and others) --------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const started = performance.now();
    const conn = (socket as Tagged<Socket>)[CONN];
    if (!conn) return void socket.destroy();
    clearTimeout(conn.headersTimer);
    conn.served++;
    const verdict = this.decide(conn, req);
    if ('status' in verdict) {
      this.drop(conn.facts, hostnameOf(req.headers.host), verdict.reason, verdict.detail, verdict.tenant, started);
      socket.end(refusalText(verdict.status, verdict.reason));
      return;
    }
    if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0') {
      // Its body would be bytes crossing before the 101 (tunnel()): refused.
      this.drop(conn.facts, verdict.hostname, 'bad_request', 'an upgrade request with a body', verdict.tenant, started);
      return void socket.end(refusalText(400, 'bad_request'));
    }
    const upstream = this.pools.get(verdict.tenant.upstream.name);
    if (!upstream) return void socket.destroy();
    this.admit(conn, verdict, started);
    this.tunnel(conn, req, socket, head, upstream, verdict);
  }

  /**
   * The upgrade request goes upstream on a connection of its own, and only its head: Node's HTTP
   * client parses the answer, and bytes flow both ways only after a `101 Switching Protocols`.
   * Any other answer (an upstream that ignores Upgrade, like nginx without a WebSocket location,
   * and keeps the connection alive) is relayed with `Connection: close` and both connections are
   * closed: a raw pipe opened before the 101 would carry the client's next requests, for any Host
   * and with any X-Linkgate-* header, to the upstream unchecked.
   */
  private tunnel(conn: HttpConnection, req: IncomingMessage, client: Socket, head: Buffer, upstream: UpstreamPool, allowed: Allowed): void {
    const { http } = upstream;
    conn.upgraded.add(client);
    client.pause(); // nothing of the client's crosses before the 101
    const headers = upstreamRequestHeaders(req.headers, allowed.decided, true);
    const options = {
      host: upstream.host,
      port: upstream.port,
      method: req.method,
      path: allowed.path,
      headers,
      agent: false as const,
      timeout: this.settings.timeouts.requestMs,
    };
    const outbound = http.tls
      ? httpsRequest({ ...options, servername: http.servername ?? upstream.host, ALPNProtocols: ['http/1.1'], ...(upstream.ca ? { ca: upstream.ca } : {}) } as RequestOptions)
      : httpRequest(options);
    const { idleMs } = this.settings.timeouts;
    let target: Socket | null = null;
    let settled = false;
    const teardown = () => {
      client.destroy();
      target?.destroy();
      outbound.destroy();
      conn.upgraded.delete(client);
    };
    client.on('error', teardown);
    client.on('close', teardown);
    client.setTimeout(idleMs);
    client.on('timeout', teardown);
    const fail = (reason: CloseReason, detail: string) => {
      if (settled) return teardown();
      settled = true;
      this.closed(conn, reason, allowed.tenant.name, detail);
      const status = reason === 'request_timeout' ? '504 Gateway Timeout' : '502 Bad Gateway';
      if (!client.destroyed) client.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`, teardown);
      else teardown();
    };
    outbound.on('timeout', () => fail('request_timeout', `no answer to the upgrade within ${this.settings.timeouts.requestMs} ms`));
    outbound.on('error', (err) => fail('upstream_error', err.message));
    outbound.on('upgrade', (answer: IncomingMessage, socket: Socket, upstreamHead: Buffer) => {
      settled = true;
      target = socket;
      let text = `HTTP/1.1 101 ${answer.statusMessage || 'Switching Protocols'}\r\n`;
      for (let i = 0; i < answer.rawHeaders.length; i += 2) text += `${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}\r\n`;
      client.write(`${text}\r\n`);
      if (upstreamHead.length) client.write(upstreamHead);
      if (head.length) socket.write(head);
      socket.on('error', teardown);
      socket.on('close', teardown);
      socket.setTimeout(idleMs);
      socket.on('timeout', teardown);
      client.pipe(socket);
      socket.pipe(client);
      client.resume();
    });
    outbound.on('response', (answer: IncomingMessage) => {
      // Not switched: the answer is relayed and this was the connection's last exchange.
      settled = true;
      const out = clientResponseHeaders(answer.headers as Record<string, string | string[] | undefined>);
      out.connection = 'close';
      let text = `HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}\r\n`;
      for (const [name, value] of Object.entries(out)) {
        for (const v of Array.isArray(value) ? value : [value]) text += `${name}: ${v}\r\n`;
      }
      client.write(`${text}\r\n`);
      answer.on('error', teardown);
      answer.on('end', () => client.end(teardown));
      answer.pipe(client, { end: false });
    });
    outbound.end();
  }

  /** A request Node could not parse: 400, counted. */
  private onClientError(err: Error, socket: Socket): void {
    const conn = (socket as Tagged<Socket>)[CONN];
    const code = (err as NodeJS.ErrnoException).code ?? 'ERR';
    if (code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    this.drop(conn?.facts ?? null, null, 'bad_request', `${code}: ${err.message}`, null);
    const body = JSON.stringify({ error: 'bad_request' });
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  }

  /**
   * CONNECT would make the gateway a tunnel to anywhere: refused as a bad request. Node emits this
   * for HTTP/1.1 (with the socket) and for HTTP/2 (with a response: writing the refusal text as a
   * body would answer it 200).
   */
  private onConnectMethod(req: Request, socketOrResponse: Socket | Http2ServerResponse): void {
    if ((req as Http2ServerRequest).stream !== undefined) {
      const res = socketOrResponse as Http2ServerResponse;
      const conn = this.connOf(req);
      if (!conn) return void res.stream.close(h2constants.NGHTTP2_REFUSED_STREAM);
      this.drop(conn.facts, null, 'bad_request', 'CONNECT is not served', null, performance.now());
      const body = JSON.stringify({ error: 'bad_request' });
      res.writeHead(405, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      return void res.end(body);
    }
    const socket = socketOrResponse as Socket;
    const conn = (socket as Tagged<Socket>)[CONN];
    this.drop(conn?.facts ?? null, null, 'bad_request', 'CONNECT is not served', null);
    socket.end(refusalText(405, 'bad_request'));
  }

  // ---- reload, revocation, shutdown --------------------------------------------------------

  /**
   * Reads the new certificates and prepares the pools; throws (and changes nothing) when a file
   * cannot be used. The returned function makes them current.
   */
  prepare(config: GatewayConfig): () => void {
    if (!config.http) return () => undefined;
    const settings = config.http;
    const certs = CertificateStore.load(settings);
    const commitPools = this.pools.prepare(config, settings);
    return () => {
      this.settings = settings;
      this.certs = certs;
      this.server.setSecureContext({ ...certs.certificates[0]!.pem, minVersion: MIN_TLS_VERSION });
      commitPools();
      this.host.logger.info('http certificates loaded', { certificates: certs.certificates.map((c) => ({ file: c.certFile, sha256: c.fingerprint })) });
    };
  }

  /**
   * After a reload: a connection that was allowed for a tenant it no longer is gets GOAWAY
   * (HTTP/2) or `Connection: close` on its next response (HTTP/1.1), and is destroyed after
   * revokeGraceMs whatever it is doing. Returns how many connections were revoked.
   */
  revoke(policy: Policy): number {
    let revoked = 0;
    for (const conn of this.live) {
      if (conn.revoked || conn.tenants.size === 0) continue;
      let lost: string | null = null;
      for (const name of conn.tenants) {
        const tenant = this.tenantNamed(policy, name);
        const decision = tenant ? policy.decideFor(tenant, conn.connectionFacts()) : null;
        if (!decision || decision.verdict === 'drop') {
          lost = `${name}: now ${decision?.reason ?? 'unknown_tenant'}`;
          break;
        }
      }
      if (lost === null) continue;
      revoked++;
      conn.revoked = true;
      this.closed(conn, 'revoked', [...conn.tenants][0]!, lost);
      if (conn.session) {
        if (!conn.session.closed && !conn.session.destroyed) {
          conn.session.goaway(h2constants.NGHTTP2_NO_ERROR);
          conn.session.close();
        }
      } else if (conn.inflight === 0 && conn.upgraded.size === 0) {
        conn.tls?.end();
      }
      conn.revokeTimer = setTimeout(() => this.destroy(conn), this.settings.revokeGraceMs);
      conn.revokeTimer.unref();
    }
    return revoked;
  }

  private destroy(conn: HttpConnection): void {
    for (const s of conn.upgraded) s.destroy();
    conn.session?.destroy();
    conn.tls?.destroy();
    conn.raw.destroy();
  }

  private forget(conn: HttpConnection): void {
    this.live.delete(conn);
    clearTimeout(conn.headersTimer);
    clearTimeout(conn.revokeTimer);
  }

  /** Shutdown began: HTTP/2 sessions get GOAWAY, HTTP/1.1 `Connection: close` on their next response. */
  drain(): void {
    for (const conn of this.live) {
      conn.revoked = true;
      if (conn.session) {
        if (!conn.session.closed && !conn.session.destroyed) conn.session.close();
      } else if (conn.inflight === 0 && conn.upgraded.size === 0) {
        conn.tls?.end();
      }
    }
  }

  /** Stop: every connection destroyed, then the pools. */
  async close(): Promise<void> {
    for (const conn of this.live) {
      if (conn.session && !conn.session.closed) conn.session.close();
      this.destroy(conn);
    }
    await this.pools.close();
  }
}

/** Streams per HTTP/2 client session, so upstream requests in flight per connection (README). */
export const MAX_CONCURRENT_STREAMS = 100;

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 405: 'Method Not Allowed', 421: 'Misdirected Request', 503: 'Service Unavailable' };

function refusalText(status: number, reason: string): string {
  const body = JSON.stringify({ error: reason });
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

function tupleKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
