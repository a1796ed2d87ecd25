/**
 * The filtering gateway: listeners, the per-connection state machine, forwarding, reload with
 * revocation, and graceful shutdown.
 *
 * Per private-link connection: read exactly one PROXY v2 header (required), refuse a second one
 * right behind it (spoofing), read the ClientHello's SNI, decide, then either drop with a reason or
 * connect upstream, replay the bytes read so far untouched, and pipe both ways.
 *
 * Event handlers are module functions that find their connection on the socket, so accepting a
 * connection allocates no closures.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loadConfigFile, formatLocatedIssues, type LoadResult } from '../tenants/load';
import { isClosedTenant } from '../tenants/rules';
import type { GatewayConfig } from '../tenants/schema';
import type { TenantIndex } from '../tenants/validate';
import { INCOMPLETE, settledStep, type FeedResult, type IncrementalReader } from './bytes';
import { Diagnostics, isDoctorHello } from './diagnostic';
import { splitAfterHello, watchHandshake, type HandshakeWatch, type HandshakeWatchHost } from './handshake-watch';
import { HealthServer } from './health';
import { HttpFront } from './http/front';
import { OwnershipView, type OwnershipSnapshot } from './ownership/map';
import { DropLogLimiter, Logger } from './log';
import { GatewayMetrics } from './metrics';
import {
  Policy,
  type CloseReason,
  type CompiledTenant,
  type CompiledUpstream,
  type ConnectionFacts,
  type Decision,
  type DropReason,
  type ListenerKind,
} from './policy';
import type { LinkIdentity } from './proxy-protocol/cloud-tlv';
import {
  decodeProxyHeader,
  proxyHeaderReader,
  startsWithProxySignature,
  type DecodeOptions,
  type ProxyHeader,
  type ProxyHeaderErrorCode,
} from './proxy-protocol/decoder';
import { authorityTlv, encodeProxyHeader, linkIdTlv, tenantTlv } from './proxy-protocol/encoder';
import { PRIVATE_LINK, PUBLIC, listenerSpecs, missingListenerUpstreams, type ListenerSpec } from './listeners';
import { joinHostPort, plainAddress } from './net-util';
import { ConnectionQuotas, resolveLimits, type EffectiveLimits, type QuotaHolder } from './quotas';
import {
  DEFAULT_MAX_CLIENT_HELLO_BYTES,
  MAX_CLIENT_HELLO_RECORDS,
  clientHelloReader,
  parseClientHello,
  type ClientHelloErrorCode,
  type ClientHelloInfo,
  type ClientHelloReader,
} from './tls/client-hello';

export interface GatewayOptions {
  readonly config: GatewayConfig;
  /** The tenant index validation built for `config` (built again when absent). */
  readonly index?: TenantIndex;
  /** File the config came from; enables reload(). */
  readonly configPath?: string;
  readonly logger?: Logger;
  readonly metrics?: GatewayMetrics;
  /** Serve the health listener from this process. Cluster workers leave it to the primary. */
  readonly serveHealth?: boolean;
  /** Cluster workers: a listening socket of this worker's own, SO_REUSEPORT (listener-mode.ts). */
  readonly reusePort?: boolean;
}

/** One line per decision; also emitted as the 'decision' event. */
export interface DecisionRecord {
  /** The listener's name: `privateLink`, `public` or an additional private-link listener's. */
  readonly listener: string;
  readonly verdict: 'forward' | 'drop';
  readonly reason: DropReason | null;
  readonly detail?: string;
  readonly tenant: string | null;
  readonly cloud: LinkIdentity['cloud'] | null;
  readonly linkId: string | null;
  readonly hostname: string | null;
  /** Client address as the cloud reported it (private link) or as seen (public). */
  readonly source: string;
  readonly upstream?: string;
  readonly decisionMs: number;
}

export interface CloseRecord {
  readonly reason: CloseReason;
  readonly tenant: string;
  readonly hostname: string | null;
  readonly linkId: string | null;
  readonly source: string;
  readonly detail?: string;
}

export interface ReloadOutcome {
  readonly ok: boolean;
  readonly tenants?: number;
  readonly revoked?: number;
  readonly errors?: string;
  /** Refused because the file changed after the watcher found it settled: the watcher must look again. */
  readonly changedSinceSettled?: boolean;
  readonly durationMs: number;
}

type State = 'header' | 'hello' | 'spoof-check' | 'connecting' | 'forwarding' | 'http' | 'closed';

const CONN = Symbol('linkgate.connection');
type TaggedSocket = Socket & { [CONN]?: Connection };

/** Per-connection state. Plain fields, no closures. */
class Connection implements QuotaHolder {
  state: State;
  deadline = 0;
  headerReader: IncrementalReader<ProxyHeader, ProxyHeaderErrorCode> | null = null;
  helloReader: ClientHelloReader | null = null;
  /** Bytes after the PROXY header, as they arrived: replayed upstream untouched, in one write. */
  pending: Buffer[] = [];
  pendingBytes = 0;
  header: ProxyHeader | null = null;
  serverName: string | null = null;
  tenant: CompiledTenant | null = null;
  /** Where an allowed connection goes: the listener's upstream, else the tenant's. */
  target: CompiledUpstream | null = null;
  upstream: Socket | null = null;
  closeReason: CloseReason | null = null;
  /** Accept to verdict, as the decision histogram observed it. */
  decisionMs: number | null = null;
  counted = false;
  /** The client half-closed while the upstream was still connecting (or the handshake was watched). */
  clientEnded = false;
  /** Bytes the decided ClientHello occupies at the start of `pending`. */
  helloLength = 0;
  /** Set while the handshake is watched after forwarding (handshake-watch.ts). */
  watch: HandshakeWatch<Connection> | null = null;
  keepAliveTimer: NodeJS.Timeout | undefined;
  quotaLink: string | null = null;
  quotaTenant: string | null = null;
  quotaSource: string | null = null;

