import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeRegionBackendService } from '@cdktf/provider-google/lib/compute-region-backend-service';
import { ComputeServiceAttachment } from '@cdktf/provider-google/lib/compute-service-attachment';
import { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
import type { PrivateServiceConnectGatewayProps } from '../../lib/gcp';
import { HOST_CONFIG_PATH } from '../../lib/gcp/cloud-init';
import { parseConfigText } from '../../lib/tenants';
import { CHANNEL, GCP_ID, NAT_CIDR, SUBNETWORK, errorOf, file, pscGateway, resources, synth } from './helpers';

/** The gateway notifying CHANNEL; a test overrides what it is about. */
const linkgate = (overrides: Partial<PrivateServiceConnectGatewayProps> = {}) => pscGateway({ observability: { notificationChannels: [CHANNEL] }, ...overrides });

const ref = (type: string, id: string, attribute: string) => expect.stringMatching(new RegExp(`^\\$\\{${type}\\.${id}_\\w+\\.${attribute}\\}$`));

describe('PrivateServiceConnectGateway', () => {
  describe('GIVEN a network, a NAT range and the tenants', () => {
    const s = synth(linkgate());

    test('THEN the synthesized stack matches the snapshot', () => {
      expect(s.text).toMatchSnapshot();
    });

    test('THEN it warns about nothing', () => {
      expect(s.warnings).toEqual([]);
    });

    test('THEN the service attachment publishes the internal load balancer’s forwarding rule with PROXY protocol', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, {
        target_service: ref('google_compute_forwarding_rule', 'Linkgate_PrivateLinkLoadBalancer', 'id'),
        enable_proxy_protocol: true,
        connection_preference: 'ACCEPT_MANUAL',
        nat_subnets: [ref('google_compute_subnetwork', 'Linkgate_ServiceAttachment_NatSubnet', 'id')],
      });
      expect(s.text).toHaveResourceWithProperties(ComputeSubnetwork, { purpose: 'PRIVATE_SERVICE_CONNECT', ip_cidr_range: NAT_CIDR });
    });

    test('THEN the internal load balancer fronts the gateway’s instance group at the reserved address', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionBackendService, {
        load_balancing_scheme: 'INTERNAL',
        backend: [{ group: ref('google_compute_region_instance_group_manager', 'Linkgate_Gateway', 'instance_group'), balancing_mode: 'CONNECTION' }],
      });
      expect(s.text).toHaveResourceWithProperties(ComputeForwardingRule, {
        load_balancing_scheme: 'INTERNAL',
        ip_address: ref('google_compute_address', 'Linkgate_PrivateLinkAddress', 'address'),
        ports: ['443'],
      });
      expect(s.text).toHaveResourceWithProperties(ComputeAddress, { name: 'linkgate-private-link', address_type: 'INTERNAL', subnetwork: SUBNETWORK });
    });

    test('THEN the VPC firewall lets the NAT range reach that address, and the VMs redirect for that address only', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeFirewall, {
        source_ranges: [NAT_CIDR],
        destination_ranges: [expect.stringMatching(/^\$\{google_compute_address\.Linkgate_PrivateLinkAddress_\w+\.address\}\/32$/)],
        allow: [{ protocol: 'tcp', ports: ['443'] }],
      });
      const firewallUnit = file(s, '/etc/systemd/system/linkgate-firewall.service').content;
      expect(firewallUnit).toMatch(
        new RegExp(`-s ${NAT_CIDR.replace(/\./g, '\\.')} -d \\$\\{google_compute_address\\.Linkgate_PrivateLinkAddress_\\w+\\.address\\} --dport 443 -j REDIRECT --to-ports 8443`),
      );
    });

    test('THEN the accept list and the gateway config come from the same tenants', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, {
        consumer_accept_lists: [
          { project_id_or_num: 'initech-shared', connection_limit: 2 },
          { project_id_or_num: 'megacorp-prod', connection_limit: 5 },
        ],
      });
      const config = parseConfigText(file(s, HOST_CONFIG_PATH).content);
      expect(config.ok && config.value.tenants[0]!.allow!.gcp).toEqual([GCP_ID]);
    });

    test('THEN there is no public path', () => {
      expect(JSON.stringify(s.json)).not.toContain('EXTERNAL');
      expect(Object.keys(resources(s, 'google_compute_forwarding_rule'))).toHaveLength(1);
    });

    test('THEN all resources share the name prefix from the construct ID', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, { name: 'linkgate-psc' });
      expect(s.text).toHaveResourceWithProperties(ComputeFirewall, { name: 'linkgate-allow-private-link' });
    });
  });

  describe('GIVEN publicAccess, a domain name and a longer drain', () => {
    const s = synth(linkgate({ publicAccess: true, domainName: 'api.example.com.', connectionDrainingTimeoutSec: 900 }));

    test('THEN a separate external load balancer fronts the same group at a reserved external address', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionBackendService, {
        load_balancing_scheme: 'EXTERNAL',
        backend: [{ group: ref('google_compute_region_instance_group_manager', 'Linkgate_Gateway', 'instance_group'), balancing_mode: 'CONNECTION' }],
        connection_draining_timeout_sec: 900,
      });
      expect(s.text).toHaveResourceWithProperties(ComputeForwardingRule, {
        load_balancing_scheme: 'EXTERNAL',
        ip_address: ref('google_compute_address', 'Linkgate_PublicAddress', 'address'),
      });
      expect(s.text).toHaveResourceWithProperties(ComputeRegionBackendService, { load_balancing_scheme: 'INTERNAL', connection_draining_timeout_sec: 900 });
    });

    test('THEN the public port is open at the external address only', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeFirewall, {
        source_ranges: ['0.0.0.0/0'],
        destination_ranges: [expect.stringMatching(/^\$\{google_compute_address\.Linkgate_PublicAddress_\w+\.address\}\/32$/)],
      });
    });

    test('THEN the attachment carries the domain name', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, { domain_names: ['api.example.com.'] });
    });
  });

  describe('GIVEN the gateway settings every cloud shares', () => {
    const s = synth(linkgate({ defaultTenant: 'megacorp', drainDelaySec: 3, drainTimeoutSec: 40, log: { decisions: 'drops' } }));

    test('THEN they reach the gateway config, the drain in milliseconds', () => {
      const config = parseConfigText(file(s, HOST_CONFIG_PATH).content);
      expect(config.ok && config.value).toMatchObject({
        defaultTenant: 'megacorp',
        shutdown: { drainDelayMs: 3_000, drainTimeoutMs: 40_000 },
        log: { decisions: 'drops' },
      });
    });
  });

  describe('validation', () => {
    test('GIVEN a NAT range with host bits THEN synth fails naming the construct and the prop', () => {
      expect(errorOf(linkgate({ pscNatSubnetCidr: '10.100.0.1/24' }))).toMatch(
        /^PrivateServiceConnectGateway at stack\/Linkgate: invalid props:\n {2}pscNatSubnetCidr: .*"10\.100\.0\.1\/24" has host bits set \(did you mean "10\.100\.0\.0\/24"\?\)/,
      );
    });

    test('GIVEN a bad name THEN synth fails naming the construct and the prop', () => {
      expect(errorOf(linkgate({ name: 'linkgate-for-all-of-megacorp' }))).toMatch(
        /^PrivateServiceConnectGateway at stack\/Linkgate: invalid props:\n {2}name: must be 1 to 20 lowercase letters/,
      );
    });

    test('GIVEN invalid tenants THEN the error names the gateway inside this construct', () => {
      const tenants = [{ name: 'Mega Corp', hostnames: ['megacorp.example.com'], open: true }];
      expect(errorOf(linkgate({ tenants }))).toMatch(/^stack\/Linkgate\/Gateway: invalid tenant declarations:\n {2}tenants\[0\]\.name: tenant name must be lowercase/);
    });
  });
});
