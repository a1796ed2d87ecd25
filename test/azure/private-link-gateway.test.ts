import { Lb } from '@cdktf/provider-azurerm/lib/lb';
import { LinuxVirtualMachineScaleSet } from '@cdktf/provider-azurerm/lib/linux-virtual-machine-scale-set';
import { PrivateLinkService } from '@cdktf/provider-azurerm/lib/private-link-service';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import { Testing } from 'cdktf';
import { AzureExampleStack } from '../../examples/azure/stack';
import type { PrivateLinkGatewayProps } from '../../lib/azure';
import {
  FRONTEND_SUBNET,
  GATEWAY_SUBNET,
  NAT_SUBNET,
  TENANTS,
  onlyResource,
  privateLinkGateway,
  resources,
  synth,
  warningsOf,
} from './fixtures';

describe('PrivateLinkGateway', () => {
  describe('GIVEN a resource group, three subnets and the tenants', () => {
    const { json, doc, value } = synth((scope) => privateLinkGateway(scope));

    it('THEN it synthesizes as before', () => {
      expect(json).toMatchSnapshot();
    });

    it('THEN it makes one internal load balancer, the scale set, and the service, named by the prefix', () => {
      expect(resources(doc, 'azurerm_lb').map((lb) => lb.name)).toEqual(['linkgate-ilb']);
      expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, { name: 'linkgate-gw' });
      expect(json).toHaveResourceWithProperties(PrivateLinkService, { name: 'linkgate-pls', enable_proxy_protocol: true });
    });

    it('THEN the service sits on that load balancer\'s internal frontend, and the gateways in its pool', () => {
      const lbId = Object.keys(doc.resource.azurerm_lb!)[0]!;
      const pool = Object.keys(doc.resource.azurerm_lb_backend_address_pool!)[0]!;
      expect(json).toHaveResourceWithProperties(PrivateLinkService, {
        load_balancer_frontend_ip_configuration_ids: [`\${azurerm_lb.${lbId}.frontend_ip_configuration[0].id}`],
        nat_ip_configuration: [expect.objectContaining({ subnet_id: NAT_SUBNET.id })],
      });
      const vmss = onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set');
      const nic = (vmss.network_interface as { ip_configuration: Record<string, unknown>[] }[])[0]!;
      expect(nic.ip_configuration[0]!.load_balancer_backend_address_pool_ids).toEqual([`\${azurerm_lb_backend_address_pool.${pool}.id}`]);
      expect(nic.ip_configuration[0]!.subnet_id).toBe(GATEWAY_SUBNET.id);
    });

    it('THEN the NSG admits the private-link port from the NAT subnet given here', () => {
      const rules = onlyResource(doc, 'azurerm_network_security_group').security_rule as Record<string, unknown>[];
      expect(rules[0]).toMatchObject({ destination_port_range: '8443', source_address_prefix: NAT_SUBNET.addressPrefixes![0] });
    });

    it('THEN the same tenants drive the service\'s allow-lists and the gateway config', () => {
      expect(value.privateLinkService.visibilitySubscriptionIds).toHaveLength(2);
      expect(value.gateway.config.config.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech']);
    });

    it('THEN it warns about nothing', () => {
      expect(warningsOf(value)).toEqual([]);
    });
  });

  describe('GIVEN no namePrefix and a construct ID that is long or starts with a digit', () => {
    it('THEN the prefix derived from the ID is shortened to a valid one instead of failing a check the user never asked for', () => {
      const { doc, value } = synth((scope) => privateLinkGateway(scope, {}, '2nd Gateway For Enterprise Customers In Europe'));
      expect(value.namePrefix).toBe('nd-gateway-for-enterprise-cust');
      expect(resources(doc, 'azurerm_lb').map((lb) => lb.name)).toEqual(['nd-gateway-for-enterprise-cust-ilb']);
    });
  });

  describe('GIVEN the public path', () => {
    const { json, doc, value } = synth((scope) => privateLinkGateway(scope, { publicPath: true, namePrefix: 'acme' }));

    it('THEN a second, public load balancer serves the public listener, and the service stays on the internal one', () => {
      expect(resources(doc, 'azurerm_lb').map((lb) => lb.name)).toEqual(['acme-ilb', 'acme-plb']);
      expect(json).toHaveResourceWithProperties(Lb, {
        name: 'acme-plb',
        frontend_ip_configuration: [expect.objectContaining({ public_ip_address_id: expect.stringContaining('azurerm_public_ip.') })],
      });
      const internal = Object.entries(doc.resource.azurerm_lb!).find(([, lb]) => lb.name === 'acme-ilb')![0];
      expect(onlyResource(doc, 'azurerm_private_link_service').load_balancer_frontend_ip_configuration_ids).toEqual([
        `\${azurerm_lb.${internal}.frontend_ip_configuration[0].id}`,
      ]);
      expect(value.gateway.config.config.listeners.public).toEqual({ port: 9443, host: '0.0.0.0', mode: 'tcp' });
    });
  });

  describe('GIVEN the gateway settings every cloud shares', () => {
    const { value } = synth((scope) => privateLinkGateway(scope, { defaultTenant: 'initech', drainDelaySec: 3, drainTimeoutSec: 40, log: { decisions: 'drops' } }));

    it('THEN they reach the gateway config, the drain in milliseconds', () => {
      expect(value.gateway.config.config).toMatchObject({
        defaultTenant: 'initech',
        shutdown: { drainDelayMs: 3_000, drainTimeoutMs: 40_000 },
        log: { decisions: 'drops' },
      });
    });
  });

  describe('GIVEN invalid props', () => {
    const failure = (overrides: Partial<PrivateLinkGatewayProps>) => () => synth((scope) => privateLinkGateway(scope, overrides));

    it.each<[string, Partial<PrivateLinkGatewayProps>, RegExp]>([
      ['an uppercase name prefix', { namePrefix: 'LinkGate' }, /linkgate: invalid PrivateLinkGateway props:\n {2}namePrefix: must be 1 to 30 lowercase letters, digits or hyphens, starting with a letter, got "LinkGate"/],
      [
        'the NAT subnet as the gateway subnet',
        { gatewaySubnet: NAT_SUBNET },
        /gatewaySubnet: is the same subnet as natSubnet; the gateways need their own subnet, because whatever shares the NAT subnet could reach the private-link port and forge PROXY headers/,
      ],
      [
        'the gateway and NAT subnets swapped',
        { gatewaySubnet: NAT_SUBNET, natSubnet: { ...GATEWAY_SUBNET, privateLinkServiceNetworkPoliciesEnabled: true } },
        /natSubnet: has Private Link Service network policies enabled while gatewaySubnet has them disabled: are gatewaySubnet and natSubnet swapped\?/,
      ],
      [
        'the frontend subnet as the NAT subnet',
        { natSubnet: { ...FRONTEND_SUBNET, privateLinkServiceNetworkPoliciesEnabled: true } },
        /linkgate\/PrivateLinkService: invalid GatewayPrivateLinkService props:\n {2}natSubnet: has Private Link Service network policies enabled/,
      ],
      ['the health port on the private-link port', { healthPort: 8443 }, /linkgate\/LoadBalancer: invalid PrivateLinkLoadBalancer props:\n {2}healthPort: port 8443 is also privateLinkPort/],
      ['a public port out of range', { publicPath: true, publicPort: 0 }, /linkgate\/PublicLoadBalancer: invalid GatewayPublicLoadBalancer props:\n {2}publicPort: must be a TCP port from 1 to 65535, got 0/],
    ])('WHEN it gets %s THEN synth fails saying so', (_what, overrides, message) => {
      expect(failure(overrides)).toThrow(message);
    });

    it('WHEN a tenant is invalid THEN the error names this construct, not one of its parts', () => {
      const tenants = [{ ...TENANTS[0]!, consumers: { azure: { subscriptions: ['zzzzzzzz-0000-0000-0000-000000000000'] } } }];
      expect(failure({ tenants })).toThrow(
        /^stack\/linkgate: invalid tenant declarations:\n {2}tenants\[0\]\.consumers\.azure\.subscriptions\[0\]: expected a subscription ID GUID/,
      );
    });

    it('WHEN two tenants claim one hostname THEN the error names both', () => {
      const tenants = [TENANTS[0]!, { ...TENANTS[1]!, hostnames: ['MegaCorp.api.example.com'] }];
      expect(failure({ tenants })).toThrow(
        /tenants\[1\]\.hostnames\[0\]: hostname "megacorp\.api\.example\.com" is claimed by tenants "megacorp" \(tenants\[0\]\.hostnames\[0\]\) and "initech"/,
      );
    });
  });
});

