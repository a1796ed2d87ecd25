import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeInlineConfig, formatLocatedIssues, loadConfigFile, parseConfigText, parsePath } from '../../lib/tenants';

const yaml = (tenantLines: string) => `# a gateway config
listeners:
  privateLink: { port: 8443 }
  health: { port: 8080 }
upstreams:
  default: { host: app.internal, port: 443 }
tenants:
${tenantLines}`;

describe('loading config text', () => {
  test('GIVEN YAML with an unquoted uint64 GCP ID THEN the error shows the exact digits and the line', () => {
    const result = parseConfigText(
      yaml(`  - name: megacorp
    hostnames: [megacorp.api.example.com]
    allow:
      gcp: [18446744072646845442]
`),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // THEN not "18446744072646846000": YAML integers are read exactly before they are refused.
    expect(formatLocatedIssues(result.issues, 'gw.yaml')).toBe(
      'gw.yaml:11:13: tenants[0].allow.gcp[0]: GCP PSC connection IDs must be quoted decimal strings ("18446744072646845442"): numbers lose precision above 2^53',
    );
  });

  test('GIVEN a quoted uint64 GCP ID THEN it survives exactly', () => {
    const result = parseConfigText(yaml(`  - { name: m, hostnames: [m.example.com], allow: { gcp: ["18446744072646845442"] } }\n`));
    expect(result.ok && result.value.tenants[0]!.allow?.gcp).toEqual(['18446744072646845442']);
  });

  test('GIVEN several problems THEN every one is reported with its line', () => {
    const result = parseConfigText(
      yaml(`  - name: a
    hostnames: [a.example.com]
    allow: { aws: [vpce-nope] }
  - name: b
    hostnames: [a.example.com]
    upstrem: default
    open: true
`),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => [i.path, i.line])).toEqual([
      ['tenants[0].allow.aws[0]', 10],
      ['tenants[1].upstrem', 13],
    ]);
  });

  test('GIVEN broken YAML THEN the syntax error has a line and column', () => {
    const result = parseConfigText('listeners:\n  privateLink: { port: 8443\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]!.line).toBeGreaterThan(0);
  });

  test('GIVEN duplicate keys in YAML THEN it is an error, not a silent last-wins', () => {
    const result = parseConfigText('listeners: {}\nlisteners: {}\n');
    expect(result.ok).toBe(false);
  });

  test('GIVEN JSON THEN it is read by the fast path and lines are still found on error', () => {
    const json = JSON.stringify(
      {
        listeners: { privateLink: { port: 8443 }, health: { port: 8080 } },
        upstreams: { default: { host: 'a', port: 1 } },
        tenants: [{ name: 'a', hostnames: ['a.example.com'], allow: { azure: ['x'] } }],
      },
      null,
      2,
    );
    const result = parseConfigText(json);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ path: 'tenants[0].allow.azure[0]', line: 24 });
  });

  describe('what JSON.parse alone would hide', () => {
    const json = (tenant: string) => `{
  "listeners": { "privateLink": { "port": 8443 }, "health": { "port": 8080 } },
  "upstreams": { "default": { "host": "app.internal", "port": 443 } },
  "tenants": [
    { "name": "initech", "hostnames": ["initech.example.com"], "allow": { "azure": ["7"] } },
${tenant}
  ]
}
`;

    test('GIVEN JSON with `allow` written twice in a tenant THEN it is refused with the path and line, not last-wins', () => {
      // GIVEN the second `allow` would empty megacorp's rules if JSON.parse's last-wins applied
      const result = parseConfigText(
        json(`    { "name": "megacorp", "hostnames": ["megacorp.example.com"],
      "allow": { "aws": ["vpce-08d2bf15fac5001c9"] },
      "allow": {} }`),
      );
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(formatLocatedIssues(result.issues, 'gw.json')).toBe(
        'gw.json:8:7: tenants[1].allow: key "allow" is written twice in one object (first at line 7); JSON would keep only the last, so the file is refused',
      );
    });

    test('GIVEN a key written twice under escapes, and deeper THEN each is found', () => {
      const result = parseConfigText(
        json(`    { "name": "megacorp", "hostnames": ["megacorp.example.com"], "allow": { "aws": [], "\\u0061ws": [] }, "\\u006fpen": true, "open": true }`),
      );
      expect(!result.ok && result.issues.map((i) => [i.path, i.line])).toEqual([
        ['tenants[1].allow.aws', 6],
        ['tenants[1].open', 6],
      ]);
    });

    test('GIVEN equal keys in different objects, and strings holding quotes and colons THEN nothing is refused', () => {
      // GIVEN `port` in several objects, and a host whose text looks like a second "port" key
      const result = parseConfigText(
        json(`    { "name": "megacorp", "hostnames": ["megacorp.example.com"], "allow": { "aws": [] } }`).replace(
          '"app.internal"',
          String.raw`"x\\\", \"port\": 1, \"y"`,
        ),
      );
      expect(result.ok && result.value.upstreams.default!.host).toBe('x\\", "port": 1, "y');
    });

    test('GIVEN JSON with an unquoted uint64 GCP ID THEN the error shows the digits written, not the rounded double', () => {
      const result = parseConfigText(json(`    { "name": "megacorp", "hostnames": ["megacorp.example.com"], "allow": { "gcp": [18446744072646845442] } }`));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      // THEN not "18446744072646846000", which JSON.parse makes of it.
      expect(formatLocatedIssues(result.issues, 'gw.json')).toBe(
        'gw.json:6:85: tenants[1].allow.gcp[0]: GCP PSC connection IDs must be quoted decimal strings ("18446744072646845442"): numbers lose precision above 2^53',
      );
    });
  });

  test('GIVEN an inline gzip+base64 config THEN it round-trips, and the same text encodes the same way', () => {
    const text = yaml('  - { name: m, hostnames: [m.example.com], open: true }\n');
    const packed = encodeInlineConfig(text);
    expect(packed).toMatch(/^gzip\+base64:/);
    expect(encodeInlineConfig(text)).toBe(packed);
    const result = parseConfigText(packed);
    expect(result.ok && result.value.tenants[0]!.name).toBe('m');
  });

  test('GIVEN corrupt gzip+base64 THEN the error says so', () => {
    const result = parseConfigText('gzip+base64:AAAA');
    expect(!result.ok && result.issues[0]!.message).toMatch(/cannot decompress/);
  });

  test('GIVEN a missing file THEN the error names it', () => {
    const result = loadConfigFile('/nonexistent/linkgate.yaml');
    expect(!result.ok && result.issues[0]!.message).toMatch(/cannot read \/nonexistent\/linkgate.yaml/);
  });

  test('GIVEN a file THEN it loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-'));
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, yaml('  - { name: m, hostnames: [m.example.com], open: true }\n'));
    expect(loadConfigFile(file).ok).toBe(true);
  });

  test('paths parse back into keys', () => {
    expect(parsePath('tenants[2].allow.aws[0]')).toEqual(['tenants', 2, 'allow', 'aws', 0]);
    expect(parsePath('upstreams["my.up"].port')).toEqual(['upstreams', 'my.up', 'port']);
  });
});
