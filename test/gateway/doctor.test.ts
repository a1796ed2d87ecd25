/**
 * `linkgate doctor` end to end: the CLI → `linkgate simulate` (the cloud's edge, writing that
 * cloud's PROXY header) → an in-process gateway → a counting upstream, over real sockets.
 */
import type { Socket } from 'node:net';
import { classifyAddress, runDoctor, type DoctorReport, type Lookup } from '../../lib/gateway/doctor';
import { buildClientHello } from '../../lib/gateway/tls/build-client-hello';
import type { Cloud } from '../../lib/tenants/ids';
import { runCli, runCliAsync, spawnCli, type CliProcess } from '../helpers/cli';
import { startTestGateway, testConfig, type TestConfig, type TestGateway } from '../helpers/gateway';
import { closedPort, sendRaw, startTcpServer, waitFor, type TestServer } from '../helpers/sockets';

jest.setTimeout(60_000);

const HOST = 'megacorp.api.example.com';
const OTHER_HOST = 'othercorp.api.example.com';
/** megacorp's endpoints. */
const ALLOWED: Record<Cloud, string> = { aws: 'vpce-08d2bf15fac5001c9', azure: '553665985', gcp: '18446744072646845442' };
/** Endpoints megacorp does not list; the AWS one is othercorp's. */
const NOT_ALLOWED: Record<Cloud, string> = { aws: 'vpce-0badc0ffee0000001', azure: '4294967295', gcp: '18446744073709551615' };

interface Stack {
  readonly gw: TestGateway;
  readonly config: TestConfig;
  readonly upstream: TestServer;
  /** Connections the upstream has accepted. */
  readonly upstreamConnections: () => number;
  simulate(cloud: Cloud, linkId: string): Promise<number>;
  close(): Promise<void>;
}

/** GIVEN a gateway (megacorp and othercorp) in front of an upstream that counts its connections. */
async function startStack(extra: Partial<TestConfig> = {}): Promise<Stack> {
  let connections = 0;
  const upstream = await startTcpServer((s: Socket) => {
    connections++;
    s.pipe(s); // an echo: a forwarded ClientHello comes back as a TLS record
  });
  const config: TestConfig = {
    upstreams: { default: { host: '127.0.0.1', port: upstream.port } },
    tenants: [
      { name: 'megacorp', hostnames: [HOST], allow: { aws: [ALLOWED.aws], azure: [ALLOWED.azure], gcp: [ALLOWED.gcp] } },
      { name: 'othercorp', hostnames: [OTHER_HOST], allow: { aws: [NOT_ALLOWED.aws] } },
    ],
    ...extra,
  };
  const gw = await startTestGateway(config);
  const sims: CliProcess[] = [];
  return {
    gw,
    config,
    upstream,
    upstreamConnections: () => connections,
    async simulate(cloud, linkId) {
      const port = await closedPort();
      const sim = spawnCli(['simulate', '--cloud', cloud, '--link-id', linkId, '--listen', `127.0.0.1:${port}`, '--to', `127.0.0.1:${gw.privateLinkPort}`]);
      sims.push(sim);
      await sim.waitForLine((l) => l.msg === 'simulating');
      return port;
    },
    async close() {
      for (const sim of sims) sim.kill();
      await Promise.all(sims.map((s) => s.exited));
      await gw.close();
      await upstream.close();
    },
  };
}

async function doctorJson(args: string[]): Promise<{ status: number | null; report: DoctorReport }> {
  const r = await runCliAsync(['doctor', ...args, '--json']);
  return { status: r.status, report: JSON.parse(r.stdout) as DoctorReport };
}

