/**
 * One customer cannot take the gateway from the others: an endpoint, a tenant or a public source
 * address holding its share of idle connections gets its further connections dropped with a
 * reason of its own, while another customer's connections all go through. Over real sockets.
 */
import { privateLinkOpening } from '../../helpers/bytes';
import { startTestGateway, type TestGateway } from '../../helpers/gateway';
import { holdReopening, openAndHold, startEchoServer, waitFor, type HeldConnection, type TestServer } from '../../helpers/sockets';
import { buildClientHello } from '../../../lib/gateway/tls/build-client-hello';
import { ConnectionQuotas, connectionsForOpenFiles, parseOpenFilesLimit, resolveLimits } from '../../../lib/gateway/quotas';
import { testConfig } from '../../helpers/gateway';

const A = 'vpce-0aaaaaaaaaaaaaaa1';
const A2 = 'vpce-0aaaaaaaaaaaaaaa2';
const B = 'vpce-0bbbbbbbbbbbbbbb1';
const ALPHA = 'alpha.example.com';
const BETA = 'beta.example.com';

let echo: TestServer;
const held: HeldConnection[] = [];

beforeAll(async () => {
  echo = await startEchoServer();
});
afterEach(() => {
  for (const h of held.splice(0)) h.close();
});
afterAll(async () => {
  await echo?.close();
});

function gatewayWith(limits: Record<string, number>): Promise<TestGateway> {
  return startTestGateway({
    upstreams: { default: { host: '127.0.0.1', port: echo.port } },
    tenants: [
      { name: 'alpha', hostnames: [ALPHA], allow: { aws: [A, A2], cidrs: ['127.0.0.0/8'] } },
      { name: 'beta', hostnames: [BETA], allow: { aws: [B], cidrs: ['127.0.0.0/8'] } },
    ],
    limits,
    log: { decisions: 'none' },
  });
}

/** Opens `count` connections at once and keeps them; returns how many were forwarded. */
async function hold(port: number, bytes: Buffer, count: number, localAddress?: string): Promise<{ answered: number; closed: number }> {
  const opened = await Promise.all(Array.from({ length: count }, () => openAndHold(port, bytes, { localAddress })));
  held.push(...opened);
  return { answered: opened.filter((o) => o.outcome === 'answered').length, closed: opened.filter((o) => o.outcome === 'closed').length };
}

/** `count` connections one after another, each closed once answered: the share that was forwarded. */
async function successRate(port: number, bytes: Buffer, count: number, localAddress?: string): Promise<number> {
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const c = await openAndHold(port, bytes, { localAddress });
    if (c.outcome === 'answered') ok++;
    c.close();
  }
  return ok / count;
}

const reasons = (gw: TestGateway) => gw.decisions.filter((d) => d.verdict === 'drop').map((d) => d.reason);

describe('per-link-ID share', () => {
  test('GIVEN endpoint A holding its share of idle connections WHEN it opens more THEN they are dropped (link_over_capacity) and endpoint B still gets 100% through', async () => {
    // GIVEN a worker pool of 20, of which one endpoint may hold 5
    const gw = await gatewayWith({ maxConnections: 20, maxConnectionsPerLinkId: 5 });
    try {
      // WHEN endpoint A opens 25 connections and keeps them open
      const flood = await hold(gw.privateLinkPort, privateLinkOpening('aws', A, ALPHA), 25);
      // THEN 5 are forwarded and the 20 others dropped with the endpoint's own reason
      expect(flood).toEqual({ answered: 5, closed: 20 });
      await waitFor(() => reasons(gw).length >= 20);
      expect(reasons(gw)).toEqual(Array(20).fill('link_over_capacity'));
      const dropped = await gw.gateway.metrics.dropped.get();
      expect(dropped.values.find((v) => v.labels.reason === 'link_over_capacity')?.value).toBe(20);

      // THEN while A holds its share, every connection of another customer (endpoint B) goes through
      const rate = await successRate(gw.privateLinkPort, privateLinkOpening('aws', B, BETA), 40);
      process.stdout.write(`per-link isolation: endpoint A holds ${flood.answered} (20 more dropped: link_over_capacity); endpoint B success rate ${(rate * 100).toFixed(1)}% of 40\n`);
      expect(rate).toBe(1);
      // THEN A gets its place back once one of its connections closes (counts follow live connections)
      held.find((h) => h.outcome === 'answered')!.close();
      await waitFor(() => gw.gateway.activeConnections === 4);
      expect((await openAndHold(gw.privateLinkPort, privateLinkOpening('aws', A, ALPHA))).outcome).toBe('answered');
    } finally {
      await gw.close();
    }
  });
});