  constructor(
    readonly gateway: Gateway,
    readonly listener: ListenerKind,
    readonly client: TaggedSocket,
    readonly acceptedAt: number,
    readonly via: Pick<ListenerSpec, 'name' | 'upstream'> = listener === 'privateLink' ? PRIVATE_LINK : PUBLIC,
  ) {
    this.state = listener === 'privateLink' ? 'header' : 'hello';
  }

  facts(): ConnectionFacts {
    return {
      listener: this.listener,
      serverName: this.serverName,
      link: this.header?.link ?? null,
      sourceAddress: this.listener === 'public' ? plainAddress(this.client.remoteAddress) : null,
    };
  }

  source(): string {
    const s = this.header?.source;
    if (s && 'address' in s) return joinHostPort(s.address, s.port);
    if (this.listener === 'privateLink' && this.header) return 'unknown';
    return joinHostPort(plainAddress(this.client.remoteAddress) ?? 'unknown', this.client.remotePort ?? 0);
  }
}

export class Gateway extends EventEmitter implements HandshakeWatchHost<Connection> {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /**
   * The running settings. Its `tenants` list is emptied once compiled into the policy: with
   * 100,000 tenants the parsed objects are most of the heap, and a larger old generation makes
   * every garbage collection (and so every connection) dearer.
   */
  private config: GatewayConfig;
  private decodeOptions: DecodeOptions;
  private policy: Policy;
  /** Endpoint owners from the cloud's API (ownership/), kept across config reloads. */
  private ownership: OwnershipView | null = null;
  private readonly configPath: string | undefined;
  private readonly reusePort: boolean;
  private readonly servers = new Map<string, Server>();
  private health: HealthServer | undefined;
  /** Listeners in http mode hand their connections to it (http/front.ts). */
  private readonly http: HttpFront | undefined;
  private readonly live = new Set<Connection>();
  /** Connections still reading their header or ClientHello, checked against their deadline. */
  private readonly undecided = new Set<Connection>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly dropLog: DropLogLimiter;
  private limits: EffectiveLimits;
  private readonly quotas: ConnectionQuotas<Connection>;
  private closedTenants: string[];
  private readonly diagnostics: Diagnostics;
  private readonly boundAddresses = new Map<string, AddressInfo>();
  private started = false;
  private draining = false;
  private stopped = false;

