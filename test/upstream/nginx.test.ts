/**
 * The README's nginx recipe, as written there, with Debian's nginx as the upstream of the gateway:
 * simulate → gateway (proxyProtocol: true) → nginx. A request whose Host / :authority is not the
 * connection's SNI (the one the gateway decided on) gets 421; a matching one is served.
 */
import { readFileSync } from 'node:fs';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { DEMO_TLS_DIR, demoCa } from '../../examples/demo/upstream';
import { startSimulator, type Simulator } from '../../lib/gateway/simulate';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { startNginx, type Nginx } from '../helpers/nginx';
import { describeWithPeer, runPeer } from '../helpers/peers';
import { closedPort } from '../helpers/sockets';

const CA = join(DEMO_TLS_DIR, 'ca.crt');
const ATTACKER = 'vpce-0000000000000000a';
const MEGACORP_OWN = 'vpce-08d2bf15fac5001c9';

/** The recipe between the README's nginx-recipe markers, without its code fence. */
function readmeNginxRecipe(): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- nginx-recipe:start -->');
  const end = readme.indexOf('<!-- nginx-recipe:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no <!-- nginx-recipe:start/end --> block');
  const block = readme.slice(start, end);
  return block.slice(block.indexOf('```nginx\n') + '```nginx\n'.length, block.lastIndexOf('```'));
}

/** Replaces one line of the recipe; a recipe that no longer has it fails the test loudly. */
function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`the README nginx recipe no longer contains ${String(from)}`);
  return text.replace(from, to);
}

describeWithPeer('nginx', 'the README nginx recipe as the gateway’s upstream', () => {
  let nginx: Nginx;
  let gw: TestGateway;
  const sims: Record<string, Simulator> = {};

  beforeAll(async () => {
    const port = await closedPort();
    // Only what cannot be the same on this machine changes: the address, the certificate, and a
    // location that says what it served instead of proxying on.
    let recipe = readmeNginxRecipe();
    recipe = replaceOnce(recipe, /listen 8443 /, `listen 127.0.0.1:${port} `);
    recipe = replaceOnce(recipe, '/etc/nginx/tls/server.crt', join(DEMO_TLS_DIR, 'server.crt'));
    recipe = replaceOnce(recipe, '/etc/nginx/tls/server.key', join(DEMO_TLS_DIR, 'server.key'));
    recipe = replaceOnce(recipe, 'set_real_ip_from    10.0.0.0/8;', 'set_real_ip_from    127.0.0.1;');
    recipe = replaceOnce(recipe, 'proxy_pass http://127.0.0.1:8080;', 'return 200 "served $host on SNI $ssl_server_name to $remote_addr\\n";');
    nginx = await startNginx(recipe, port);
    gw = await startTestGateway({
      upstreams: { default: { host: '127.0.0.1', port, proxyProtocol: true } },
      tenants: [
        { name: 'shop', hostnames: ['shop.example.com'], open: true },
        { name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { aws: [MEGACORP_OWN] } },
      ],
    });
    for (const id of [ATTACKER, MEGACORP_OWN]) {
      sims[id] = await startSimulator({ cloud: 'aws', linkId: id, listen: { host: '127.0.0.1', port: 0 }, to: { host: '127.0.0.1', port: gw.privateLinkPort } });
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(sims).map((s) => s.close()));
    await gw?.close();
    await nginx?.stop();
  });

  const edge = (id: string) => sims[id]!.address.port;
  const curl = (sni: string, host: string, port: number, flags: string[]) =>
    runPeer('curl', ['-sS', '--max-time', '10', '--cacert', CA, ...flags, '--resolve', `${sni}:${port}:127.0.0.1`, '-H', `Host: ${host}`, '-w', '%{http_code} %{http_version}\n', `https://${sni}:${port}/`]);

  test.each([
    ['HTTP/1.1', ['--http1.1'], '1.1'],
    ['HTTP/2', ['--http2'], '2'],
  ])('GIVEN %s with SNI of the open tenant and Host of the protected one THEN nginx answers 421 and serves nothing', async (_name, flags, version) => {
    const r = await curl('shop.example.com', 'megacorp.example.com', edge(ATTACKER), flags);
    expect(r.stdout).not.toContain('served');
    expect(r.stdout).toContain('421 Misdirected Request');
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`421 ${version}`);
    // The gateway forwarded: it saw only the SNI of an open tenant.
    await gw.waitForDecision((d) => d.hostname === 'shop.example.com' && d.linkId === ATTACKER && d.verdict === 'forward');
  });

  test.each([
    ['the same name', 'shop.example.com'],
    ['another case, a port and a trailing dot', 'SHOP.Example.com.:443'],
  ])('GIVEN a Host that is the SNI written as %s THEN nginx serves it (200) with the client the cloud reported', async (_what, host) => {
    const r = await curl('shop.example.com', host, edge(ATTACKER), ['--http1.1']);
    expect(r.stdout).toBe('served shop.example.com on SNI shop.example.com to 127.0.0.1\n200 1.1\n');
  });

  test('GIVEN the protected tenant’s own endpoint THEN its host is served', async () => {
    const r = await curl('megacorp.example.com', 'megacorp.example.com', edge(MEGACORP_OWN), ['--http2']);
    expect(r.stdout).toBe('served megacorp.example.com on SNI megacorp.example.com to 127.0.0.1\n200 2\n');
  });

  test('GIVEN a Node http2 client coalescing the protected :authority onto a connection for the open one THEN 421, then 200 for its own on the same connection', async () => {
    const s = http2Connect('https://shop.example.com', {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port: edge(ATTACKER), servername: 'shop.example.com', ca: demoCa(), ALPNProtocols: ['h2'] }),
    });
    const get = (authority: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = s.request({ ':authority': authority, ':path': '/' });
        let status = 0;
        let body = '';
        req.on('response', (h) => (status = Number(h[h2.HTTP2_HEADER_STATUS])));
        req.setEncoding('utf8').on('data', (d: string) => (body += d));
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
      });
    try {
      const fronted = await get('megacorp.example.com');
      expect(fronted.status).toBe(421);
      expect(fronted.body).not.toContain('served');
      expect(await get('shop.example.com')).toEqual({ status: 200, body: 'served shop.example.com on SNI shop.example.com to 127.0.0.1\n' });
    } finally {
      s.close();
    }
  });
});
