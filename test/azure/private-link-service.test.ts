import { PrivateLinkService } from '@cdktf/provider-azurerm/lib/private-link-service';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import type { Construct } from 'constructs';
import {
  GatewayPrivateLinkService,
  PrivateLinkLoadBalancer,
  PrivateLinkNatSubnet,
  type GatewayPrivateLinkServiceProps,
} from '../../lib/azure';
import type { TenantDeclarations } from '../../lib/tenants';
import {
  FRONTEND_SUBNET,
  INITECH_SUB,
  LOCATION,
  MEGACORP_SUB,
  NAT_SUBNET,
  RG,
  TENANTS,
  onlyResource,
  synth,
  warningsOf,
} from './fixtures';

function service(scope: Construct, overrides: Partial<GatewayPrivateLinkServiceProps> = {}): GatewayPrivateLinkService {
  const loadBalancer = new PrivateLinkLoadBalancer(scope, 'LoadBalancer', {
    name: 'lg-ilb',
    resourceGroupName: RG,
    location: LOCATION,
    frontendSubnet: FRONTEND_SUBNET,
  });
  return new GatewayPrivateLinkService(scope, 'PrivateLinkService', {
    name: 'lg-pls',
    resourceGroupName: RG,
    location: LOCATION,
    loadBalancer,
    natSubnet: NAT_SUBNET,
    tenants: TENANTS,
    ...overrides,
  });
}

