import {
  ConfigValidationError,
  parseTenantDeclarations,
  validateGatewayConfig,
  validateTenantDeclarations,
  type ValidationIssue,
} from '../../lib/tenants';

const base = {
  listeners: { privateLink: { port: 8443 }, health: { port: 8080 } },
  upstreams: { default: { host: 'app.internal', port: 443 } },
};

function issuesOf(input: unknown): readonly ValidationIssue[] {
  const result = validateGatewayConfig(input);
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.issues;
}

describe('gateway config validation', () => {
  test('GIVEN the DESIGN.md example WHEN validated THEN it is accepted and normalized', () => {
    const result = validateGatewayConfig({
      ...base,
      listeners: { ...base.listeners, public: { port: 9443 } },
      tenants: [
        {
          name: 'megacorp',
          hostnames: ['MegaCorp.API.example.com.', '*.megacorp.example.com'],
          allow: {
            aws: ['vpce-08d2bf15fac5001c9'],
            azure: ['553665985', 42],
            gcp: ['18446744072646845442'],
            cidrs: ['203.0.113.0/24', '2001:DB8::/32', '198.51.100.7'],
          },
        },
      ],
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const tenant = result.value.tenants[0]!;
    // THEN hostnames are lowercased without the trailing dot, numbers become canonical strings,
    // a GCP ID above 2^53 is unchanged, a bare address becomes a /32, defaults are filled in.
    expect(tenant.hostnames).toEqual(['megacorp.api.example.com', '*.megacorp.example.com']);
    expect(tenant.allow?.azure).toEqual(['553665985', '42']);
    expect(tenant.allow?.gcp).toEqual(['18446744072646845442']);
    expect(tenant.allow?.cidrs).toEqual(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7/32']);
    expect(tenant.upstream).toBe('default');
    expect(result.value.listeners.privateLink.host).toBe('0.0.0.0');
    expect(result.value.upstreams.default!.proxyProtocol).toBe(false);
    expect(result.value.limits.headerTimeoutMs).toBe(5000);
  });

  test.each([
    ['aws', 'vpce-xyz', /tenants\[0\]\.allow\.aws\[0\].*vpce-.*8 or 17 lowercase hex digits.*"vpce-xyz"/],
    ['aws', 'vpce-08D2BF15FAC5001C9', /"vpce-08D2BF15FAC5001C9"/],
    ['azure', '4294967296', /unsigned 32-bit integer.*"4294967296"/],
    ['azure', -1, /unsigned 32-bit integer.*-1/],
    ['azure', '0553665985', /"0553665985"/],
    ['gcp', '18446744073709551616', /unsigned 64-bit.*"18446744073709551616"/],
    ['gcp', 123, /must be quoted decimal strings \("123"\)/],
    ['gcp', 'abc', /"abc"/],
    ['cidrs', '10.0.0.0/33', /CIDR block.*"10\.0\.0\.0\/33"/],
    ['cidrs', 'not-an-ip', /CIDR block.*"not-an-ip"/],
    // "10.0.0.0/16" cut short by a truncated write: as written it would admit 0.0.0.0/1.
    ['cidrs', '10.0.0.0/1', /"10\.0\.0\.0\/1" has address bits set past its \/1 prefix: it would cover 0\.0\.0\.0\/1/],
    ['cidrs', '203.0.113.5/24', /would cover 203\.0\.113\.0\/24/],
    ['cidrs', '2001:db8::1/32', /would cover 2001:db8:0:0:0:0:0:0\/32/],
  ])('GIVEN allow.%s [%p] WHEN validated THEN the issue names the path and the bad value', (cloud, value, message) => {
    const issues = issuesOf({ ...base, tenants: [{ name: 't', hostnames: ['t.example.com'], allow: { [cloud]: [value] } }] });
    expect(issues).toHaveLength(1);
    expect(`${issues[0]!.path}: ${issues[0]!.message}`).toMatch(message);
  });

  test('GIVEN two tenants claiming one link ID THEN the error names both tenants', () => {
    const issues = issuesOf({
      ...base,
      tenants: [
        { name: 'a', hostnames: ['a.example.com'], allow: { gcp: ['18446744072646845442'] } },
        { name: 'b', hostnames: ['b.example.com'], allow: { gcp: ['18446744072646845442'] } },
      ],
    });
    expect(issues).toEqual([
      {
        path: 'tenants[1].allow.gcp[0]',
        message: expect.stringMatching(/gcp link ID "18446744072646845442" is claimed by tenants "a" \(tenants\[0\]\.allow\.gcp\[0\]\) and "b"/),
      },
    ]);
  });

  test('GIVEN one hostname in two spellings across tenants THEN it is a clash after normalization', () => {
    const issues = issuesOf({
      ...base,
      tenants: [
        { name: 'a', hostnames: ['api.example.com'], open: true },
        { name: 'b', hostnames: ['API.example.com.'], open: true },
      ],
    });
    expect(issues[0]!.message).toMatch(/hostname "api.example.com" is claimed by tenants "a".*and "b"/);
  });

  test('GIVEN the same link ID twice in one tenant THEN it is reported as listed twice', () => {
    const issues = issuesOf({
      ...base,
      tenants: [{ name: 'a', hostnames: ['a.example.com'], allow: { azure: ['7', 7] } }],
    });
    expect(issues[0]).toEqual({ path: 'tenants[0].allow.azure[1]', message: expect.stringMatching(/listed twice in tenant "a"/) });
  });

  test('GIVEN duplicate tenant names, a missing upstream, an unknown default tenant and a port clash THEN each is reported', () => {
    const issues = issuesOf({
      ...base,
      listeners: { privateLink: { port: 8443 }, public: { port: 8443 }, health: { port: 8080 } },
      tenants: [
        { name: 'a', hostnames: ['a.example.com'], upstream: 'missing', open: true },
        { name: 'a', hostnames: ['b.example.com'], open: true },
      ],
      defaultTenant: 'nobody',
    });
    expect(issues.map((i) => i.path)).toEqual(['tenants[1].name', 'tenants[0].upstream', 'defaultTenant', 'listeners.public.port']);
    expect(issues[1]!.message).toMatch(/upstream "missing" is not defined in upstreams \(defined: default\)/);
    expect(issues[3]!.message).toMatch(/port 8443 is already used by listeners.privateLink/);
  });

  test('GIVEN additional private-link listeners with a reused name, an unknown upstream and a clashing port THEN each is reported', () => {
    const issues = issuesOf({
      ...base,
      listeners: {
        privateLink: { port: 8443 },
        health: { port: 8080 },
        additionalPrivateLink: [
          { name: 'postgres', port: 8444, upstream: 'default' },
          { name: 'postgres', port: 8443, upstream: 'db' },
        ],
      },
      tenants: [{ name: 'a', hostnames: ['a.example.com'], open: true }],
    });
    expect(issues).toEqual([
      { path: 'listeners.additionalPrivateLink[1].name', message: expect.stringMatching(/name "postgres" is already used by listeners.additionalPrivateLink\[0\]/) },
      { path: 'listeners.additionalPrivateLink[1].upstream', message: expect.stringMatching(/upstream "db" is not defined/) },
      { path: 'listeners.additionalPrivateLink[1].port', message: expect.stringMatching(/port 8443 is already used by listeners.privateLink/) },
    ]);
  });

  test('GIVEN an additional private-link listener with a name that is not a label THEN the name is refused', () => {
    const issues = issuesOf({
      ...base,
      listeners: { privateLink: { port: 8443 }, health: { port: 8080 }, additionalPrivateLink: [{ name: 'Post Gres', port: 8444, upstream: 'default' }] },
      tenants: [{ name: 'a', hostnames: ['a.example.com'], open: true }],
    });
    expect(issues[0]).toEqual({ path: 'listeners.additionalPrivateLink[0].name', message: expect.stringMatching(/lowercase letters.*got "Post Gres"/) });
  });

  test.each([
    [{ name: 'Bad Name', hostnames: ['a.example.com'], open: true }, 'tenants[0].name', /lowercase letters/],
    [{ name: 'a', hostnames: [], open: true }, 'tenants[0].hostnames', /at least one hostname/],
    [{ name: 'a', hostnames: ['localhost'], open: true }, 'tenants[0].hostnames[0]', /not a hostname/],
    [{ name: 'a', hostnames: ['*.*.example.com'], open: true }, 'tenants[0].hostnames[0]', /not a hostname/],
    [{ name: 'a', hostnames: ['a.example.com'], allow: { aws: [] }, alow: {} }, 'tenants[0].alow', /unknown field "alow"/],
    [{ hostnames: ['a.example.com'], open: true }, 'tenants[0].name', /is required/],
    [{ name: 'a', hostnames: ['a.example.com'], open: 'yes' }, 'tenants[0].open', /open must be true or false, got "yes"/],
  ])('GIVEN tenant %p THEN %s is reported', (tenant, path, message) => {
    const issues = issuesOf({ ...base, tenants: [tenant] });
    expect(issues).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  describe('openness is stated, never implied (fail closed)', () => {
    const say = 'say who may connect: `allow` lists, or `open: true` to admit every source';
    test.each([
      ['no `allow`', { name: 'megacorp', hostnames: ['megacorp.example.com'] }],
      ['`allow: {}`', { name: 'megacorp', hostnames: ['megacorp.example.com'], allow: {} }],
      ['`open: false` and no `allow`', { name: 'megacorp', hostnames: ['megacorp.example.com'], open: false }],
    ])('GIVEN a tenant with %s THEN it is refused at its path, naming it', (_what, tenant) => {
      const issues = issuesOf({ ...base, tenants: [{ name: 'ok', hostnames: ['ok.example.com'], open: true }, tenant] });
      expect(issues).toEqual([{ path: 'tenants[1]', message: `tenant "megacorp": ${say}` }]);
    });

    test('GIVEN `open: true` with `allow` lists THEN it is refused as ambiguous', () => {
      const issues = issuesOf({
        ...base,
        tenants: [{ name: 'megacorp', hostnames: ['megacorp.example.com'], open: true, allow: { aws: ['vpce-08d2bf15fac5001c9'] } }],
      });
      expect(issues).toEqual([{ path: 'tenants[0]', message: expect.stringMatching(/^tenant "megacorp" has both `open: true` and `allow`/) }]);
    });

    test('GIVEN `open: true` alone, or an emptied list THEN each is valid: open, and closed', () => {
      const result = validateGatewayConfig({
        ...base,
        tenants: [
          { name: 'public-docs', hostnames: ['docs.example.com'], open: true },
          { name: 'offboarded', hostnames: ['gone.example.com'], allow: { aws: [] } },
        ],
      });
      expect(result.ok && result.value.tenants.map((t) => [t.open, t.allow])).toEqual([
        [true, undefined],
        [undefined, { aws: [] }],
      ]);
    });

    test('GIVEN other errors in the same tenant THEN the missing openness is reported with them', () => {
      const issues = issuesOf({ ...base, tenants: [{ name: 'megacorp', hostnames: ['localhost'] }] });
      expect(issues).toEqual([
        { path: 'tenants[0].hostnames[0]', message: expect.stringMatching(/not a hostname/) },
        { path: 'tenants[0]', message: `tenant "megacorp": ${say}` },
      ]);
    });

    test('GIVEN a construct-side declaration without `open` or `allow` THEN it is refused too', () => {
      const result = validateTenantDeclarations([{ name: 'megacorp', hostnames: ['megacorp.example.com'], consumers: {} }]);
      expect(result).toEqual({ ok: false, issues: [{ path: 'tenants[0]', message: `tenant "megacorp": ${say}` }] });
    });
  });

  test('GIVEN schema errors AND a link ID claimed twice among the tenants that parsed THEN all are reported in one result', () => {
    const issues = issuesOf({
      ...base,
      limits: { maxConnections: 0 },
      tenants: [
        { name: 'a', hostnames: ['a.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9'] } },
        { name: 'b', hostnames: ['localhost'], allow: { aws: [] } },
        { name: 'c', hostnames: ['a.example.com'], allow: { aws: ['vpce-08d2bf15fac5001c9'] } },
      ],
    });
    expect(issues.map((i) => i.path)).toEqual(['tenants[1].hostnames[0]', 'limits.maxConnections', 'tenants[2].hostnames[0]', 'tenants[2].allow.aws[0]']);
    expect(issues[2]!.message).toMatch(/hostname "a.example.com" is claimed by tenants "a" \(tenants\[0\]\.hostnames\[0\]\) and "c"/);
    expect(issues[3]!.message).toMatch(/aws link ID "vpce-08d2bf15fac5001c9" is claimed by tenants "a" .* and "c"/);
  });

  test('GIVEN a wrong port and a bad bind host THEN both are reported with their values', () => {
    const issues = issuesOf({
      ...base,
      listeners: { privateLink: { port: 70000 }, health: { port: 8080, host: 'everywhere' } },
      tenants: [],
    });
    expect(issues).toEqual([
      { path: 'listeners.privateLink.port', message: 'port must be from 0 to 65535, got 70000' },
      { path: 'listeners.health.host', message: 'host must be an IP address to bind, got "everywhere"' },
    ]);
  });

  test('GIVEN something that is not an object THEN it is rejected, not thrown', () => {
    expect(validateGatewayConfig('listeners: nope').ok).toBe(false);
    expect(validateGatewayConfig(null).ok).toBe(false);
  });
});

describe('tenant declarations (construct side)', () => {
  const declaration = {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com'],
    allow: { aws: ['vpce-08d2bf15fac5001c9'] },
    consumers: {
      aws: { principals: ['arn:aws:iam::111122223333:root'] },
      azure: { subscriptions: ['00000000-0000-0000-0000-000000000000'], autoApprove: true },
      gcp: { projects: [{ id: 'megacorp-prod', connectionLimit: 10 }] },
    },
  };

  test('GIVEN a full declaration THEN it validates with its consumers', () => {
    const result = validateTenantDeclarations([declaration]);
    expect(result.ok && result.value[0]!.consumers?.gcp?.projects).toEqual([{ id: 'megacorp-prod', connectionLimit: 10 }]);
  });

  test.each([
    [{ aws: { principals: ['111122223333'] } }, 'tenants[0].consumers.aws.principals[0]', /IAM principal ARN.*"111122223333"/],
    [{ azure: { subscriptions: ['not-a-guid'] } }, 'tenants[0].consumers.azure.subscriptions[0]', /GUID.*"not-a-guid"/],
    [{ gcp: { projects: [{ id: 'Bad_Project' }] } }, 'tenants[0].consumers.gcp.projects[0].id', /project ID.*"Bad_Project"/],
    [{ gcp: { projects: [{ id: 'megacorp-prod', connectionLimit: 0 }] } }, 'tenants[0].consumers.gcp.projects[0].connectionLimit', /at least 1, got 0/],
  ])('GIVEN consumers %p THEN %s is reported', (consumers, path, message) => {
    const result = validateTenantDeclarations([{ ...declaration, consumers }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  test('GIVEN invalid declarations WHEN parsed for a construct THEN one error lists every issue under the context', () => {
    const call = () =>
      parseTenantDeclarations(
        [
          { ...declaration, allow: { aws: ['vpce-1'] } },
          { ...declaration, name: 'other', hostnames: ['megacorp.api.example.com'] },
        ],
        'Stack/Linkgate',
      );
    expect(call).toThrow(ConfigValidationError);
    expect(call).toThrow(/^Stack\/Linkgate: invalid tenant declarations:\n {2}tenants\[0\]\.allow\.aws\[0\]: .*"vpce-1"/);
  });
});
