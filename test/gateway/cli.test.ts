/** The `linkgate` command as users run it (the built CLI in a real process). */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import awsVectors from '../fixtures/pp2-aws-nlb.json';
import { CLI, runCli, spawnCli } from '../helpers/cli';
import { COMMANDS, type CommandSpec } from '../../lib/gateway/cli-spec';
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

const REPO_ROOT = join(__dirname, '..', '..');
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const TABLE: [string, CommandSpec][] = Object.entries(COMMANDS);
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** linkgate's dependencies and theirs, as npm hoists them into one node_modules. */
function runtimeDependencies(): string[] {
  const seen = new Set<string>();
  const visit = (pkgJson: string) => {
    const deps = Object.keys((JSON.parse(readFileSync(pkgJson, 'utf8')) as { dependencies?: object }).dependencies ?? {});
    for (const dep of deps) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      visit(join(REPO_ROOT, 'node_modules', dep, 'package.json'));
    }
  };
  visit(join(REPO_ROOT, 'package.json'));
  return [...seen];
}

describe('linkgate --version', () => {
  test('GIVEN the built CLI THEN it prints the version of package.json and exits 0', () => {
    expect(runCli(['--version'])).toMatchObject({ status: 0, stdout: `${PACKAGE.version}\n` });
  });

  test("GIVEN the package installed in an app's node_modules THEN it prints its own version, not the app's", () => {
    // GIVEN the layout npm installs: <app>/node_modules/linkgate/{package.json,dist/lib}, the
    // app's own package.json above it, and the runtime dependencies beside linkgate.
    const app = mkdtempSync(join(tmpdir(), 'linkgate-installed-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '9.9.9' }));
    const installed = join(app, 'node_modules', 'linkgate');
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: 'linkgate', version: '7.8.9-test' }));
    cpSync(dirname(dirname(dirname(CLI))), join(installed, 'dist'), { recursive: true, filter: (src) => !src.includes(`${join('dist', 'bench')}`) });
    for (const dep of runtimeDependencies()) {
      mkdirSync(dirname(join(app, 'node_modules', dep)), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules', dep), join(app, 'node_modules', dep));
    }
    // WHEN its bin runs
    const r = spawnSync(process.execPath, [join(installed, 'dist', 'lib', 'gateway', 'cli.js'), '--version'], { encoding: 'utf8', cwd: app });
    // THEN
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ status: 0, stdout: '7.8.9-test\n' });
  });
});

describe('help', () => {
  test('GIVEN --help THEN exit 0 with every command and its one-line description', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    for (const [name, spec] of TABLE) expect(r.stdout).toMatch(new RegExp(`^  ${name} +${escapeRegExp(spec.summary)}$`, 'm'));
    expect(r.stdout).toContain('linkgate --version');
  });

  test.each(TABLE.map(([name, spec]) => ({ name, spec })))('GIVEN $name --help THEN exit 0 with its description and every option, the same as help $name', ({ name, spec }) => {
    const r = runCli([name, '--help']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^usage: linkgate ${name}`));
    expect(r.stdout).toContain(spec.summary);
    for (const [option, o] of Object.entries(spec.options)) {
      expect(r.stdout).toContain(o.value ? `--${option} ${o.value}` : `--${option}`);
      expect(r.stdout).toContain(o.description);
    }
    expect(r.stdout).toContain('-h, --help');
    expect(runCli(['help', name])).toEqual(r);
  });

  test('GIVEN --help after other options, even wrong ones THEN the help wins and nothing runs', () => {
    const r = runCli(['serve', '--config', '/nonexistent.yaml', '--confg', '-h']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: linkgate serve/);
  });

  test('GIVEN help for a command that does not exist THEN exit 2 naming it', () => {
    expect(runCli(['help', 'frobnicate'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/unknown command "frobnicate"/) });
  });

  test('GIVEN no command THEN exit 2 with the command list on stderr', () => {
    expect(runCli([])).toMatchObject({ status: 2, stdout: '', stderr: expect.stringMatching(/^usage: linkgate <command>/) });
  });
});

describe('usage errors exit 2 and say what is valid', () => {
  test("GIVEN a misspelled option THEN it names the command's valid options", () => {
    const r = runCli(['serve', '--confg', 'gateway.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("linkgate: unknown option --confg for 'serve'; valid: --config, --config-url, --workers, --listener-mode, --help\n");
    expect(r.stderr).toContain('usage: linkgate serve [--config FILE] [--config-url URL] [--workers N|auto] [--listener-mode auto|shared|reuseport]');
  });

  test.each([
    [['validate', 'a.yaml', '--jsn'], "unknown option --jsn for 'validate'; valid: --json, --help"],
    [['decode', '-x', '00'], "unknown option -x for 'decode'; valid: --help"],
    [['simulate', '--cloud', 'aws', '--link', 'vpce-1'], "unknown option --link for 'simulate'; valid: --cloud, --link-id, --listen, --to, --help"],
    [['validate'], 'validate needs FILE'],
    [['validate', 'a.yaml', 'b.yaml'], 'validate takes FILE, got unexpected "b.yaml"'],
    [['decode'], 'decode needs HEX...'],
    [['schema', 'extra'], 'schema takes no arguments, got unexpected "extra"'],
    [['serve', '--config'], '--config needs a value: --config FILE'],
    [['validate', 'a.yaml', '--json=yes'], '--json takes no value'],
    [['simulate', '--cloud', 'aws'], 'simulate needs --link-id ID --listen HOST:PORT --to HOST:PORT'],
  ])('GIVEN %p THEN exit 2: %s', (args, message) => {
    const r = runCli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`linkgate: ${message}\n`);
  });
});

describe("README's CLI section", () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## CLI\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  /** The README's command lines, by command: `linkgate validate gateway.yaml [--json]` → validate. */
  const lines = [...section.matchAll(/^linkgate (\S+)(.*)$/gm)].map((m) => ({ command: m[1]!, rest: m[2]! }));

  test('GIVEN the command table THEN the README shows every command with every option', () => {
    expect(start).toBeGreaterThan(0);
    for (const [name, spec] of TABLE) {
      const line = lines.find((l) => l.command === name);
      expect({ name, shown: line !== undefined }).toEqual({ name, shown: true });
      for (const option of Object.keys(spec.options)) expect({ name, option, shown: line!.rest.includes(`--${option}`) }).toEqual({ name, option, shown: true });
    }
  });

  test('GIVEN the README THEN it shows no command or option the CLI does not have', () => {
    const known = new Set([...Object.keys(COMMANDS), '--version', '<command>', 'help']);
    for (const { command, rest } of lines) {
      expect({ command, known: known.has(command) }).toEqual({ command, known: true });
      const spec = (COMMANDS as Record<string, CommandSpec>)[command];
      const valid = new Set(['help', ...Object.keys(spec?.options ?? {})]);
      for (const [, option] of rest.split('#')[0]!.matchAll(/--([a-z-]+)/g)) {
        expect({ command, option, valid: valid.has(option!) }).toEqual({ command, option, valid: true });
      }
    }
  });
});