  constructor(options: GatewayOptions) {
    super();
    this.configPath = options.configPath;
    this.reusePort = options.reusePort === true;
    this.logger = options.logger ?? new Logger();
    this.metrics = options.metrics ?? new GatewayMetrics();
    this.policy = new Policy(options.config, options.index);
    this.config = { ...options.config, tenants: [] };
    this.decodeOptions = { maxHeaderBytes: this.config.limits.maxProxyHeaderBytes };
    this.limits = resolveLimits(this.config.limits);
    this.quotas = new ConnectionQuotas(this.limits);
    this.closedTenants = closedTenants(options.config);
    this.diagnostics = new Diagnostics(this.config.diagnostics);
    this.metrics.tenants.set(this.policy.tenants.length);
    this.metrics.lastReloadSuccess.setToCurrentTime();
    if (this.config.listeners.privateLink.mode === 'http' || this.config.listeners.public?.mode === 'http') {
      this.http = new HttpFront(
        {
          metrics: this.metrics,
          logger: this.logger,
          policy: () => this.policy,
          recordDecision: (record) => this.recordHttpDecision(record),
          recordClose: (record) => {
            this.logger.info('close', { ...record });
            this.emit('close', record);
          },
        },
        options.config,
      );
    }
    this.dropLog = new DropLogLimiter(this.config.log.maxDropLinesPerSec, (byReason, total) => {
      this.metrics.logLinesSuppressed.inc(total);
      this.logger.warn('drop log lines suppressed', { suppressed: total, byReason });
    });
    if (options.serveHealth !== false) {
      this.health = new HealthServer({
        isLive: () => !this.stopped,
        isReady: () => this.isReady(),
        metrics: async () => ({ contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
      });
    }
  }

  /** Listening, not draining. */
  isReady(): boolean {
    return this.started && !this.draining && !this.stopped;
  }

  get activeConnections(): number {
    return this.live.size;
  }

  /** Names of the tenants in the running policy. */
  async start(): Promise<void> {
    const { listeners } = this.config;
    for (const spec of listenerSpecs(listeners)) await this.listen(spec);
    if (this.health) {
      this.boundAddresses.set('health', await this.health.listen(listeners.health.port, listeners.health.host));
    }
    this.startSweeper();
    this.started = true;
    this.warnClosedTenants();
    this.logger.info('listening', {
      privateLink: this.address('privateLink')?.port,
      public: this.address('public')?.port,
      health: this.address('health')?.port,
      ...(listeners.additionalPrivateLink?.length
        ? { additionalPrivateLink: Object.fromEntries(listeners.additionalPrivateLink.map((l) => [l.name, this.address(l.name)?.port])) }
        : {}),
      tenants: this.policy.tenants.length,
      ...(this.reusePort ? { reusePort: true } : {}),
      ...this.limits,
    });
  }

  /** The bound address of a listener by name (useful with port 0): `privateLink`, `public`, `health` or an additional listener's name. */
  address(name: string): AddressInfo | undefined {
    return this.boundAddresses.get(name);
  }

  private listen(spec: ListenerSpec): Promise<void> {
    const { name: kind, port, host } = spec;
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    server.on(
      'connection',
      spec.upstream !== null ? onAdditionalPrivateLinkConnection : spec.kind === 'privateLink' ? onPrivateLinkConnection : onPublicConnection,
    );
    (server as Server & { [GATEWAY]?: Gateway })[GATEWAY] = this;
    (server as Server & { [SPEC]?: ListenerSpec })[SPEC] = spec;
    this.servers.set(kind, server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // reusePort is not in Node.js 20's types; exclusive keeps the cluster module out of it.
      const own = this.reusePort ? { reusePort: true, exclusive: true } : {};
      server.listen({ port, host, backlog: 4096, ...own }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.onListenerError(kind, err));
        this.boundAddresses.set(kind, server.address() as AddressInfo);
        resolve();
      });
    });
  }

  /** An accept that failed for want of descriptors is a connection dropped: counted with its reason. */
  private onListenerError(kind: string, err: Error): void {
    if (isOutOfDescriptors(err)) this.metrics.countDropped(kind, 'out_of_file_descriptors', '');
    this.logger.error('listener error', { listener: kind, error: err.message });
  }

  // ---- per connection ----------------------------------------------------------------------

  /** @internal */
  accept(socket: TaggedSocket, listener: ListenerKind, via?: ListenerSpec): void {
    const conn = new Connection(this, listener, socket, performance.now(), via);
    socket[CONN] = conn;
    socket.on('error', onClientError);
    socket.on('end', onClientEnd);
    socket.on('close', onClientClose);
    this.live.add(conn);
    this.metrics.changeActive(conn.via.name, 1);
    if (this.live.size > this.limits.maxConnections) return this.drop(conn, 'over_capacity');
    if (this.stopped) return this.drop(conn, 'shutting_down');
    if (listener === 'public' && !this.quotas.takeSource(conn, plainAddress(socket.remoteAddress) ?? '')) {
      return this.drop(conn, 'source_over_capacity', `above ${this.limits.maxConnectionsPerSource} connections from this address`);
    }
    if (listener === 'privateLink') {
      for (const oldest of this.quotas.admitUnattributed(conn)) {
        this.drop(oldest, 'unattributed_over_capacity', `above ${this.limits.maxUnattributedConnections} connections without a PROXY header`);
      }
    }
    if (listener === 'public' && this.config.listeners.public?.mode === 'http') return this.handToHttp(conn, EMPTY);
    const { limits } = this.config;
    // Readers are made only when a header or ClientHello spans several reads; most arrive whole.
    conn.deadline = conn.acceptedAt + (listener === 'privateLink' ? limits.headerTimeoutMs : limits.clientHelloTimeoutMs);
    this.undecided.add(conn);
    socket.on('data', onClientData);
  }

  /** @internal */
  onData(conn: Connection, chunk: Buffer): void {
    switch (conn.state) {
      case 'header':
        return this.onHeaderBytes(conn, chunk);
      case 'hello':
        return this.onHelloBytes(conn, chunk);
      case 'spoof-check':
        return this.onSpoofCheckBytes(conn, chunk);
      case 'connecting':
        return this.onBytesWhileConnecting(conn, chunk);
      default:
        return; // forwarding has its own handlers
    }
  }

  private onHeaderBytes(conn: Connection, chunk: Buffer): void {
    const result = this.readHeader(conn, chunk);
    if (result.status === 'incomplete') return;
    conn.headerReader = null;
    this.quotas.attributed(conn);
    if (result.status === 'error') {
      const reason: DropReason =
        result.code === 'not_proxy_v2' ? 'no_proxy_header' : result.code === 'bad_crc' ? 'bad_crc' : 'bad_proxy_header';
      return this.drop(conn, reason, `${result.code}: ${result.message}`);
    }
    const header = result.value;
    conn.header = header;
    if (header.command === 'LOCAL') {
      // A load balancer health check (AWS NLB sends LOCAL with PP2 on): answer by closing.
      conn.counted = true; // not a decision
      this.metrics.countHealthCheck(conn.via.name);
      return this.end(conn);
    }
    if (header.link && !this.quotas.takeLink(conn, header.link.cloud, header.link.linkId)) {
      return this.drop(conn, 'link_over_capacity', `above ${this.limits.maxConnectionsPerLinkId} connections from this endpoint`);
    }
    // http mode hands the bytes to Node's TLS server; with diagnostics on, the ClientHello is read
    // here first, only to answer a doctor (decide()), as tcp mode does.
    if (this.config.listeners.privateLink.mode === 'http' && !this.diagnostics.enabled) return this.handToHttp(conn, result.bytes.subarray(result.length));
    conn.state = 'hello';
    conn.deadline = conn.acceptedAt + this.config.limits.clientHelloTimeoutMs;
    const rest = result.bytes.subarray(result.length);
    if (rest.length) this.onHelloBytes(conn, rest);
  }

  /**
   * http mode: the connection (its PROXY header read, the same link ID and source as tcp mode) is
   * the HTTP front's from here; this side keeps counting it against the connection limits.
   */
  private handToHttp(conn: Connection, rest: Buffer): void {
    this.undecided.delete(conn);
    conn.state = 'http';
    conn.counted = true; // its requests are counted one by one
    conn.client.off('data', onClientData);
    conn.client.pause();
    this.http!.adopt(
      conn.client,
      {
        listener: conn.listener,
        link: conn.header?.link ?? null,
        source: conn.source(),
        sourceAddress: conn.facts().sourceAddress,
      },
      rest,
    );
  }

  /** @internal http mode's per-request decisions, logged and emitted like a connection's. */
  recordHttpDecision(record: DecisionRecord): void {
    if (this.takeDecisionLine(record.verdict, record.reason)) this.logger.info(record.verdict, record as unknown as Record<string, unknown>);
    this.emit('decision', record);
  }

  /**
   * The common case, the whole header (or ClientHello) in the first read, costs no reader and no
   * copy; only one that spans reads gets a reader, which starts from that first read.
   */
  private readHeader(conn: Connection, chunk: Buffer): FeedResult<ProxyHeader, ProxyHeaderErrorCode> {
    if (conn.headerReader) return conn.headerReader.feed(chunk);
    const step = decodeProxyHeader(chunk, this.decodeOptions);
    if (step.status !== 'incomplete') return settledStep(step, chunk);
    conn.headerReader = proxyHeaderReader(this.decodeOptions).startWith(chunk, step.needed);
    return INCOMPLETE;
  }

  private readHello(conn: Connection, chunk: Buffer): FeedResult<ClientHelloInfo, ClientHelloErrorCode> {
    if (conn.helloReader) return conn.helloReader.feed(chunk);
    const step = parseClientHello(chunk, DEFAULT_MAX_CLIENT_HELLO_BYTES, MAX_CLIENT_HELLO_RECORDS);
    if (step.status !== 'incomplete') return settledStep(step, chunk);
    conn.helloReader = clientHelloReader({ maxRecords: MAX_CLIENT_HELLO_RECORDS }).startWith(chunk, step.needed);
    return INCOMPLETE;
  }

  private onHelloBytes(conn: Connection, chunk: Buffer): void {
    const result = this.readHello(conn, chunk);
    if (result.status === 'incomplete') return;
    const bytes = result.status === 'done' ? result.bytes : (conn.helloReader?.bytes() ?? chunk);
    conn.helloReader = null;
    if (result.status === 'error') {
      if (result.code === 'not_tls') {
        // Not TLS: is it a PROXY header of the client's own? Decide once the signature is settled.
        this.keep(conn, bytes);
        conn.state = 'spoof-check';
        return this.onSpoofCheckBytes(conn, null);
      }
      return this.drop(conn, 'bad_client_hello', `${result.code}: ${result.message}`);
    }
    this.keep(conn, bytes);
    conn.helloLength = result.length;
    conn.serverName = result.value.serverName;
    this.decide(conn);
  }

  private onSpoofCheckBytes(conn: Connection, chunk: Buffer | null): void {
    if (chunk) this.keep(conn, chunk);
    // Settled within 12 bytes, so this join is short-lived and small.
    const signature = startsWithProxySignature(conn.pending.length === 1 ? conn.pending[0]! : Buffer.concat(conn.pending));
    if (signature === 'maybe') return;
    if (signature === 'yes') {
      return conn.listener === 'privateLink'
        ? this.drop(conn, 'spoofed_proxy_header', 'a second PROXY header follows the load balancer’s')
        : this.drop(conn, 'unexpected_proxy_header', 'the public listener does not accept PROXY headers');
    }
    this.drop(conn, 'not_tls', 'the stream does not start with a TLS handshake');
  }

  private decide(conn: Connection): void {
    this.undecided.delete(conn);
    if (conn.listener === 'privateLink' && this.config.listeners.privateLink.mode === 'http') return this.doctorOrHttp(conn);
    const decision = this.policy.decide(conn.facts());
    conn.tenant = decision.tenant;
    conn.decisionMs = performance.now() - conn.acceptedAt;
    this.metrics.observeDecision(conn.via.name, decision.verdict, conn.decisionMs / 1000);
    // A `linkgate doctor` request is answered with this verdict and never forwarded (diagnostic.ts).
    if (this.diagnostics.enabled && conn.listener === 'privateLink' && isDoctorHello(conn.pending, conn.helloLength)) {
      return this.answerDiagnostic(conn, decision);
    }
    if (decision.verdict === 'drop') return this.drop(conn, decision.reason);
    conn.target = conn.via.upstream === null ? decision.tenant.upstream : this.policy.upstreams.get(conn.via.upstream)!;
    if (!this.quotas.takeTenant(conn, decision.tenant.name)) {
      return this.drop(conn, 'tenant_over_capacity', `above ${this.limits.maxConnectionsPerTenant} connections to this tenant`);
    }
    this.forward(conn, decision.tenant);
  }

  /**
   * http mode with diagnostics on: a doctor's hello is answered with the verdict for its SNI (the
   * decision a request for that hostname gets in tenantFrom host mode); any other hello goes to the
   * TLS server. Without this the TLS server answered the doctor with an alert.
   */
  private doctorOrHttp(conn: Connection): void {
    if (!isDoctorHello(conn.pending, conn.helloLength)) {
      const bytes = conn.pending.length === 1 ? conn.pending[0]! : Buffer.concat(conn.pending);
      conn.pending = [];
      conn.pendingBytes = 0;
      return this.handToHttp(conn, bytes);
    }
    const decision = this.policy.decide(conn.facts());
    conn.tenant = decision.tenant;
    this.answerDiagnostic(conn, decision);
  }

  /** Writes the doctor's answer, counts the connection (never forwarded) and closes it. */
  private answerDiagnostic(conn: Connection, decision: Decision): void {
    const answer = this.diagnostics.answer(conn.header?.link ?? null, conn.serverName, decision);
    conn.counted = true;
    this.count(conn, answer.reason, answer.detail);
    conn.state = 'closed';
    const client = conn.client;
    client.end(answer.reply, () => client.destroy()); // no wait for the doctor's FIN (the listener allows half-open)
  }

  private forward(conn: Connection, tenant: CompiledTenant): void {
    // The client is not paused: a TLS client waits for the ServerHello, so little arrives before
    // the upstream answers, and pause/resume would cost two system calls per connection.
    conn.state = 'connecting';
    const target = conn.target ?? tenant.upstream;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true }) as TaggedSocket;
    upstream[CONN] = conn;
    conn.upstream = upstream;
    upstream.setTimeout(target.connectTimeoutMs);
    upstream.on('timeout', onUpstreamTimeout);
    upstream.on('error', onUpstreamError);
    upstream.once('connect', onUpstreamConnect);
  }

  /** Bytes a client sends before the upstream answered: kept (bounded) and replayed in order. */
  private onBytesWhileConnecting(conn: Connection, chunk: Buffer): void {
    this.keep(conn, chunk);
    if (conn.pendingBytes > MAX_PENDING_BYTES) conn.client.pause(); // resumed once forwarding
  }

  private keep(conn: Connection, bytes: Buffer): void {
    conn.pending.push(bytes);
    conn.pendingBytes += bytes.length;
  }

  /** @internal */
  onUpstreamConnect(conn: Connection): void {
    const { client, upstream } = conn;
    if (!upstream || conn.state !== 'connecting') return;
    conn.state = 'forwarding';
    const { limits } = this.config;
    upstream.setTimeout(0);
    upstream.off('timeout', onUpstreamTimeout);
    if (limits.idleTimeoutSec > 0) {
      client.setTimeout(limits.idleTimeoutSec * 1000);
      client.on('timeout', onClientIdle);
    }
    // TCP keepalive costs four setsockopt calls per socket and most connections are short: it is
    // switched on only for connections still open after KEEPALIVE_AFTER_MS, in time for load
    // balancer idle timeouts (minutes).
    if (limits.tcpKeepAliveSec > 0) conn.keepAliveTimer = setTimeout(armKeepAlive, KEEPALIVE_AFTER_MS, conn, limits.tcpKeepAliveSec * 1000);
    // Corked: our PROXY header and the ClientHello leave in one writev. What the client sent after
    // the hello waits until the server's answer shows it is no HelloRetryRequest.
    const { hello, rest } = splitAfterHello(conn.pending, conn.helloLength);
    upstream.cork();
    if (conn.target!.proxyProtocol) upstream.write(this.upstreamProxyHeader(conn));
    upstream.write(hello);
    upstream.uncork();
    conn.pending = [];
    // Forwarding with shared handlers rather than pipe(): same backpressure and half-close, none
    // of pipe's per-connection closures and listeners. The 'data' handlers are the watch's until
    // the handshake settles (upstreamSettled, clientSettled).
    client.off('data', onClientData);
    client.on('drain', onClientDrain);
    upstream.on('drain', onUpstreamDrain);
    upstream.on('end', onUpstreamEnd);
    conn.watch = watchHandshake(conn, this, rest);
    conn.counted = true;
    const link = conn.header?.link ?? null;
    this.metrics.countAccepted(conn.via.name, conn.tenant!.name, link?.cloud ?? 'none');
    this.record(conn, 'forward', null);
  }

  /** @internal the client sent FIN: pass it on (or end the connection before a verdict). */
  onClientEnded(conn: Connection): void {
    switch (conn.state) {
      case 'header':
      case 'hello':
      case 'spoof-check':
        return this.drop(conn, 'client_closed', 'the client closed before a verdict');
      case 'connecting':
        conn.clientEnded = true;
        return;
      case 'forwarding':
        if (conn.watch) conn.clientEnded = true; // passed on once the held bytes are
        else endOrClose(conn.upstream!);
        return;
      default:
        return;
    }
  }

  /** @internal the server's first answer is read: its bytes go straight to the client now. */
  upstreamSettled(conn: Connection): void {
    conn.upstream?.on('data', onUpstreamData);
  }

  /** @internal the handshake needs no more watching: what the client sent meanwhile goes first. */
  clientSettled(conn: Connection, held: readonly Buffer[]): void {
    const { client, upstream } = conn;
    conn.watch = null;
    if (!upstream) return;
    let full = false;
    if (held.length) {
      upstream.cork();
      for (const bytes of held) full = !upstream.write(bytes);
      upstream.uncork();
    }
    client.on('data', onClientForwardData);
    if (full) client.pause(); // resumed on the upstream's 'drain'
    else if (client.isPaused()) client.resume();
    if (conn.clientEnded) upstream.end();
  }

  /** @internal a ClientHello after a HelloRetryRequest left the decision: never forwarded. */
  handshakeRefused(conn: Connection, detail: string): void {
    conn.watch = null;
    this.endForwarded(conn, 'sni_changed', detail, false);
  }

  /** @internal connect refused, reset before connect, or timed out. */
  onUpstreamFailure(conn: Connection, err: Error | null): void {
    const upstream = conn.upstream;
    if (conn.state === 'connecting') {
      upstream?.destroy();
      const detail = err ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : 'connect timeout';
      return this.drop(conn, err && isOutOfDescriptors(err) ? 'out_of_file_descriptors' : 'upstream_unreachable', detail);
    }
    if (conn.state === 'forwarding') {
      // Reset mid-stream: pass the reset on so the client learns at once.
      this.endForwarded(conn, 'upstream_error', err?.message ?? 'upstream closed', true);
    }
  }

  /** @internal */
  onClientClosed(conn: Connection): void {
    this.live.delete(conn);
    this.undecided.delete(conn);
    this.quotas.release(conn);
    this.metrics.changeActive(conn.via.name, -1);
    if (!conn.counted) {
      conn.counted = true;
      this.count(conn, 'client_closed', 'the client closed before a verdict');
    }
    if (conn.upstream && !conn.upstream.destroyed) conn.upstream.destroy();
    if (conn.state === 'forwarding' || conn.closeReason) this.countBytes(conn);
    if (conn.keepAliveTimer) clearTimeout(conn.keepAliveTimer);
    conn.state = 'closed';
    conn.client[CONN] = undefined;
  }

  /** @internal */
  onClientIdle(conn: Connection): void {
    this.endForwarded(conn, 'idle_timeout', `no traffic for ${this.config.limits.idleTimeoutSec}s`, false);
  }

  private endForwarded(conn: Connection, reason: CloseReason, detail: string, reset: boolean): void {
    if (conn.closeReason) return;
    conn.closeReason = reason;
    this.metrics.countClosed(reason, conn.tenant?.name ?? '');
    const record: CloseRecord = {
      reason,
      tenant: conn.tenant?.name ?? '',
      hostname: conn.serverName,
      linkId: conn.header?.link?.linkId ?? null,
      source: conn.source(),
      detail,
    };
    this.logger.info('close', { ...record });
    this.emit('close', record);
    conn.upstream?.destroy();
    if (reset && typeof conn.client.resetAndDestroy === 'function') conn.client.resetAndDestroy();
    else conn.client.destroy();
  }

  private upstreamProxyHeader(conn: Connection): Buffer {
    const link = conn.header?.link;
    const tlvs = link ? [linkIdTlv(link.cloud, link.linkId)] : [];
    // What was decided, for the service's 421 rule (linkgate/upstream, README "What the gateway cannot see").
    if (conn.serverName !== null) tlvs.push(authorityTlv(conn.serverName));
    tlvs.push(tenantTlv(conn.target!.tenantTlvType, conn.tenant!.name));
    const src = conn.header?.source;
    const dst = conn.header?.destination;
    let source: { address: string; port: number } | undefined;
    let destination: { address: string; port: number } | undefined;
    if (src && dst && 'address' in src && 'address' in dst) {
      source = src;
      destination = dst;
    } else if (!conn.header) {
      const remote = plainAddress(conn.client.remoteAddress);
      const local = plainAddress(conn.client.localAddress);
      if (remote && local) {
        source = { address: remote, port: conn.client.remotePort ?? 0 };
        destination = { address: local, port: conn.client.localPort ?? 0 };
      }
    }
    try {
      return encodeProxyHeader({ source, destination, tlvs, crc32c: true });
    } catch {
      return encodeProxyHeader({ tlvs, crc32c: true }); // mixed families: no addresses (UNSPEC)
    }
  }

  /** Ends a connection before forwarding. Counted and (rate-limited) logged. */
  private drop(conn: Connection, reason: DropReason, detail?: string): void {
    if (!conn.counted) {
      conn.counted = true;
      this.count(conn, reason, detail);
    }
    this.end(conn);
  }

  /** Ends a connection that was not forwarded (a drop, or a health check answered by closing). */
  private end(conn: Connection): void {
    this.undecided.delete(conn);
    conn.state = 'closed';
    conn.upstream?.destroy();
    conn.client.destroy();
  }

  private count(conn: Connection, reason: DropReason, detail?: string): void {
    this.metrics.countDropped(conn.via.name, reason, conn.tenant?.name ?? '');
    this.record(conn, 'drop', reason, detail);
  }

  /** Whether a decision gets a log line: `log.decisions`, and the drop-line rate limit (which this spends). */
  private takeDecisionLine(verdict: 'forward' | 'drop', reason: DropReason | null): boolean {
    const mode = this.config.log.decisions;
    const write = mode === 'all' || (mode === 'drops' && verdict === 'drop');
    return write && (verdict === 'forward' || this.dropLog.take(reason!));
  }

  private record(conn: Connection, verdict: 'forward' | 'drop', reason: DropReason | null, detail?: string): void {
    // Whether a line is written is settled first: in a flood of drops most are not, and then the
    // record is built only for a 'decision' listener (tests, embedders).
    const logged = this.takeDecisionLine(verdict, reason);
    if (!logged && this.listenerCount('decision') === 0) return;
    const link = conn.header?.link ?? null;
    const record: DecisionRecord = {
      listener: conn.via.name,
      verdict,
      reason,
      ...(detail !== undefined ? { detail } : {}),
      tenant: conn.tenant?.name ?? null,
      cloud: link?.cloud ?? null,
      linkId: link?.linkId ?? null,
      hostname: conn.serverName,
      source: conn.source(),
      ...(verdict === 'forward' ? { upstream: conn.target!.name } : {}),
      // Drops before a verdict (timeouts, malformed input) report the time until the drop.
      decisionMs: Math.round((conn.decisionMs ?? performance.now() - conn.acceptedAt) * 1000) / 1000,
    };
    this.emit('decision', record);
    if (logged) this.logger.info(verdict, record as unknown as Record<string, unknown>);
  }

  private countBytes(conn: Connection): void {
    const tenant = conn.tenant?.name ?? '';
    const up = conn.client.bytesRead - (conn.header?.length ?? 0);
    const down = conn.upstream?.bytesRead ?? 0;
    if (up > 0) this.metrics.countBytes('client_to_upstream', tenant, up);
    if (down > 0) this.metrics.countBytes('upstream_to_client', tenant, down);
  }

  // ---- deadlines ---------------------------------------------------------------------------

  private startSweeper(): void {
    const { headerTimeoutMs, clientHelloTimeoutMs } = this.config.limits;
    // Granularity: a quarter of the shortest timeout, between 10 and 250 ms. One timer for all
    // pending connections instead of one per connection.
    const every = Math.min(250, Math.max(10, Math.floor(Math.min(headerTimeoutMs, clientHelloTimeoutMs) / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const conn of this.undecided) {
      if (conn.deadline > now) continue;
      const inHeader = conn.state === 'header';
      this.drop(
        conn,
        inHeader ? 'header_timeout' : 'client_hello_timeout',
        `${inHeader ? 'PROXY header' : 'ClientHello'} not complete after ${Math.round(now - conn.acceptedAt)} ms`,
      );
    }
  }

  // ---- reload ------------------------------------------------------------------------------

  /**
   * Swaps in a new validated config. Live connections are decided again against it: those whose
   * source is no longer allowed are closed (reason `revoked`), so removing a customer's endpoint
   * cuts it off, not only its next connection. Listener changes need a restart.
   */
  applyConfig(next: GatewayConfig, index?: TenantIndex): { revoked: number } {
    const policy = new Policy(next, index);
    // Certificates and upstream pools are read before anything changes: a bad file refuses the reload.
    const commitHttp = this.http?.prepare(next);
    const changed = (['privateLink', 'public', 'health', 'additionalPrivateLink'] as const).filter(
      (k) => JSON.stringify(next.listeners[k]) !== JSON.stringify(this.config.listeners[k]),
    );
    if (changed.length) {
      this.logger.warn('listener changes take effect at the next restart', { listeners: changed });
    }
    this.config = { ...next, listeners: this.config.listeners, tenants: [] };
    this.decodeOptions = { maxHeaderBytes: this.config.limits.maxProxyHeaderBytes };
    this.limits = resolveLimits(this.config.limits, this.limits.openFilesLimit);
    this.quotas.setLimits(this.limits);
    this.closedTenants = closedTenants(next);
    this.diagnostics.configure(next.diagnostics);
    policy.ownership = this.ownership;
    this.policy = policy;
    commitHttp?.();
    const revoked = (this.http?.revoke(policy) ?? 0) + this.revokeDisallowed('a config reload');
    this.metrics.tenants.set(next.tenants.length);
    this.metrics.lastReloadSuccess.setToCurrentTime();
    this.warnClosedTenants();
    return { revoked };
  }

  /**
   * Live connections decided again against the running policy: those no longer allowed are
   * closed (reason `revoked`). Shared by config reloads and ownership changes.
   */
  private revokeDisallowed(cause: string): number {
    let revoked = 0;
    for (const conn of this.live) {
      if (conn.state !== 'forwarding' && conn.state !== 'connecting') continue;
      const decision = this.policy.decide(conn.facts());
      if (decision.verdict === 'forward') continue;
      revoked++;
      if (conn.state === 'connecting') {
        conn.tenant = decision.tenant ?? conn.tenant;
        this.drop(conn, decision.reason, `revoked by ${cause} before the upstream answered`);
      } else {
        this.endForwarded(conn, 'revoked', `now ${decision.reason}${cause === 'a config reload' ? '' : ` (${cause})`}`, false);
      }
    }
    return revoked;
  }

  /**
   * A new read of who owns which endpoint (ownership/scheduler.ts): owner rules decide with it
   * from now on, and live connections it no longer admits are cut (deleted, rejected, moved).
   */
  applyOwnership(snapshot: OwnershipSnapshot): { revoked: number } {
    const same = this.ownership?.revision === snapshot.revision;
    this.ownership = new OwnershipView(snapshot);
    this.policy.ownership = this.ownership;
    // The same revision only says the map is still current: nothing to decide again.
    return { revoked: same ? 0 : (this.http?.revoke(this.policy) ?? 0) + this.revokeDisallowed('an ownership change') };
  }

  /** The running policy's tenant tables (owner rules, link IDs), for the ownership scheduler's acceptance. */
  get tenantIndex(): TenantIndex {
    return this.policy.tenantIndex;
  }

  /** Tenants whose allow lists are all empty admit nobody: legal (an offboarded customer), but say so. */
  private warnClosedTenants(): void {
    const closed = this.closedTenants;
    if (closed.length) this.logger.warn('tenants with empty allow lists accept no connection', { tenants: closed.slice(0, 20), count: closed.length });
  }

  /** The running config's settings (listeners, upstreams, limits, shutdown), without the tenants. */
  get settings(): GatewayConfig {
    return this.config;
  }

  /**
   * Reloads from the config file. An invalid file keeps the running policy and says why. With
   * `sha256` (what the watcher found settled), other bytes are refused: a write under way.
   */
  reload(sha256?: string): ReloadOutcome {
    const started = performance.now();
    if (!this.configPath) return { ok: false, errors: 'no config file to reload', durationMs: 0 };
    return this.applyLoaded(loadConfigFile(this.configPath, { sha256 }), this.configPath, started);
  }

  /**
   * Applies a loaded config (a file re-read, or an object fetched from a store), or keeps the
   * running one and says why: invalid, or its upstreams lack one a running listener sends to.
   */
  applyLoaded(loaded: LoadResult, source: string, started = performance.now()): ReloadOutcome {
    const refusal = loaded.ok ? missingListenerUpstreams(this.config.listeners, loaded.value) : null;
    if (!loaded.ok || refusal !== null) {
      const errors = loaded.ok ? refusal! : formatLocatedIssues(loaded.issues, source);
      this.metrics.reloads.inc({ result: 'failure' });
      const durationMs = performance.now() - started;
      this.logger.error('config reload failed; keeping the last good config', { file: source, errors: errors.split('\n') });
      return { ok: false, errors, durationMs, changedSinceSettled: !loaded.ok && loaded.changedSinceSettled === true };
    }
    const tenants = loaded.value.tenants.length;
    let applied: { revoked: number };
    try {
      applied = this.applyConfig(loaded.value, loaded.index);
    } catch (err) {
      // http mode: a certificate or CA file that cannot be used. Nothing was changed.
      this.metrics.reloads.inc({ result: 'failure' });
      const errors = (err as Error).message;
      this.logger.error('config reload failed; keeping the last good config', { file: source, errors: [errors] });
      return { ok: false, errors, durationMs: performance.now() - started };
    }
    const { revoked } = applied;
    this.metrics.reloads.inc({ result: 'success' });
    const durationMs = performance.now() - started;
    this.logger.info('config reloaded', {
      file: source,
      tenants,
      revoked,
      durationMs: Math.round(durationMs),
    });
    return { ok: true, tenants, revoked, durationMs };
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /**
   * SIGTERM: /readyz fails at once; listeners keep accepting for drainDelayMs (the load balancer
   * needs time to see it); then they stop, in-flight connections get drainTimeoutMs to finish,
   * and what is left is closed (reason drain_timeout).
   */
  async shutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const { drainDelayMs, drainTimeoutMs } = this.config.shutdown;
    this.logger.info('draining', { activeConnections: this.live.size, drainDelayMs, drainTimeoutMs });
    await sleep(drainDelayMs);
    await this.closeListeners();
    this.http?.drain();
    const deadline = performance.now() + drainTimeoutMs;
    while (this.live.size > 0 && performance.now() < deadline) await sleep(Math.min(50, drainTimeoutMs));
    const left = this.live.size;
    for (const conn of [...this.live]) {
      if (conn.state === 'forwarding') this.endForwarded(conn, 'drain_timeout', `still open after ${drainTimeoutMs} ms`, false);
      else this.drop(conn, 'shutting_down', 'the gateway stopped');
    }
    await this.stop();
    this.logger.info('stopped', { closedAtDrainBound: left });
    this.logger.flush();
  }

  /** Immediate stop: listeners closed, every connection destroyed. */
  async close(): Promise<void> {
    this.draining = true;
    await this.closeListeners();
    for (const conn of [...this.live]) {
      conn.upstream?.destroy();
      conn.client.destroy();
    }
    await this.stop();
  }

  private async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.dropLog.stop();
    await this.http?.close();
    await this.health?.close();
  }

  /**
   * Stops accepting at once. (server.close()'s callback waits for every open connection to end,
   * which is the drain's business, not this step's.)
   */
  private async closeListeners(): Promise<void> {
    for (const server of this.servers.values()) if (server.listening) server.close();
    this.servers.clear();
  }
}

