/**
 * One undici Pool per upstream for http mode: keep-alive connections reused across requests and
 * clients, HTTP/1.1 or HTTP/2 (ALPN over TLS, prior knowledge without). A reload that changes an
 * upstream gets a new pool; the old one finishes its requests and closes.
 */
import { readFileSync } from 'node:fs';
import type { Pool, buildConnector } from 'undici';

type UndiciModule = typeof import('undici');
/** Loaded on the first http-mode config, not at the top: a tcp-only gateway never pays its ~20 MB per process. */
let undici: UndiciModule | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadUndici = (): UndiciModule => (undici ??= require('undici') as UndiciModule);
import type { GatewayConfig, HttpSettings, UpstreamHttp } from '../../tenants/schema';

export interface UpstreamPool {
  readonly name: string;
  readonly pool: Pool;
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly http: UpstreamHttp;
  /** CA bytes read once per pool (for raw upgrade connections too). */
  readonly ca: Buffer | undefined;
  /** Settings the pool was built from: an unchanged upstream keeps its pool across reloads. */
  readonly key: string;
  /** Requests in flight per tenant on this pool, and the most one tenant may have (tenantShare). */
  readonly inflight: Map<string, number>;
  readonly maxPerTenant: number;
}

/**
 * One tenant may hold at most half of an upstream's capacity with requests in flight: a tenant
 * whose clients send slow bodies (or whose answers are slow) would otherwise take every pooled
 * connection, and the other tenants on that upstream would queue behind it. Half, like
 * limits.maxConnectionsPerTenant in tcp mode. Capacity is maxConnections for HTTP/1.1 (one request
 * per connection) and maxConnections × 100 streams for HTTP/2.
 */
const TENANT_SHARE = 2;
const H2_STREAMS_PER_CONNECTION = 100;

export function tenantShare(http: UpstreamHttp): number {
  const capacity = http.protocol === 'http2' ? http.maxConnections * H2_STREAMS_PER_CONNECTION : http.maxConnections;
  return Math.max(1, Math.floor(capacity / TENANT_SHARE));
}

/** Counts one request of `tenant` on `pool` if under its share; the returned function releases it once. */
export function takeTenantSlot(pool: UpstreamPool, tenant: string): (() => void) | null {
  const n = pool.inflight.get(tenant) ?? 0;
  if (n >= pool.maxPerTenant) return null;
  pool.inflight.set(tenant, n + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (pool.inflight.get(tenant) ?? 1) - 1;
    if (left > 0) pool.inflight.set(tenant, left);
    else pool.inflight.delete(tenant);
  };
}

const PLAIN_HTTP1: UpstreamHttp = { protocol: 'http1', tls: false, maxConnections: 64 };

export class UpstreamPools {
  private pools = new Map<string, UpstreamPool>();

  /** Builds the pools of `config`; reused where nothing changed. Throws when a caFile cannot be read. */
  prepare(config: GatewayConfig, settings: HttpSettings): () => void {
    const next = new Map<string, UpstreamPool>();
    for (const [name, u] of Object.entries(config.upstreams)) {
      const http = u.http ?? PLAIN_HTTP1;
      const key = JSON.stringify([u.host, u.port, u.connectTimeoutMs, http, settings.timeouts]);
      const old = this.pools.get(name);
      if (old && old.key === key) {
        next.set(name, old);
        continue;
      }
      let ca: Buffer | undefined;
      if (http.caFile) {
        try {
          ca = readFileSync(http.caFile);
        } catch (err) {
          throw new Error(`upstreams.${name}.http.caFile: ${(err as Error).message}`, { cause: err });
        }
      }
      const origin = `${http.tls ? 'https' : 'http'}://${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
      const h2 = http.protocol === 'http2';
      // undici would take the TLS name from each request's Host (the client's, the tenant's
      // public name): the upstream is verified against its own name instead.
      const servername = http.servername ?? (isIpLiteral(u.host) ? undefined : u.host);
      const { Pool, buildConnector } = loadUndici();
      const connector = buildConnector({ timeout: u.connectTimeoutMs, ...(ca ? { ca } : {}), ...(h2 && http.tls ? { allowH2: true } : {}) } as buildConnector.BuildOptions);
      const connect: buildConnector.connector = (options, callback) => connector({ ...options, servername }, callback);
      const pool = new Pool(origin, {
        connections: http.maxConnections,
        // Time to the upstream's response head, and between body chunks: the request's own bound
        // and the idle bound are enforced by the front (timeouts.requestMs, idleMs).
        headersTimeout: settings.timeouts.requestMs,
        bodyTimeout: settings.timeouts.idleMs,
        keepAliveTimeout: 4_000,
        allowH2: h2 && http.tls,
        ...(h2 && !http.tls ? { useH2c: true } : {}),
        connect: http.tls ? connect : { timeout: u.connectTimeoutMs },
      } as Pool.Options);
      next.set(name, { name, pool, origin, host: u.host, port: u.port, http, ca, key, inflight: new Map(), maxPerTenant: tenantShare(http) });
    }
    return () => {
      const previous = this.pools;
      this.pools = next;
      for (const [name, p] of previous) {
        if (next.get(name) !== p) void p.pool.close().catch(() => undefined);
      }
    };
  }

  get(name: string): UpstreamPool | undefined {
    return this.pools.get(name);
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools = new Map();
    await Promise.all(all.map((p) => p.pool.destroy().catch(() => undefined)));
  }
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
