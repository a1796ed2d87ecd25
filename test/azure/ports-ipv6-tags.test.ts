/**
 * Contract D (more private-link ports), E (IPv6 on Azure: a synth error, with the documentation
 * that says why) and tags on everything taggable.
 */
import { LbProbe } from '@cdktf/provider-azurerm/lib/lb-probe';
import { LbRule } from '@cdktf/provider-azurerm/lib/lb-rule';
import type { Construct } from 'constructs';
import type { PrivateLinkGatewayProps } from '../../lib/azure';
import { parseConfigText } from '../../lib/tenants';
import { manyTenants, onlyResource, privateLinkGateway, synth } from './fixtures';

/** Every gateway here also has a `db` upstream, for the additional port to point at. */
const gateway = (scope: Construct, overrides: Partial<PrivateLinkGatewayProps> = {}) =>
  privateLinkGateway(scope, {
    upstreams: { default: { host: 'app.internal.example.com', port: 443 }, db: { host: 'db.internal.example.com', port: 5432 } },
    ...overrides,
  });

describe('GIVEN an additional private-link port 5432 to the db upstream', () => {
  const { json, doc, value } = synth((scope) => gateway(scope, { additionalPrivateLinkPorts: [{ name: 'postgres', port: 5432, upstream: 'db' }] }));

  it('THEN the load balancer has a rule 5432 → 8444 on the same frontend (one Private Link Service, PROXY v2 on), with a TCP probe of that listener', () => {
    expect(json).toHaveResourceWithProperties(LbRule, { name: 'private-link-postgres', frontend_ip_configuration_name: 'private-link', frontend_port: 5432, backend_port: 8444 });
    expect(json).toHaveResourceWithProperties(LbProbe, { name: 'gateway-postgres', protocol: 'Tcp', port: 8444 });
    expect(onlyResource(doc, 'azurerm_private_link_service')).toMatchObject({ enable_proxy_protocol: true });
  });

  it('THEN the NSG admits 8444 only from the NAT subnet', () => {
    const rules = onlyResource(doc, 'azurerm_network_security_group').security_rule as Array<Record<string, unknown>>;
    expect(rules.find((r) => r.name === 'allow-private-link-postgres-from-nat-subnets')).toMatchObject({
      priority: 101,
      destination_port_range: '8444',
      source_address_prefix: '10.20.3.0/27',
    });
  });

  it('THEN the gateway config has the listener, with its upstream', () => {
    const loaded = parseConfigText(value.gateway.config.json);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(JSON.parse(value.gateway.config.json).listeners.additionalPrivateLink).toEqual([expect.objectContaining({ name: 'postgres', port: 8444, upstream: 'db' })]);
  });

  it('THEN a port clash fails synth', () => {
    expect(() => synth((scope) => gateway(scope, { additionalPrivateLinkPorts: [{ name: 'again', port: 443, upstream: 'db' }] }))).toThrow(/additionalPrivateLinkPorts\[0\]/);
  });
});

describe('GIVEN ipAddressType dualstack', () => {
  it('THEN synth fails: Azure Private Link Service supports IPv4 traffic only (cited)', () => {
    expect(() => synth((scope) => gateway(scope, { ipAddressType: 'dualstack' }))).toThrow(
      /ipAddressType: must be 'ipv4', got "dualstack": Azure Private Link Service supports IPv4 traffic only \(learn\.microsoft\.com\/azure\/private-link\/private-link-service-overview#limitations\)/,
    );
  });
});

describe('GIVEN tags, a public path, object-store delivery and a NAT gateway', () => {
  const tags = { team: 'edge', env: 'prod' };
  const { doc } = synth((scope) => gateway(scope, { tags, publicPath: true, tenants: manyTenants(1000), outboundAccess: 'natGateway' }));
  // Sub-resources and links Azure does not tag (their schemas have no tags).
  const untaggable = new Set([
    'azurerm_lb_backend_address_pool',
    'azurerm_lb_probe',
    'azurerm_lb_rule',
    'azurerm_role_assignment',
    'azurerm_nat_gateway_public_ip_association',
    'azurerm_subnet_nat_gateway_association',
    'azurerm_storage_container',
    'azurerm_storage_blob',
    'azurerm_monitor_data_collection_rule_association',
    'azurerm_virtual_machine_scale_set_extension',
    'azurerm_monitor_private_link_scoped_service',
  ]);

  it('THEN every taggable resource carries them', () => {
    const untagged: string[] = [];
    for (const [type, byId] of Object.entries(doc.resource)) {
      if (untaggable.has(type)) continue;
      for (const [id, r] of Object.entries(byId)) {
        const t = r.tags as Record<string, string> | undefined;
        if (!t || t.team !== 'edge' || t.env !== 'prod') untagged.push(`${type}.${id}`);
      }
    }
    expect(untagged).toEqual([]);
    expect(Object.keys(doc.resource).length).toBeGreaterThan(untaggable.size);
  });
});
