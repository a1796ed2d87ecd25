import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { DnsManagedZone } from '@cdktf/provider-google/lib/dns-managed-zone';
import { DnsRecordSet } from '@cdktf/provider-google/lib/dns-record-set';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import type { Construct } from 'constructs';
import { PscConsumerEndpoint, type PscConsumerEndpointProps } from '../../lib/gcp';
import { REGION, errorOf, resources, synth } from './helpers';

const ATTACHMENT = 'projects/saas-provider-prod/regions/europe-west1/serviceAttachments/gateway-psc';
const CONSUMER_NETWORK = 'projects/megacorp-prod/global/networks/apps';
const CONSUMER_SUBNET = 'projects/megacorp-prod/regions/europe-west1/subnetworks/apps';

const endpoint = (overrides: Partial<PscConsumerEndpointProps> = {}) => (scope: Construct) =>
  new PscConsumerEndpoint(scope, 'Endpoint', {
    region: REGION,
    network: CONSUMER_NETWORK,
    subnetwork: CONSUMER_SUBNET,
    serviceAttachment: ATTACHMENT,
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com', 'megacorp.example.com'],
    ...overrides,
  });

describe('PscConsumerEndpoint', () => {
  describe('GIVEN the service attachment and the tenant’s hostnames', () => {
    const s = synth(endpoint());

    test('THEN the synthesized stack matches the snapshot', () => {
      expect(s.text).toMatchSnapshot();
    });

    test('THEN an internal address is reserved in the consumer subnet', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeAddress, { region: REGION, address_type: 'INTERNAL', subnetwork: CONSUMER_SUBNET });
    });

    test('THEN the endpoint is a forwarding rule to the attachment, with no load balancing scheme', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeForwardingRule, {
        target: ATTACHMENT,
        load_balancing_scheme: '',
        network: CONSUMER_NETWORK,
        ip_address: expect.stringMatching(/google_compute_address\.Endpoint_Address_\w+\.id/),
        allow_psc_global_access: false,
        no_automate_dns_zone: true,
      });
    });

    test('THEN each hostname gets a private zone bound to the consumer network; a wildcard shares its parent’s zone', () => {
      const zones = Object.values(resources(s, 'google_dns_managed_zone'));
      expect(zones.map((z) => z.dns_name).sort()).toEqual(['megacorp.api.example.com.', 'megacorp.example.com.']);
      expect(s.text).toHaveResourceWithProperties(DnsManagedZone, {
        dns_name: 'megacorp.example.com.',
        visibility: 'private',
        private_visibility_config: { networks: [{ network_url: CONSUMER_NETWORK }] },
      });
    });

    test('THEN A records point every hostname at the endpoint address', () => {
      const records = Object.values(resources(s, 'google_dns_record_set'));
      expect(records.map((r) => r.name).sort()).toEqual(['*.megacorp.example.com.', 'megacorp.api.example.com.', 'megacorp.example.com.']);
      expect(s.text).toHaveResourceWithProperties(DnsRecordSet, {
        name: '*.megacorp.example.com.',
        type: 'A',
        ttl: 300,
        rrdatas: [expect.stringMatching(/google_compute_address\.Endpoint_Address_\w+\.address/)],
        managed_zone: expect.stringMatching(/google_dns_managed_zone\.Endpoint_Zone-megacorpexamplecom_\w+\.name/),
      });
    });

    test('THEN psc_connection_id is output as the forwarding rule’s string attribute, never converted', () => {
      expect(s.json.output?.psc_connection_id?.value).toMatch(/^\$\{google_compute_forwarding_rule\.Endpoint_\w+\.psc_connection_id\}$/);
    });

    test('THEN doctor_command is the linkgate doctor command for the first exact hostname', () => {
      expect(s.json.output?.doctor_command?.value).toBe('linkgate doctor megacorp.api.example.com --port 443');
    });
  });

  describe('GIVEN an aliased provider, a fixed address and another output name', () => {
    test('THEN every resource uses that provider and the output has that name', () => {
      const s = synth((scope) => {
        new GoogleProvider(scope, 'Default', { project: 'saas-provider-prod' });
        const consumer = new GoogleProvider(scope, 'Consumer', { alias: 'consumer', project: 'megacorp-prod' });
        endpoint({ provider: consumer, project: 'megacorp-prod', ipAddress: '10.20.0.9', allowGlobalAccess: true, outputName: 'megacorp_psc_id', dnsTtlSec: 60 })(scope);
      });
      for (const type of ['google_compute_address', 'google_compute_forwarding_rule', 'google_dns_managed_zone', 'google_dns_record_set']) {
        for (const r of Object.values(resources(s, type))) expect(r).toMatchObject({ provider: 'google.consumer', project: 'megacorp-prod' });
      }
      expect(s.text).toHaveResourceWithProperties(ComputeAddress, { address: '10.20.0.9' });
      expect(s.text).toHaveResourceWithProperties(ComputeForwardingRule, { allow_psc_global_access: true });
      expect(s.text).toHaveResourceWithProperties(DnsRecordSet, { ttl: 60 });
      expect(Object.keys(s.json.output ?? {})).toEqual(['megacorp_psc_id', 'megacorp_psc_id_doctor_command']);
    });
  });

  describe('validation', () => {
    const cases: [string, Partial<PscConsumerEndpointProps>, RegExp][] = [
      ['no hostnames', { hostnames: [] }, /hostnames: must list at least one hostname, got \[\]/],
      ['a hostname that is not one', { hostnames: ['not a host'] }, /hostnames\[0\]: "not a host" is not a hostname \(expected DNS labels like api.example.com/],
      ['a hostname listed twice', { hostnames: ['a.example.com', 'A.example.com.'] }, /hostnames\[1\]: "a.example.com" is listed twice/],
      ['a bad output name', { outputName: '1st' }, /outputName: must be a Terraform output name .*got "1st"/],
      ['an IPv6 address', { ipAddress: 'fd00::1' }, /ipAddress: must be an IPv4 address of the subnetwork, got "fd00::1"/],
      ['a zero TTL', { dnsTtlSec: 0 }, /dnsTtlSec: must be a whole number from 1 to 86400 s, got 0/],
      ['a bad region', { region: 'europe-west' }, /region: must be a GCP region like europe-west1, got "europe-west"/],
      ['a bad project', { project: 'P' }, /project: must be a GCP project ID .*got "P"/],
      ['no service attachment', { serviceAttachment: '' }, /serviceAttachment: must not be empty/],
      ['no network', { network: '' }, /network: must not be empty/],
      ['no subnetwork', { subnetwork: '' }, /subnetwork: must not be empty/],
      ['a bad name', { name: 'Endpoint' }, /name: must be 1 to 20 lowercase letters.*got "Endpoint"/],
    ];
    test.each(cases)('GIVEN %s THEN synth fails naming the construct and the value', (_, overrides, message) => {
      const error = errorOf(endpoint(overrides));
      expect(error).toMatch(/^PscConsumerEndpoint at stack\/Endpoint: invalid props:/);
      expect(error).toMatch(message);
    });
  });
});