describe('connections without a PROXY header yet', () => {
  test('GIVEN a flood of silent connections re-opened as they close WHEN another endpoint connects THEN it gets 100% through, the oldest silent ones are dropped (unattributed_over_capacity) and no decided connection is', async () => {
    // GIVEN a worker pool of 20, of which at most 5 may still wait for their PROXY header
    const gw = await gatewayWith({ maxConnections: 20, maxConnectionsPerLinkId: 5, maxUnattributedConnections: 5 });
    try {
      // GIVEN endpoint A holding 5 forwarded connections (decided)
      expect(await hold(gw.privateLinkPort, privateLinkOpening('aws', A, ALPHA), 5)).toEqual({ answered: 5, closed: 0 });
      // WHEN 40 connections that never send a byte are opened and re-opened as the gateway closes them
      const flood = await holdReopening(gw.privateLinkPort, 40, Buffer.alloc(0));
      try {
        // THEN every connection of endpoint B goes through
        const rate = await successRate(gw.privateLinkPort, privateLinkOpening('aws', B, BETA), 40);
        process.stdout.write(`silent flood: 40 silent connections re-opened ${flood.reopened()} times; endpoint B success rate ${(rate * 100).toFixed(1)}% of 40\n`);
        expect(rate).toBe(1);
        // THEN only silent connections were dropped, for their own reason (a burst may also pass maxConnections)
        expect(new Set(reasons(gw))).toContain('unattributed_over_capacity');
        expect(reasons(gw).filter((r) => r !== 'unattributed_over_capacity' && r !== 'over_capacity')).toEqual([]);
        expect(gw.decisions.filter((d) => d.verdict === 'drop' && d.linkId !== null)).toEqual([]);
        // THEN A's 5 decided connections are still open, held by the gateway
        expect(held.map((h) => h.isOpen())).toEqual(Array(5).fill(true));
      } finally {
        flood.stop();
      }
    } finally {
      await gw.close();
    }
  }, 60_000);
});

describe('per-tenant share', () => {
  test('GIVEN tenant alpha holding its share over two endpoints WHEN it opens more THEN they are dropped (tenant_over_capacity) and tenant beta still gets 100% through', async () => {
    const gw = await gatewayWith({ maxConnections: 30, maxConnectionsPerLinkId: 8, maxConnectionsPerTenant: 10 });
    try {
      // WHEN alpha's first endpoint holds 8 and its second tries 8 more
      expect(await hold(gw.privateLinkPort, privateLinkOpening('aws', A, ALPHA), 8)).toEqual({ answered: 8, closed: 0 });
      expect(await hold(gw.privateLinkPort, privateLinkOpening('aws', A2, ALPHA), 8)).toEqual({ answered: 2, closed: 6 });
      // THEN the 6 beyond the tenant's 10 were dropped for the tenant, named in the decision
      await waitFor(() => reasons(gw).length >= 6);
      expect(reasons(gw)).toEqual(Array(6).fill('tenant_over_capacity'));
      expect(gw.decisions.find((d) => d.reason === 'tenant_over_capacity')).toMatchObject({ tenant: 'alpha', linkId: A2 });
      // THEN beta is untouched
      const rate = await successRate(gw.privateLinkPort, privateLinkOpening('aws', B, BETA), 30);
      process.stdout.write(`per-tenant isolation: alpha holds 10 over two endpoints (6 more dropped: tenant_over_capacity); beta success rate ${(rate * 100).toFixed(1)}% of 30\n`);
      expect(rate).toBe(1);
    } finally {
      await gw.close();
    }
  });
});