// ---- shared event handlers (no per-connection closures) ---------------------------------------

const GATEWAY = Symbol('linkgate.gateway');

function gatewayOf(server: unknown): Gateway {
  return (server as { [GATEWAY]: Gateway })[GATEWAY];
}

function onPrivateLinkConnection(this: Server, socket: Socket): void {
  gatewayOf(this).accept(socket, 'privateLink');
}

function onPublicConnection(this: Server, socket: Socket): void {
  gatewayOf(this).accept(socket, 'public');
}

const SPEC = Symbol('linkgate.listener');

function onAdditionalPrivateLinkConnection(this: Server, socket: Socket): void {
  gatewayOf(this).accept(socket, 'privateLink', (this as Server & { [SPEC]: ListenerSpec })[SPEC]);
}

function onClientData(this: TaggedSocket, chunk: Buffer): void {
  const conn = this[CONN];
  if (conn) conn.gateway.onData(conn, chunk);
}

function onClientError(this: TaggedSocket): void {
  // 'close' follows; a reset client before the verdict is counted there as client_closed.
  const conn = this[CONN];
  if (conn?.state === 'forwarding') conn.upstream?.destroy();
}

function onClientEnd(this: TaggedSocket): void {
  const conn = this[CONN];
  if (conn) conn.gateway.onClientEnded(conn);
}

