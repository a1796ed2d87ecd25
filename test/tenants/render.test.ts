import {
  MAX_DRAIN_DELAY_SEC,
  MAX_DRAIN_TIMEOUT_SEC,
  SHUTDOWN_EXIT_MARGIN_MS,
  collectConsumers,
  parseConfigText,
  parseTenantDeclarations,
  renderGatewayConfig,
  resolveAdditionalPrivateLinkPorts,
  resolveGatewaySettings,
} from '../../lib/tenants';

const tenants = parseTenantDeclarations([
  {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com'],
    allow: { aws: ['vpce-08d2bf15fac5001c9'], gcp: ['18446744072646845442'] },
    consumers: {
      aws: { principals: ['arn:aws:iam::111122223333:root'] },
      azure: { subscriptions: ['AAAAAAAA-0000-0000-0000-000000000000'], autoApprove: true },
      gcp: { projects: [{ id: 'megacorp-prod', connectionLimit: 5 }] },
    },
  },
  {
    name: 'initech',
    hostnames: ['initech.example.com'],
    open: true,
    consumers: {
      aws: { principals: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:role/connect'] },
      azure: { subscriptions: ['bbbbbbbb-0000-0000-0000-000000000000'] },
      gcp: { projects: [{ id: 'megacorp-prod', connectionLimit: 20 }] },
    },
  },
]);

describe('rendering from tenant declarations', () => {
  test('GIVEN declarations THEN the gateway config drops consumers and loads in the gateway unchanged', () => {
    const { config, json } = renderGatewayConfig(tenants, {
      privateLinkPort: 8443,
      healthPort: 8080,
      upstreams: { default: { host: 'app.internal', port: 443 } },
    });
    expect(json).not.toMatch(/consumers|arn:aws/);
    expect(config.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech']);
    // THEN what the constructs ship is exactly what the gateway reads back, uint64 included.
    const reread = parseConfigText(json);
    expect(reread.ok && reread.value).toEqual(config);
    expect(json).toContain('"18446744072646845442"');
  });

  test('GIVEN options that make an invalid config THEN rendering throws with the context', () => {
    expect(() =>
      renderGatewayConfig(tenants, { privateLinkPort: 8443, healthPort: 8443, upstreams: { default: { host: 'a', port: 1 } } }, 'Stack/Gw'),
    ).toThrow(/^Stack\/Gw: the rendered gateway config is invalid:\n {2}listeners.health.port: port 8443 is already used/);
  });

  test('GIVEN additional private-link ports THEN gateway ports default after the first and the config carries them', () => {
    const { ports, issues } = resolveAdditionalPrivateLinkPorts(
      [{ name: 'postgres', port: 5432, upstream: 'db' }, { name: 'admin', port: 8443, upstream: 'default', gatewayPort: 9000 }],
      { port: 443, gatewayPort: 8443 },
    );
    expect(issues).toEqual([]);
    expect(ports).toEqual([
      { name: 'postgres', port: 5432, gatewayPort: 8444, upstream: 'db' },
      { name: 'admin', port: 8443, gatewayPort: 9000, upstream: 'default' },
    ]);
    const { config } = renderGatewayConfig(tenants, {
      privateLinkPort: 8443,
      healthPort: 8080,
      additionalPrivateLink: ports,
      upstreams: { default: { host: 'app.internal', port: 443 }, db: { host: 'db.internal', port: 5432 } },
    });
    expect(config.listeners.additionalPrivateLink).toEqual([
      { name: 'postgres', port: 8444, host: '0.0.0.0', upstream: 'db' },
      { name: 'admin', port: 9000, host: '0.0.0.0', upstream: 'default' },
    ]);
  });

  test('GIVEN additional ports that clash with the first port or each other THEN each clash is an issue on the prop', () => {
    const { issues } = resolveAdditionalPrivateLinkPorts(
      [{ name: 'a', port: 443, upstream: 'default', gatewayPort: 8080 }, { name: 'b', port: 70000, upstream: 'default', gatewayPort: 8443 }],
      { port: 443, gatewayPort: 8443 },
      [8080],
    );
    expect(issues).toEqual([
      { path: 'additionalPrivateLinkPorts[0].port', message: 'port 443 is already used by the private-link port' },
      { path: 'additionalPrivateLinkPorts[0].gatewayPort', message: 'gateway port 8080 is already used by another gateway listener' },
      { path: 'additionalPrivateLinkPorts[1].port', message: 'must be a port from 1 to 65535, got 70000' },
      { path: 'additionalPrivateLinkPorts[1].gatewayPort', message: 'gateway port 8443 is already used by the private-link listener' },
    ]);
  });

  test('GIVEN consumers across tenants THEN allow-lists are merged, deduplicated and sorted', () => {
    expect(collectConsumers(tenants)).toEqual({
      awsPrincipals: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:role/connect'],
      azureVisibility: ['aaaaaaaa-0000-0000-0000-000000000000', 'bbbbbbbb-0000-0000-0000-000000000000'],
      azureAutoApproval: ['aaaaaaaa-0000-0000-0000-000000000000'],
      gcpProjects: [{ id: 'megacorp-prod', connectionLimit: 20 }],
    });
  });
});

describe('the gateway settings every cloud shares', () => {
  const upstreams = { default: { host: 'app.internal', port: 443 } };
  const ports = { privateLinkPort: 8443, healthPort: 8080 };

  test('GIVEN only upstreams WHEN resolved THEN the drain defaults are the gateway config\'s own, in seconds', () => {
    const resolved = resolveGatewaySettings({ upstreams }, ports);
    expect(resolved).toMatchObject({ drainDelaySec: 5, drainTimeoutSec: 25, issues: [] });
    expect(resolved.configOptions.shutdown).toEqual({ drainDelayMs: 5_000, drainTimeoutMs: 25_000 });
    // THEN rendering them changes nothing against leaving the drain to the gateway's defaults.
    expect(renderGatewayConfig(tenants, resolved.configOptions).json).toBe(renderGatewayConfig(tenants, { ...ports, upstreams }).json);
  });

  test('GIVEN every setting and the ports WHEN resolved THEN the config carries them, the drain in milliseconds', () => {
    const resolved = resolveGatewaySettings(
      { upstreams, defaultTenant: 'initech', limits: { maxConnections: 100 }, log: { decisions: 'drops' }, drainDelaySec: 0, drainTimeoutSec: 40 },
      { ...ports, publicPort: 9443 },
    );
    const { config } = renderGatewayConfig(tenants, resolved.configOptions);
    expect(config).toMatchObject({
      listeners: { privateLink: { port: 8443 }, health: { port: 8080 }, public: { port: 9443 } },
      defaultTenant: 'initech',
      limits: { maxConnections: 100 },
      log: { decisions: 'drops' },
      shutdown: { drainDelayMs: 0, drainTimeoutMs: 40_000 },
    });
  });

  test('GIVEN a cloud default for the drain delay WHEN the prop is unset THEN it applies; WHEN set THEN the prop wins', () => {
    expect(resolveGatewaySettings({ upstreams }, ports, { drainDelaySec: 15 }).drainDelaySec).toBe(15);
    expect(resolveGatewaySettings({ upstreams, drainDelaySec: 2 }, ports, { drainDelaySec: 15 }).drainDelaySec).toBe(2);
  });

  test('GIVEN the largest drain WHEN rendered THEN the config accepts it (the bounds are the config\'s)', () => {
    const resolved = resolveGatewaySettings({ upstreams, drainDelaySec: MAX_DRAIN_DELAY_SEC, drainTimeoutSec: MAX_DRAIN_TIMEOUT_SEC }, ports);
    expect(resolved.issues).toEqual([]);
    expect(renderGatewayConfig(tenants, resolved.configOptions).config.shutdown).toEqual({ drainDelayMs: 600_000, drainTimeoutMs: 3_600_000 });
  });

  test.each([
    [{ drainDelaySec: 2.5 }, 'drainDelaySec', 'must be a whole number from 0 to 600 seconds, got 2.5'],
    [{ drainDelaySec: 601 }, 'drainDelaySec', 'must be a whole number from 0 to 600 seconds, got 601'],
    [{ drainTimeoutSec: -1 }, 'drainTimeoutSec', 'must be a whole number from 0 to 3600 seconds, got -1'],
    [{ drainTimeoutSec: 3601 }, 'drainTimeoutSec', 'must be a whole number from 0 to 3600 seconds, got 3601'],
    [{ drainTimeoutSec: Number.NaN }, 'drainTimeoutSec', 'must be a whole number from 0 to 3600 seconds, got NaN'],
  ])('GIVEN %j THEN the issue names the prop, the allowed range and the bad value', (drain, path, message) => {
    expect(resolveGatewaySettings({ upstreams, ...drain }, ports).issues).toEqual([{ path, message }]);
  });

  test('GIVEN an upstream host or port known only at deploy THEN it is an issue, unless the cloud fills the config in at deploy', () => {
    const host = '${Token[TOKEN.1]}';
    const port = -1.8881545897087626e289;
    const isUnresolved = (v: unknown) => v === host || v === port;
    const deployTime = { default: { host, port: 443 }, admin: { host: 'admin.internal', port } };
    expect(resolveGatewaySettings({ upstreams: deployTime }, ports, { isUnresolved }).issues).toEqual([
      { path: 'upstreams.default.host', message: expect.stringMatching(/^must be known at synth time: the gateway config is written into the VMs’ boot data/) },
      { path: 'upstreams.admin.port', message: expect.stringMatching(/^must be known at synth time/) },
    ]);
    expect(resolveGatewaySettings({ upstreams: deployTime }, ports, { isUnresolved, allowUnresolvedUpstreams: true }).issues).toEqual([]);
  });

  test('GIVEN a drain WHEN resolved THEN the stop bound is the drain plus the gateway\'s exit margin', () => {
    expect(resolveGatewaySettings({ upstreams, drainDelaySec: 10, drainTimeoutSec: 20 }, ports).stopTimeoutSec).toBe(10 + 20 + SHUTDOWN_EXIT_MARGIN_MS / 1000);
  });

  test('GIVEN a drain the construct library says is unresolved THEN the issue says it must be known at synth time', () => {
    const token = -1.8881545897087626e289;
    const resolved = resolveGatewaySettings({ upstreams, drainDelaySec: token }, ports, { isUnresolved: (v) => v === token });
    expect(resolved.issues).toEqual([
      { path: 'drainDelaySec', message: 'must be known at synth time (it is written into the gateway config), got an unresolved token' },
    ]);
  });
});