async function dropped(gw: TestGateway, reason: string): Promise<number> {
  const metric = await gw.gateway.metrics.dropped.get();
  return metric.values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

describe.each(['aws', 'azure', 'gcp'] as const)('%s: linkgate doctor through linkgate simulate, diagnostics on', (cloud) => {
  let stack: Stack;
  let allowedPort: number;
  let otherPort: number;
  beforeAll(async () => {
    stack = await startStack({ diagnostics: { enabled: true } });
    allowedPort = await stack.simulate(cloud, ALLOWED[cloud]);
    otherPort = await stack.simulate(cloud, NOT_ALLOWED[cloud]);
  });
  afterAll(() => stack.close());

  test("GIVEN the customer's own endpoint WHEN the doctor asks for their hostname THEN exit 0 with the link ID the gateway saw and the tenant", async () => {
    const { status, report } = await doctorJson([HOST, '--connect', `127.0.0.1:${allowedPort}`]);
    expect(status).toBe(0);
    expect(report).toMatchObject({
      outcome: 'served',
      dns: null,
      exchange: { kind: 'answered', reply: { status: 'answered', cloud, linkId: ALLOWED[cloud], hostname: HOST, verdict: 'forward', reason: null, tenant: 'megacorp' } },
    });
    // THEN counted and logged like a decision, and never forwarded.
    const decision = await stack.gw.waitForDecision((d) => d.linkId === ALLOWED[cloud] && d.reason === 'diagnostic_answered');
    expect(decision).toMatchObject({ verdict: 'drop', tenant: 'megacorp', cloud, hostname: HOST, detail: 'linkgate doctor: would forward' });
    expect(stack.upstreamConnections()).toBe(0);
  });

  test('GIVEN an endpoint the tenant does not list WHEN the doctor asks THEN exit 7, "register link ID …", and no tenant name', async () => {
    const text = await runCliAsync(['doctor', HOST, '--connect', `127.0.0.1:${otherPort}`]);
    expect(text.status).toBe(7);
    expect(text.stdout).toContain(`link ID    ${NOT_ALLOWED[cloud]}`);
    expect(text.stdout).toContain(`Register link ID ${NOT_ALLOWED[cloud]} with your provider for ${HOST}`);
    expect(text.stdout).toContain('verdict    drop (link_id_not_allowed)');
    const { report } = await doctorJson([HOST, '--connect', `127.0.0.1:${otherPort}`]);
    expect(report.exchange).toEqual({
      kind: 'answered',
      reply: { status: 'answered', cloud, linkId: NOT_ALLOWED[cloud], hostname: HOST, verdict: 'drop', reason: 'link_id_not_allowed' },
    });
    // Neither the hostname's tenant nor the tenant that owns this link ID (othercorp, on AWS) is named.
    expect(text.stdout).not.toMatch(/othercorp|tenant {5}megacorp/);
    expect(stack.upstreamConnections()).toBe(0);
  });
});

describe('linkgate doctor: other answers (AWS edge)', () => {
  let stack: Stack;
  let port: number;
  beforeAll(async () => {
    stack = await startStack({ diagnostics: { enabled: true, maxPerMinutePerLinkId: 1000 } });
    port = await stack.simulate('aws', ALLOWED.aws);
  });
  afterAll(() => stack.close());

  test('GIVEN a hostname no tenant has THEN exit 8 saying the gateway serves no tenant for it', async () => {
    const r = await runCliAsync(['doctor', 'nobody.api.example.com', '--connect', `127.0.0.1:${port}`]);
    expect(r.status).toBe(8);
    expect(r.stdout).toContain('The gateway serves no tenant for nobody.api.example.com');
    expect(r.stdout).toContain('verdict    drop (unknown_host)');
  });

  test('GIVEN the path that forwards an ordinary ClientHello THEN a doctor hello on it still never reaches the upstream', async () => {
    // GIVEN: an ordinary hello for the same hostname through the same edge is forwarded.
    const ordinary = await sendRaw(port, [buildClientHello({ serverName: HOST })], { waitMs: 3000 });
    expect(ordinary.data[0]).toBe(0x16); // echoed by the upstream
    await waitFor(() => stack.upstreamConnections() === 1, 5000, 'the ordinary hello forwarded');
    // WHEN: the doctor asks, several times.
    for (let i = 0; i < 3; i++) expect((await runDoctor({ hostname: HOST, connect: { host: '127.0.0.1', port } })).outcome).toBe('served');
    // THEN: still the one ordinary connection upstream.
    expect(stack.upstreamConnections()).toBe(1);
  });

  test('GIVEN a hello offering the marker next to another protocol THEN it is ordinary traffic: forwarded, not answered', async () => {
    const before = stack.upstreamConnections();
    const seen = await sendRaw(port, [buildClientHello({ serverName: HOST, alpn: ['h2', 'linkgate-doctor/1'] })], { waitMs: 3000 });
    expect(seen.data[0]).toBe(0x16);
    await waitFor(() => stack.upstreamConnections() === before + 1, 5000, 'forwarded');
  });
});

describe('linkgate doctor: the public listener', () => {
  test('GIVEN diagnostics on WHEN a doctor hello arrives on the public listener THEN it is decided and forwarded like any connection, not answered', async () => {
    const stack = await startStack({
      diagnostics: { enabled: true },
      tenants: [{ name: 'status', hostnames: ['status.example.com'], open: true }],
    });
    try {
      const report = await runDoctor({ hostname: 'status.example.com', connect: { host: '127.0.0.1', port: stack.gw.publicPort } });
      expect(report.exchange).toEqual({ kind: 'tls' }); // the upstream's echo
      expect(await stack.gw.waitForDecision((d) => d.listener === 'public')).toMatchObject({ verdict: 'forward', tenant: 'status' });
      await waitFor(() => stack.upstreamConnections() === 1, 5000, 'forwarded');
    } finally {
      await stack.close();
    }
  });
});

describe('linkgate doctor: rate limits', () => {
  test('GIVEN 2 answers per minute per endpoint and 3 in all THEN the third from one endpoint and the fourth overall are refused, counted, never forwarded', async () => {
    const stack = await startStack({ diagnostics: { enabled: true, maxPerMinutePerLinkId: 2, maxPerMinute: 3 } });
    try {
      const a = await stack.simulate('azure', ALLOWED.azure);
      const b = await stack.simulate('gcp', ALLOWED.gcp);
      const ask = async (port: number) => (await runDoctor({ hostname: HOST, connect: { host: '127.0.0.1', port } })).outcome;
      expect([await ask(a), await ask(a)]).toEqual(['served', 'served']);
      // WHEN the same endpoint asks a third time THEN refused by the per-endpoint limit.
      const third = await runCliAsync(['doctor', HOST, '--connect', `127.0.0.1:${a}`]);
      expect(third.status).toBe(10);
      expect(third.stdout).toMatch(/Run this again in \d+ s/);
      // WHEN another endpoint asks THEN one answer is left in the global budget, then none.
      expect([await ask(b), await ask(b)]).toEqual(['served', 'rate_limited']);
      expect(await dropped(stack.gw, 'diagnostic_rate_limited')).toBe(2);
      expect(await dropped(stack.gw, 'diagnostic_answered')).toBe(3);
      expect(stack.upstreamConnections()).toBe(0);
    } finally {
      await stack.close();
    }
  });
});

describe('linkgate doctor: diagnostics off (the default)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  test("GIVEN the customer's endpoint THEN the doctor hello is forwarded like any connection and the doctor says the hostname is served, without details", async () => {
    const port = await stack.simulate('gcp', ALLOWED.gcp);
    const r = await runCliAsync(['doctor', HOST, '--connect', `127.0.0.1:${port}`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("diagnostics are off, so the link ID and tenant are not shown");
    const decision = await stack.gw.waitForDecision((d) => d.linkId === ALLOWED.gcp);
    expect(decision).toMatchObject({ verdict: 'forward', reason: null, tenant: 'megacorp' });
    await waitFor(() => stack.upstreamConnections() === 1, 5000, 'forwarded');
  });

  test('GIVEN an endpoint the tenant does not list THEN dropped as link_id_not_allowed like any connection, and the doctor says diagnostics are off (exit 6)', async () => {
    const port = await stack.simulate('azure', NOT_ALLOWED.azure);
    const r = await runCliAsync(['doctor', HOST, '--connect', `127.0.0.1:${port}`]);
    expect(r.status).toBe(6);
    expect(r.stdout).toContain('gave no reason, so its diagnostics are off');
    expect(r.stdout).toContain('diagnostics: { enabled: true }');
    expect(r.stdout).not.toContain(NOT_ALLOWED.azure); // the gateway said nothing
    const decision = await stack.gw.waitForDecision((d) => d.linkId === NOT_ALLOWED.azure);
    expect(decision).toMatchObject({ verdict: 'drop', reason: 'link_id_not_allowed' });
    expect(await dropped(stack.gw, 'diagnostic_answered')).toBe(0);
  });
});

