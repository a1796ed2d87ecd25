/**
 * http mode through the real commands: `linkgate serve` (a cluster of 2 workers) behind
 * `linkgate simulate`, curl in front, an echo upstream behind.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli, type CliProcess } from '../../helpers/cli';
import { curl, makeCertificate, startEchoUpstream, type EchoUpstream } from '../../helpers/http';
import { describeWithPeer } from '../../helpers/peers';
import { closedPort } from '../../helpers/sockets';

jest.setTimeout(90_000);

const HOST = 'api.shared.example.com';
const ALLOWED = '553665985';
const OTHER = '553665986';

describeWithPeer('curl', 'linkgate serve in http mode behind linkgate simulate', () => {
  let upstream: EchoUpstream;
  let serve: CliProcess;
  const sims: CliProcess[] = [];
  let caFile: string;
  let privateLinkPort: number;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-http-serve-'));
    const cert = await makeCertificate(dir, 'shared', [HOST]);
    caFile = cert.certFile;
    upstream = await startEchoUpstream();
    privateLinkPort = await closedPort();
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        listeners: { privateLink: { port: privateLinkPort, host: '127.0.0.1', mode: 'http' }, health: { port: await closedPort(), host: '127.0.0.1' } },
        upstreams: { default: { host: '127.0.0.1', port: upstream.port } },
        tenants: [
          { name: 'megacorp', hostnames: ['megacorp.example.com'], allow: { azure: [ALLOWED] } },
          { name: 'initech', hostnames: ['initech.example.com'], allow: { azure: [OTHER] } },
        ],
        http: { certificates: [cert], tenantFrom: { header: 'x-tenant' } },
      }),
    );
    serve = spawnCli(['serve', '--config', config, '--workers', '2']);
    await serve.waitForLine((l) => l.msg === 'listening', 60_000);
  });

  afterAll(async () => {
    for (const s of sims) s.kill();
    serve?.kill();
    await serve?.exited;
    await upstream?.close();
  });

  async function simulate(linkId: string): Promise<number> {
    const port = await closedPort();
    const sim = spawnCli(['simulate', '--cloud', 'azure', '--link-id', linkId, '--listen', `127.0.0.1:${port}`, '--to', `127.0.0.1:${privateLinkPort}`]);
    sims.push(sim);
    await sim.waitForLine((l) => l.msg === 'simulating');
    return port;
  }

  test('GIVEN an Azure endpoint allowed for megacorp WHEN curl --http2 names megacorp in x-tenant on the shared hostname THEN 200 with the decision in X-Linkgate-*, and initech gets 403', async () => {
    const port = await simulate(ALLOWED);
    const ok = await curl({ host: HOST, port, caFile, http: '2', headers: ['x-tenant: megacorp', 'X-Linkgate-Link-Id: 1'] });
    expect(ok.run.stderr).toBe('');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({
      headers: { 'x-linkgate-tenant': 'megacorp', 'x-linkgate-link-id': ALLOWED, 'x-linkgate-cloud': 'azure' },
    });
    const refused = await curl({ host: HOST, port, caFile, http: '1.1', headers: ['x-tenant: initech'] });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ error: 'link_id_not_allowed' });
    await serve.waitForLine((l) => l.msg === 'drop' && l.reason === 'link_id_not_allowed' && l.linkId === ALLOWED);
  });
});
