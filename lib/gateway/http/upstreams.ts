/**
 * One undici Pool per upstream for http mode: keep-alive connections reused across requests and
 * clients, HTTP/1.1 or HTTP/2 (ALPN over TLS, prior knowledge without). A reload that changes an
 * upstream gets a new pool; the old one finishes its requests and closes.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
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
      const pool = new Pool(origin, {
        connections: http.maxConnections,
        // Time to the upstream's response head, and between body chunks: the request's own bound
        // and the idle bound are enforced by the front (timeouts.requestMs, idleMs).
        headersTimeout: settings.timeouts.requestMs,
        bodyTimeout: settings.timeouts.idleMs,
        keepAliveTimeout: 4_000,
        allowH2: h2 && http.tls,
        ...(h2 && !http.tls ? { useH2c: true } : {}),
        connect: {
          timeout: u.connectTimeoutMs,
          ...(http.tls ? { servername: http.servername ?? (isIpLiteral(u.host) ? undefined : u.host), ...(ca ? { ca } : {}) } : {}),
        },
      } as Pool.Options);
      next.set(name, { name, pool, origin, host: u.host, port: u.port, http, ca, key });
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