// Forwarding: each direction writes to the other side and pauses its source when the other side's
// buffer is full, until 'drain'; an 'end' is passed on as a half-close.
function onClientForwardData(this: TaggedSocket, chunk: Buffer): void {
  const upstream = this[CONN]?.upstream;
  if (upstream && !upstream.write(chunk)) this.pause();
}

function onUpstreamDrain(this: TaggedSocket): void {
  this[CONN]?.client.resume();
}

function onUpstreamData(this: TaggedSocket, chunk: Buffer): void {
  const conn = this[CONN];
  if (conn && !conn.client.write(chunk)) this.pause();
}

function onClientDrain(this: TaggedSocket): void {
  this[CONN]?.upstream?.resume();
}

function onUpstreamEnd(this: TaggedSocket): void {
  const client = this[CONN]?.client;
  if (client && !client.writableEnded) endOrClose(client);
}

/**
 * Passes a FIN on. When the socket's own side has already sent its FIN and every byte written to
 * it has reached the kernel, closing it sends the same FIN after the same bytes (nothing unread
 * is left to turn it into a reset) and saves the shutdown(2) that end() would make first.
 */
function endOrClose(socket: Socket): void {
  if (socket.readableEnded && socket.writableLength === 0) socket.destroy();
  else socket.end();
}