describe('GatewayPrivateLinkService', () => {
  describe('GIVEN the dedicated load balancer, a NAT subnet and tenants', () => {
    const { json, doc, value } = synth((scope) => service(scope, { fqdns: ['api.example.com'] }));

    it('THEN it synthesizes as before', () => {
      expect(json).toMatchSnapshot();
    });

    it('THEN PROXY protocol v2 is on, so every flow carries its LinkID to the gateway', () => {
      expect(json).toHaveResourceWithProperties(PrivateLinkService, { enable_proxy_protocol: true });
    });

    it('THEN it attaches to the internal frontend of the dedicated load balancer', () => {
      expect(json).toHaveResourceWithProperties(PrivateLinkService, {
        load_balancer_frontend_ip_configuration_ids: [
          expect.stringMatching(/^\$\{azurerm_lb\.LoadBalancer_[0-9A-F]+\.frontend_ip_configuration\[0\]\.id\}$/),
        ],
      });
    });

    it('THEN its one NAT IP configuration is primary and in the NAT subnet', () => {
      expect(json).toHaveResourceWithProperties(PrivateLinkService, {
        nat_ip_configuration: [expect.objectContaining({ name: 'nat-0', primary: true, subnet_id: NAT_SUBNET.id })],
      });
    });

    it('THEN visibility lists every tenant subscription (lowercase, sorted) and auto-approval only the opted-in ones', () => {
      expect(json).toHaveResourceWithProperties(PrivateLinkService, {
        visibility_subscription_ids: [MEGACORP_SUB, INITECH_SUB.toLowerCase()].sort(),
        auto_approval_subscription_ids: [INITECH_SUB.toLowerCase()],
      });
      expect(value.visibilitySubscriptionIds).toEqual([MEGACORP_SUB, INITECH_SUB.toLowerCase()].sort());
    });

    it('THEN its FQDNs are published', () => {
      expect(json).toHaveResourceWithProperties(PrivateLinkService, { fqdns: ['api.example.com'] });
    });

    it('THEN it outputs the alias customers connect to and the service ID, as service_alias and service_id', () => {
      expect(Object.keys(doc.output ?? {})).toEqual(['service_alias', 'service_id']);
      const outputs = Object.values(doc.output ?? {}).map((o) => o.value);
      expect(outputs).toEqual([
        expect.stringMatching(/^\$\{azurerm_private_link_service\.PrivateLinkService_[0-9A-F]+\.alias\}$/),
        expect.stringMatching(/^\$\{azurerm_private_link_service\.PrivateLinkService_[0-9A-F]+\.id\}$/),
      ]);
    });

    it('THEN it does not warn', () => {
      expect(warningsOf(value)).toEqual([]);
    });
  });

  describe('GIVEN a NAT subnet made by PrivateLinkNatSubnet', () => {
    const { json, doc } = synth((scope) => {
      const natSubnet = new PrivateLinkNatSubnet(scope, 'Nat', {
        name: 'private-link-nat',
        resourceGroupName: 'network',
        virtualNetworkName: 'provider',
        addressPrefixes: ['10.20.3.0/27'],
      });
      return service(scope, { natSubnet, natIpAddressCount: 3 });
    });

    it('THEN that subnet has Private Link Service network policies disabled, as Azure requires for NAT IPs', () => {
      expect(json).toHaveResourceWithProperties(Subnet, {
        name: 'private-link-nat',
        address_prefixes: ['10.20.3.0/27'],
        private_link_service_network_policies_enabled: false,
      });
    });

    it('THEN three NAT IPs sit in it, the first primary', () => {
      const nat = onlyResource(doc, 'azurerm_private_link_service').nat_ip_configuration as Record<string, unknown>[];
      expect(nat.map((n) => [n.name, n.primary])).toEqual([
        ['nat-0', true],
        ['nat-1', false],
        ['nat-2', false],
      ]);
      expect(new Set(nat.map((n) => n.subnet_id)).size).toBe(1);
      expect(nat[0]!.subnet_id).toMatch(/^\$\{azurerm_subnet\.Nat_[0-9A-F]+\.id\}$/);
    });
  });

  describe('GIVEN static NAT IPs', () => {
    const { json } = synth((scope) => service(scope, { natPrivateIpAddresses: ['10.20.3.5', '10.20.3.6'] }));

    it('THEN each NAT IP configuration gets its address', () => {
      expect(json).toHaveResourceWithProperties(PrivateLinkService, {
        nat_ip_configuration: [
          expect.objectContaining({ private_ip_address: '10.20.3.5', primary: true }),
          expect.objectContaining({ private_ip_address: '10.20.3.6', primary: false }),
        ],
      });
    });
  });

  describe('GIVEN tenants that name no Azure subscription', () => {
    const tenants: TenantDeclarations = [{ name: 'megacorp', hostnames: ['megacorp.api.example.com'], allow: { azure: ['1'] } }];
    const { json, value } = synth((scope) => service(scope, { tenants }));

    it('THEN visibility is empty and a warning says that every subscription can see the alias', () => {
      expect(json).toHaveResourceWithProperties(PrivateLinkService, { visibility_subscription_ids: [], auto_approval_subscription_ids: [] });
      expect(warningsOf(value)).toEqual([
        expect.stringMatching(/^no tenant lists consumers\.azure\.subscriptions, so the visibility list is empty and every Azure subscription can find this service by its alias/),
      ]);
    });
  });

  describe('GIVEN invalid props', () => {
    const failure = (overrides: Partial<GatewayPrivateLinkServiceProps>) => () => synth((scope) => service(scope, overrides));

    it.each<[string, Partial<GatewayPrivateLinkServiceProps>, RegExp]>([
      ['a name Azure refuses', { name: 'pls with spaces' }, /name: must be 1 to 64 letters.*got "pls with spaces"/],
      ['no NAT IPs', { natIpAddressCount: 0 }, /natIpAddressCount: must be a whole number from 1 to 8, got 0/],
      ['nine NAT IPs', { natIpAddressCount: 9 }, /natIpAddressCount: must be a whole number from 1 to 8, got 9/],
      [
        'nine static NAT IPs',
        { natPrivateIpAddresses: Array.from({ length: 9 }, (_, i) => `10.20.3.${i + 4}`) },
        /natPrivateIpAddresses\.length: must be a whole number from 1 to 8, got 9/,
      ],
      ['a NAT IP that is not IPv4', { natPrivateIpAddresses: ['fd00::5'] }, /natPrivateIpAddresses\[0\]: must be an IPv4 address inside natSubnet, got "fd00::5"/],
      ['an FQDN with a space', { fqdns: ['api example.com'] }, /fqdns\[0\]: must be a fully qualified domain name like api\.example\.com, got "api example\.com"/],
      ['a wildcard FQDN', { fqdns: ['*.example.com'] }, /fqdns\[0\]: must be a fully qualified domain name.*got "\*\.example\.com"/],
      [
        'a NAT subnet with policies enabled',
        { natSubnet: { ...NAT_SUBNET, privateLinkServiceNetworkPoliciesEnabled: true } },
        /natSubnet: has Private Link Service network policies enabled .*set it to false, or use PrivateLinkNatSubnet \(is the gateway or frontend subnet passed as natSubnet\?\)/,
      ],
    ])('WHEN it gets %s THEN synth fails saying so', (_what, overrides, message) => {
      expect(failure(overrides)).toThrow(message);
    });

    it('WHEN the NAT subnet is an azurerm Subnet left at the provider default THEN synth fails: the default is enabled', () => {
      const build = (scope: Construct) => {
        const natSubnet = new Subnet(scope, 'Plain', {
          name: 'plain',
          resourceGroupName: 'network',
          virtualNetworkName: 'provider',
          addressPrefixes: ['10.20.9.0/27'],
        });
        return service(scope, { natSubnet });
      };
      expect(() => synth(build)).toThrow(
        /PrivateLinkService: invalid GatewayPrivateLinkService props:\n {2}natSubnet: has Private Link Service network policies enabled \(privateLinkServiceNetworkPoliciesEnabled is true, the provider default\)/,
      );
    });

    it('WHEN a tenant lists a bad subscription GUID THEN synth fails naming the construct, the path and the value', () => {
      const tenants = [{ ...TENANTS[0]!, consumers: { azure: { subscriptions: ['1111-2222'] } } }];
      expect(failure({ tenants })).toThrow(
        /PrivateLinkService: invalid tenant declarations:\n {2}tenants\[0\]\.consumers\.azure\.subscriptions\[0\]: expected a subscription ID GUID like 00000000-0000-0000-0000-000000000000, got "1111-2222"/,
      );
    });

    it('WHEN a tenant allows a LinkID that is not a uint32 THEN synth fails saying what a LinkID is', () => {
      const tenants = [{ ...TENANTS[0]!, allow: { azure: ['-5'] } }];
      expect(failure({ tenants })).toThrow(/tenants\[0\]\.allow\.azure\[0\]: expected a Private Link LinkID: an unsigned 32-bit integer in decimal \(0 to 4294967295\), got "-5"/);
    });

    it('WHEN two tenants claim the same LinkID THEN synth fails naming both', () => {
      const tenants = [TENANTS[0]!, { ...TENANTS[1]!, allow: { azure: ['553665985'] } }];
      expect(failure({ tenants })).toThrow(
        /tenants\[1\]\.allow\.azure\[0\]: azure link ID "553665985" is claimed by tenants "megacorp" \(tenants\[0\]\.allow\.azure\[0\]\) and "initech"; it must belong to one/,
      );
    });
  });
});