describe('linkgate doctor: diagnostics turned on by a reload', () => {
  test('GIVEN a gateway with diagnostics off WHEN a reload turns them on THEN the next doctor request is answered', async () => {
    const stack = await startStack();
    try {
      const port = await stack.simulate('aws', ALLOWED.aws);
      const ask = () => runDoctor({ hostname: HOST, connect: { host: '127.0.0.1', port } });
      expect((await ask()).exchange).toEqual({ kind: 'tls' });
      stack.gw.gateway.applyConfig(testConfig({ ...stack.config, diagnostics: { enabled: true } }));
      expect((await ask()).exchange).toMatchObject({ kind: 'answered', reply: { linkId: ALLOWED.aws, tenant: 'megacorp' } });
    } finally {
      await stack.close();
    }
  });
});

describe('linkgate doctor: DNS', () => {
  const lookupOf = (...addresses: string[]): Lookup & { calls: number } => {
    const fn = Object.assign(async () => {
      fn.calls++;
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    }, { calls: 0 });
    return fn;
  };

  test.each([
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.0.7', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.128.0.1', 'public'],
    ['169.254.1.1', 'link-local'],
    ['127.0.0.1', 'loopback'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::1', 'loopback'],
    ['2001:db8::1', 'public'],
    ['52.94.236.248', 'public'],
  ])('GIVEN %s THEN it is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  test('GIVEN the hostname resolves to a public address (private DNS missing) THEN exit 4, nothing is sent, and the record to create is named per cloud', async () => {
    const report = await runDoctor({ hostname: HOST, lookup: lookupOf('52.94.236.248') });
    expect(report).toMatchObject({ outcome: 'dns_public', exitCode: 4, target: null, exchange: null, dns: { addresses: [{ address: '52.94.236.248', kind: 'public' }] } });
    expect(report.summary).toContain('the private DNS record is missing');
    const steps = report.nextSteps.join('\n');
    expect(steps).toContain(`Route 53 private hosted zone "${HOST}"`);
    expect(steps).toContain(`az network private-dns record-set a add-record -g <rg> -z ${HOST} -n @`);
    expect(steps).toContain(`gcloud dns record-sets create ${HOST}. --zone=<zone> --type=A`);
  });

  test('GIVEN one private and one public answer THEN still the public-DNS mistake (some connections would go around the endpoint)', async () => {
    expect((await runDoctor({ hostname: HOST, lookup: lookupOf('10.0.0.5', '52.94.236.248') })).outcome).toBe('dns_public');
  });

  test('GIVEN the name does not resolve THEN exit 3', async () => {
    const lookup: Lookup = () => Promise.reject(Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' }));
    expect(await runDoctor({ hostname: HOST, lookup })).toMatchObject({ outcome: 'dns_not_found', exitCode: 3, dns: { error: 'ENOTFOUND' } });
  });

  test('GIVEN the name resolves to a non-public address THEN the doctor connects there on --port and runs the exchange', async () => {
    const stack = await startStack({ diagnostics: { enabled: true } });
    try {
      const port = await stack.simulate('aws', ALLOWED.aws);
      const lookup = lookupOf('127.0.0.1');
      const report = await runDoctor({ hostname: HOST, port, lookup });
      expect(lookup.calls).toBe(1);
      expect(report).toMatchObject({ outcome: 'served', target: `127.0.0.1:${port}`, dns: { addresses: [{ address: '127.0.0.1', kind: 'loopback' }] } });
    } finally {
      await stack.close();
    }
  });

  // The CLI with the system resolver (getaddrinfo): what is real here is the resolver and the
  // classification; a public answer for a name cannot be had offline, so a literal address stands in.
  test('GIVEN the CLI and a public address THEN exit 4 and the private DNS advice', () => {
    const r = runCli(['doctor', '198.51.100.7']);
    expect(r.status).toBe(4);
    expect(r.stdout).toContain('198.51.100.7 (public)');
    expect(r.stdout).toContain('the private DNS record is missing');
  });

  test('GIVEN the CLI and "localhost" THEN the system resolver gives a loopback address, the doctor connects on --port, and the gateway knows no such tenant (exit 8)', async () => {
    const stack = await startStack({ diagnostics: { enabled: true } });
    try {
      const port = await stack.simulate('aws', ALLOWED.aws);
      const r = await runCliAsync(['doctor', 'localhost', '--port', String(port)]);
      expect(r.stdout).toMatch(/DNS {8}.*\(loopback\)/);
      expect(r.stdout).toContain(`address    127.0.0.1:${port}`);
      expect(r.status).toBe(8);
    } finally {
      await stack.close();
    }
  });
});

describe('linkgate doctor: usage', () => {
  test.each([
    [['doctor'], 'doctor needs HOSTNAME'],
    [['doctor', 'https://megacorp.api.example.com/'], 'HOSTNAME must be a DNS name such as megacorp.api.example.com, got "https://megacorp.api.example.com/"'],
    [['doctor', HOST, '--port', '0'], '--port must be a port number (1-65535), got "0"'],
    [['doctor', HOST, '--prot', '443'], "unknown option --prot for 'doctor'; valid: --port, --connect, --json, --help"],
  ])('GIVEN %p THEN exit 2: %s', (args, message) => {
    const r = runCli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`linkgate: ${message}\n`);
  });
});
