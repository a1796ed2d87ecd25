import { collectConsumers, parseConfigText, parseTenantDeclarations, renderGatewayConfig } from '../../lib/tenants';

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

  test('GIVEN consumers across tenants THEN allow-lists are merged, deduplicated and sorted', () => {
    expect(collectConsumers(tenants)).toEqual({
      awsPrincipals: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:role/connect'],
      azureVisibility: ['aaaaaaaa-0000-0000-0000-000000000000', 'bbbbbbbb-0000-0000-0000-000000000000'],
      azureAutoApproval: ['aaaaaaaa-0000-0000-0000-000000000000'],
      gcpProjects: [{ id: 'megacorp-prod', connectionLimit: 20 }],
    });
  });
});
