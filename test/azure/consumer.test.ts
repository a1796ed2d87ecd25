import { PrivateDnsARecord } from '@cdktf/provider-azurerm/lib/private-dns-a-record';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import type { Construct } from 'constructs';
import { PrivateLinkConsumer, type PrivateLinkConsumerProps } from '../../lib/azure';
import { LOCATION, SUBSCRIPTION, resources, synth } from './fixtures';

const ALIAS = 'lg-pls.3f0c2a7e-9b1d-4c55-8e2f-6a7b8c9d0e1f.westeurope.azure.privatelinkservice';
const ENDPOINT_SUBNET = {
  id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/customer/providers/Microsoft.Network/virtualNetworks/app/subnets/endpoints`,
};
const VNET_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/customer/providers/Microsoft.Network/virtualNetworks/app`;

const consumer = (scope: Construct, overrides: Partial<PrivateLinkConsumerProps> = {}, id = 'Megacorp') =>
  new PrivateLinkConsumer(scope, id, {
    name: 'megacorp-linkgate',
    resourceGroupName: 'customer',
    location: LOCATION,
    subnet: ENDPOINT_SUBNET,
    virtualNetworkId: VNET_ID,
    serviceAlias: ALIAS,
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com', 'megacorp.example.com'],
    ...overrides,
  });

describe('PrivateLinkConsumer', () => {
  describe('GIVEN the provider\'s alias and the tenant\'s hostnames', () => {
    const { json, doc, value } = synth((scope) => consumer(scope));

    it('THEN it synthesizes as before', () => {
      expect(json).toMatchSnapshot();
    });

    it('THEN a private endpoint in the subnet requests a connection to the alias, for manual approval', () => {
      expect(json).toHaveResourceWithProperties(PrivateEndpoint, {
        name: 'megacorp-linkgate',
        subnet_id: ENDPOINT_SUBNET.id,
        private_service_connection: {
          name: 'megacorp-linkgate',
          is_manual_connection: true,
          private_connection_resource_alias: ALIAS,
          request_message: 'linkgate: megacorp.api.example.com, *.megacorp.example.com, megacorp.example.com',
        },
      });
    });

    it('THEN each hostname gets its own private zone (the parent domain keeps resolving publicly)', () => {
      const zones = resources(doc, 'azurerm_private_dns_zone').map((z) => z.name);
      expect(zones).toEqual(['megacorp.api.example.com', 'megacorp.example.com']);
      expect(json).toHaveResourceWithProperties(PrivateDnsZone, { name: 'megacorp.api.example.com', resource_group_name: 'customer' });
    });

    it('THEN every zone is linked to the consumer VNet, without auto-registration', () => {
      const links = resources(doc, 'azurerm_private_dns_zone_virtual_network_link');
      expect(links).toHaveLength(2);
      expect(json).toHaveResourceWithProperties(PrivateDnsZoneVirtualNetworkLink, {
        virtual_network_id: VNET_ID,
        registration_enabled: false,
        private_dns_zone_name: expect.stringContaining('azurerm_private_dns_zone.'),
      });
    });

    it('THEN A records point the hostnames (apex and wildcard) at the endpoint\'s private IP', () => {
      const ip = expect.stringMatching(/^\$\{azurerm_private_endpoint\.Megacorp_[0-9A-F]+\.private_service_connection\[0\]\.private_ip_address\}$/);
      expect(json).toHaveResourceWithProperties(PrivateDnsARecord, { name: '@', records: [ip], ttl: 300 });
      expect(json).toHaveResourceWithProperties(PrivateDnsARecord, { name: '*', records: [ip], ttl: 300 });
      const records = resources(doc, 'azurerm_private_dns_a_record').map((r) => r.name);
      expect(records.sort()).toEqual(['*', '@', '@']);
    });

    it('THEN it outputs what the customer registers with the provider under fixed names: private_endpoint_id and private_ip_address, and the doctor command', () => {
      expect(Object.keys(doc.output ?? {})).toEqual(['doctor_command', 'private_endpoint_id', 'private_ip_address']);
      expect(Object.values(doc.output ?? {}).map((o) => o.value)).toEqual([
        'linkgate doctor megacorp.api.example.com --port 443',
        expect.stringMatching(/^\$\{azurerm_private_endpoint\.Megacorp_[0-9A-F]+\.id\}$/),
        expect.stringMatching(/\.private_service_connection\[0\]\.private_ip_address\}$/),
      ]);
      expect(value.hostnames).toEqual(['megacorp.api.example.com', '*.megacorp.example.com', 'megacorp.example.com']);
    });
  });

  describe('GIVEN two consumers in one stack, each with an outputPrefix', () => {
    const { doc } = synth((scope) => {
      consumer(scope, { outputPrefix: 'saas_' }, 'Saas');
      consumer(scope, { outputPrefix: 'other_' }, 'Other');
    });

    it('THEN their outputs carry the prefixes', () => {
      expect(Object.keys(doc.output ?? {}).sort()).toEqual([
        'other_doctor_command',
        'other_private_endpoint_id',
        'other_private_ip_address',
        'saas_doctor_command',
        'saas_private_endpoint_id',
        'saas_private_ip_address',
      ]);
    });
  });

  describe('GIVEN two consumers in one stack without an outputPrefix', () => {
    it('THEN the second is refused, naming the output and the fix', () => {
      expect(() =>
        synth((scope) => {
          consumer(scope, {}, 'Saas');
          consumer(scope, {}, 'Other');
        }),
      ).toThrow(/Other: the stack already has an output named private_endpoint_id; give each linkgate construct in a stack its own outputPrefix/);
    });
  });

  describe('GIVEN hostnames in mixed case with a trailing dot', () => {
    const { doc } = synth((scope) => consumer(scope, { hostnames: ['MegaCorp.API.Example.com.'] }));

    it('THEN the zone uses the normalized name, as the gateway matches it', () => {
      expect(resources(doc, 'azurerm_private_dns_zone').map((z) => z.name)).toEqual(['megacorp.api.example.com']);
    });
  });

  describe('GIVEN invalid props', () => {
    it.each<[string, Partial<PrivateLinkConsumerProps>, RegExp]>([
      ['a name Azure refuses', { name: 'pe?' }, /name: must be 1 to 64 letters.*got "pe\?"/],
      ['an output prefix Terraform refuses', { outputPrefix: 'saas.' }, /outputPrefix: must be letters, digits, "_" and "-", starting with a letter \(a Terraform output name\), got "saas\."/],
      [
        'a resource ID instead of an alias',
        { serviceAlias: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/privateLinkServices/z' },
        /serviceAlias: must be a Private Link Service alias like myservice\.00000000-0000-0000-0000-000000000000\.westeurope\.azure\.privatelinkservice, got "\/subscriptions\/x/,
      ],
      ['no hostnames', { hostnames: [] }, /hostnames: must name at least one hostname of the tenant/],
      ['a hostname with a space', { hostnames: ['mega corp.example.com'] }, /hostnames\[0\]: "mega corp\.example\.com" is not a hostname/],
      ['a hostname twice (after normalizing)', { hostnames: ['megacorp.example.com', 'MegaCorp.Example.com.'] }, /hostnames\[1\]: "megacorp\.example\.com" is listed twice/],
      ['a request message over 140 characters', { requestMessage: 'x'.repeat(141) }, /requestMessage: must be at most 140 characters, got 141/],
      ['a TTL of 0', { dnsTtlSec: 0 }, /Megacorp: invalid PrivateLinkConsumer props:\n {2}dnsTtlSec: must be a whole number from 1 to \d+ seconds, got 0/],
    ])('WHEN it gets %s THEN synth fails saying so', (_what, overrides, message) => {
      expect(() => synth((scope) => consumer(scope, overrides))).toThrow(message);
    });
  });
});