function onClientClose(this: TaggedSocket): void {
  const conn = this[CONN];
  if (conn) conn.gateway.onClientClosed(conn);
}

function onClientIdle(this: TaggedSocket): void {
  const conn = this[CONN];
  if (conn) conn.gateway.onClientIdle(conn);
}

function onUpstreamConnect(this: TaggedSocket): void {
  const conn = this[CONN];
  if (conn) conn.gateway.onUpstreamConnect(conn);
}

function onUpstreamTimeout(this: TaggedSocket): void {
  const conn = this[CONN];
  if (conn) conn.gateway.onUpstreamFailure(conn, null);
}

function onUpstreamError(this: TaggedSocket, err: Error): void {
  const conn = this[CONN];
  if (conn) conn.gateway.onUpstreamFailure(conn, err);
}

/** EMFILE (this process) or ENFILE (the whole system): no descriptor left for a socket. */
function isOutOfDescriptors(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EMFILE' || code === 'ENFILE';
}

function closedTenants(config: GatewayConfig): string[] {
  return config.tenants.filter((t) => isClosedTenant(t)).map((t) => t.name);
}

function armKeepAlive(conn: Connection, delayMs: number): void {
  conn.keepAliveTimer = undefined;
  if (conn.state !== 'forwarding') return;
  conn.client.setKeepAlive(true, delayMs);
  conn.upstream?.setKeepAlive(true, delayMs);
}

const EMPTY = Buffer.alloc(0);

/** Bytes buffered from a client while its upstream connects; beyond this the client is paused. */
const MAX_PENDING_BYTES = 64 * 1024;
/** Connections older than this get TCP keepalive (see onUpstreamConnect). */
const KEEPALIVE_AFTER_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
