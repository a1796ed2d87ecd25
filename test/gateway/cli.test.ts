/** The `linkgate` command as users run it (the built CLI in a real process). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import awsVectors from '../fixtures/pp2-aws-nlb.json';
import { runCli, spawnCli } from '../helpers/cli';
import { startTcpServer, waitFor, closedPort } from '../helpers/sockets';
import { decodeProxyHeader } from '../../lib/gateway/proxy-protocol/decoder';
import { connect } from 'node:net';

describe('linkgate decode', () => {
  test('GIVEN the shared AWS NLB vector THEN it prints the VPCE ID and crc32c valid', () => {
    const r = runCli(['decode', awsVectors[0]!.hex]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      version: 2,
      command: 'PROXY',
      source: { address: '172.31.7.113', port: 51442 },
      destination: { address: '172.31.10.31', port: 80 },
      tlvs: [
        { type: '0x03', length: 4 },
        { type: '0xea', length: 23 },
        { type: '0x04', length: 36 },
      ],
      cloud: 'aws',
      linkId: 'vpce-08d2bf15fac5001c9',
      crc32c: 'valid',
    });
  });

  test('GIVEN a header whose checksum is wrong THEN it still prints it, says invalid and exits 1', () => {
    const hex = awsVectors[0]!.hex.replace('e8d6892d', 'e8d6892e');
    const r = runCli(['decode', hex]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ crc32c: 'invalid', linkId: 'vpce-08d2bf15fac5001c9' });
  });

  test.each([
    [['zz'], /not hex/],
    [['0d0a0d0a000d0a515549540a2111'], /truncated header: 14 bytes given, at least 16 needed/],
    [['0d0a0d0a000d0a515549540a22110000'], /bad_command/],
    [['474554202f'], /not_proxy_v2/],
  ])('GIVEN %p THEN it exits non-zero naming the problem', (args, message) => {
    const r = runCli(['decode', ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('linkgate validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linkgate-validate-'));
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(good, 'listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }\nupstreams: { default: { host: a, port: 443 } }\ntenants: [{ name: a, hostnames: [a.example.com], open: true }]\n');
  writeFileSync(bad, 'listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }\nupstreams: { default: { host: a, port: 443 } }\ntenants:\n  - name: a\n    hostnames: [a.example.com]\n    allow: { aws: [vpce-1], azure: [x] }\n');

  test('GIVEN a valid file THEN exit 0 with the tenant count', () => {
    expect(runCli(['validate', good])).toMatchObject({ status: 0, stdout: `${good}: valid (1 tenants)\n` });
  });

  test('GIVEN an invalid file THEN exit 1 with every error, its path and its line', () => {
    const r = runCli(['validate', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:6:20: tenants[0].allow.aws[0]: expected a VPC endpoint ID`);
    expect(r.stderr).toContain(`${bad}:6:37: tenants[0].allow.azure[0]: expected a Private Link LinkID`);
    expect(r.stderr).toContain(`${bad}: 2 error(s)`);
  });

  test('GIVEN schema errors AND two tenants claiming one hostname and one LinkID THEN one run prints them all, with paths and lines', () => {
    const file = join(dir, 'claims.yaml');
    writeFileSync(
      file,
      [
        'listeners: { privateLink: { port: 8443 }, health: { port: 8080 } }',
        'upstreams: { default: { host: a, port: 443 } }',
        'tenants:',
        '  - { name: a, hostnames: [a.example.com], allow: { aws: [vpce-1] } }',
        '  - { name: b, hostnames: [b.example.com], allow: { azure: ["7"] } }',
        '  - { name: c, hostnames: [b.example.com], allow: { azure: ["7"] } }',
        '',
      ].join('\n'),
    );
    const r = runCli(['validate', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:4:59: tenants[0].allow.aws[0]: expected a VPC endpoint ID`);
    expect(r.stderr).toContain(`${file}:6:28: tenants[2].hostnames[0]: hostname "b.example.com" is claimed by tenants "b" (tenants[1].hostnames[0]) and "c"`);
    expect(r.stderr).toContain(`${file}:6:61: tenants[2].allow.azure[0]: azure link ID "7" is claimed by tenants "b" (tenants[1].allow.azure[0]) and "c"`);
    expect(r.stderr).toContain(`${file}: 3 error(s)`);
  });

  test('GIVEN a JSON file with an unquoted uint64 GCP ID and a key written twice THEN validate shows the digits written, or the duplicate with its line', () => {
    const json = (tenant: string) =>
      `{"listeners": {"privateLink": {"port": 8443}, "health": {"port": 8080}}, "upstreams": {"default": {"host": "a", "port": 443}},\n "tenants": [\n  ${tenant}\n]}\n`;
    const number = join(dir, 'number.json');
    writeFileSync(number, json('{"name": "m", "hostnames": ["m.example.com"], "allow": {"gcp": [18446744072646845442]}}'));
    const r = runCli(['validate', number]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${number}:3:67: tenants[0].allow.gcp[0]: GCP PSC connection IDs must be quoted decimal strings ("18446744072646845442")`);

    const twice = join(dir, 'twice.json');
    writeFileSync(twice, json('{"name": "m", "hostnames": ["m.example.com"], "allow": {"aws": ["vpce-08d2bf15fac5001c9"]}, "allow": {}}'));
    const d = runCli(['validate', twice]);
    expect(d.status).toBe(1);
    expect(d.stderr).toContain(`${twice}:3:95: tenants[0].allow: key "allow" is written twice in one object (first at line 3)`);
  });

  test('GIVEN --json THEN the issues come as data', () => {
    const r = runCli(['validate', bad, '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).issues).toHaveLength(2);
  });
});

describe('linkgate simulate', () => {
  test('GIVEN a GCP edge THEN each connection reaches the target behind a GCP header with the exact uint64 ID', async () => {
    const received: Buffer[] = [];
    const target = await startTcpServer((s) => s.on('data', (d) => received.push(d)));
    const port = await closedPort();
    const sim = spawnCli(['simulate', '--cloud', 'gcp', '--link-id', '18446744072646845442', '--listen', `127.0.0.1:${port}`, '--to', `127.0.0.1:${target.port}`]);
    try {
      await sim.waitForLine((l) => l.msg === 'simulating');
      const client = connect({ host: '127.0.0.1', port }, () => client.write('hello'));
      await waitFor(() => Buffer.concat(received).toString('latin1').endsWith('hello'));
      const header = decodeProxyHeader(Buffer.concat(received));
      expect(header).toMatchObject({
        status: 'done',
        value: { link: { cloud: 'gcp', linkId: '18446744072646845442' }, source: { address: '127.0.0.1', port: client.localPort } },
      });
      client.destroy();
    } finally {
      sim.kill();
      await target.close();
    }
  });

  test('GIVEN a link ID that does not fit the cloud THEN it exits 1 saying what is expected', () => {
    const r = runCli(['simulate', '--cloud', 'azure', '--link-id', 'vpce-1', '--listen', '127.0.0.1:0', '--to', '127.0.0.1:1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--link-id "vpce-1" is not a Private Link LinkID/);
  });
});

describe('usage', () => {
  test('GIVEN an unknown command or bad option THEN exit 2 with usage', () => {
    expect(runCli(['frobnicate'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/unknown command "frobnicate"[\s\S]*usage: linkgate/) });
    expect(runCli(['simulate', '--cloud', 'ibm'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/--cloud must be one of aws, azure, gcp/) });
    expect(runCli(['serve', '--bogus'])).toMatchObject({ status: 2 });
  });

  test('GIVEN schema THEN it prints the JSON Schema', () => {
    const r = runCli(['schema']);
    expect(JSON.parse(r.stdout).title).toBe('linkgate gateway configuration');
  });

  test('GIVEN health against a port with nothing THEN exit 1', () => {
    expect(runCli(['health', '--port', '1']).status).toBe(1);
  });
});