describe('per-source share on the public listener', () => {
  test('GIVEN one address holding its share WHEN it opens more THEN they are dropped (source_over_capacity) and another address still gets 100% through', async () => {
    const gw = await gatewayWith({ maxConnections: 20, maxConnectionsPerSource: 5 });
    const hello = buildClientHello({ serverName: ALPHA });
    try {
      // WHEN 127.0.0.1 opens 25 connections and keeps them
      const flood = await hold(gw.publicPort, hello, 25, '127.0.0.1');
      expect(flood).toEqual({ answered: 5, closed: 20 });
      await waitFor(() => reasons(gw).length >= 20);
      expect(reasons(gw)).toEqual(Array(20).fill('source_over_capacity'));
      // THEN 127.0.0.2 (another client, same tenant even) still goes through every time
      const rate = await successRate(gw.publicPort, buildClientHello({ serverName: BETA }), 40, '127.0.0.2');
      process.stdout.write(`per-source isolation: 127.0.0.1 holds 5 (20 more dropped: source_over_capacity); 127.0.0.2 success rate ${(rate * 100).toFixed(1)}% of 40\n`);
      expect(rate).toBe(1);
    } finally {
      await gw.close();
    }
  });
});

describe('defaults', () => {
  test('GIVEN no limits THEN maxConnections comes from the open-files limit (2 descriptors each, headroom kept) and the shares from it; idle timeout is on', () => {
    expect(resolveLimits(testConfig({ upstreams: {}, tenants: [] }).limits, 1024)).toEqual({
      maxConnections: 454,
      maxConnectionsFrom: 'open-files limit',
      openFilesLimit: 1024,
      maxConnectionsPerLinkId: 113,
      maxConnectionsPerTenant: 227,
      maxConnectionsPerSource: 113,
      maxUnattributedConnections: 113,
    });
    expect(testConfig({ upstreams: {}, tenants: [] }).limits.idleTimeoutSec).toBe(600);
    // A large limit is bounded by the memory-minded fallback; unreadable falls back; explicit wins.
    expect(resolveLimits(testConfig({ upstreams: {}, tenants: [] }).limits, 1_048_576).maxConnections).toBe(20_000);
    expect(resolveLimits(testConfig({ upstreams: {}, tenants: [] }).limits, null)).toMatchObject({ maxConnections: 20_000, maxConnectionsFrom: 'fallback' });
    expect(resolveLimits(testConfig({ upstreams: {}, tenants: [], limits: { maxConnections: 100 } }).limits, 1024)).toMatchObject({
      maxConnections: 100,
      maxConnectionsFrom: 'config',
      maxConnectionsPerLinkId: 25,
    });
    expect(connectionsForOpenFiles(10)).toBe(1);
  });

  test('GIVEN /proc/self/limits text THEN the soft open-files limit is read; "unlimited" or missing is unknown', () => {
    const line = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                1048576              files\n`;
    expect(parseOpenFilesLimit(line('65535'))).toBe(65535);
    expect(parseOpenFilesLimit(line('unlimited'))).toBeNull();
    expect(parseOpenFilesLimit('Max processes 10 10\n')).toBeNull();
  });

  test('GIVEN connections taken and released THEN a key at zero is removed (memory follows live connections)', () => {
    const quotas = new ConnectionQuotas(resolveLimits(testConfig({ upstreams: {}, tenants: [], limits: { maxConnections: 8 } }).limits));
    const holders = Array.from({ length: 3 }, () => ({ quotaLink: null, quotaTenant: null, quotaSource: null }));
    expect(holders.map((h) => quotas.takeLink(h, 'aws', A))).toEqual([true, true, false]);
    // Azure and GCP IDs are both decimal: the cloud is part of the key.
    expect(quotas.takeSource(holders[2]!, '10.0.0.1') && quotas.takeTenant(holders[2]!, 'alpha')).toBe(true);
    expect(quotas.counts()).toEqual({ links: 1, tenants: 1, sources: 1, unattributed: 0 });
    for (const h of holders) quotas.release(h);
    quotas.release(holders[0]!); // twice is harmless
    expect(quotas.counts()).toEqual({ links: 0, tenants: 0, sources: 0, unattributed: 0 });
  });
});