describe('the example app\'s Azure stack (examples/azure/stack.ts)', () => {
  const app = Testing.app();
  const stack = new AzureExampleStack(app, 'linkgate-azure');
  const json = Testing.synth(stack);

  it('GIVEN the example WHEN synthesized THEN it creates its own provider and both sides', () => {
    expect(JSON.parse(json).provider).toHaveProperty('azurerm');
    expect(json).toHaveResourceWithProperties(PrivateLinkService, { enable_proxy_protocol: true });
    expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, { upgrade_mode: 'Rolling' });
  });

  it('THEN its NAT subnet has Private Link Service network policies disabled', () => {
    expect(json).toHaveResourceWithProperties(Subnet, { name: 'private-link-nat', private_link_service_network_policies_enabled: false });
  });

  it('THEN its consumer endpoint requests the provider side\'s alias', () => {
    const consumer = resources(JSON.parse(json), 'azurerm_private_endpoint').find((e) => e.name === 'megacorp-linkgate')!;
    const alias = consumer.private_service_connection as Record<string, unknown>;
    expect(alias.private_connection_resource_alias).toMatch(/^\$\{azurerm_private_link_service\.linkgate_PrivateLinkService_[0-9A-F]+\.alias\}$/);
  });

  it('THEN it synthesizes without warnings', () => {
    expect(warningsOf(stack)).toEqual([]);
  });
});
