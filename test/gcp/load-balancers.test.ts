import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address';
import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeRegionBackendService } from '@cdktf/provider-google/lib/compute-region-backend-service';
import { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check';
import type { Construct } from 'constructs';
import {
  PrivateLinkLoadBalancer,
  PublicLoadBalancer,
  type PrivateLinkLoadBalancerProps,
  type PublicLoadBalancerProps,
} from '../../lib/gcp';
import { NETWORK, PROJECT, REGION, SUBNETWORK, errorOf, resources, single, synth } from './helpers';

const GROUP = 'projects/saas-provider-prod/regions/europe-west1/instanceGroups/gateway-gw';

const privateLink = (overrides: Partial<PrivateLinkLoadBalancerProps> = {}) => (scope: Construct) =>
  new PrivateLinkLoadBalancer(scope, 'PrivateLink', {
    project: PROJECT,
    region: REGION,
    network: NETWORK,
    subnetwork: SUBNETWORK,
    instanceGroup: GROUP,
    ...overrides,
  });

const publicLb = (overrides: Partial<PublicLoadBalancerProps> = {}) => (scope: Construct) =>
  new PublicLoadBalancer(scope, 'Public', { project: PROJECT, region: REGION, instanceGroup: GROUP, ...overrides });

describe('PrivateLinkLoadBalancer', () => {
  describe('GIVEN the gateway instance group', () => {
    const s = synth(privateLink());

    test('THEN the synthesized stack matches the snapshot', () => {
      expect(s.text).toMatchSnapshot();
    });

    test('THEN a regional health check asks the gateway’s readiness on the health port', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionHealthCheck, {
        project: PROJECT,
        region: REGION,
        http_health_check: { port: 8080, request_path: '/readyz' },
      });
    });

    test('THEN the backend service is INTERNAL TCP over the instance group, with connection draining', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionBackendService, {
        load_balancing_scheme: 'INTERNAL',
        protocol: 'TCP',
        network: NETWORK,
        backend: [{ group: GROUP, balancing_mode: 'CONNECTION' }],
        health_checks: [expect.stringMatching(/google_compute_region_health_check\.PrivateLink_HealthCheck_\w+\.id/)],
        connection_draining_timeout_sec: 300,
      });
    });

    test('THEN the INTERNAL forwarding rule listens on the private-link frontend port at a reserved internal address', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeForwardingRule, {
        load_balancing_scheme: 'INTERNAL',
        ip_protocol: 'TCP',
        ports: ['443'],
        network: NETWORK,
        subnetwork: SUBNETWORK,
        backend_service: expect.stringMatching(/google_compute_region_backend_service\.PrivateLink_BackendService_\w+\.id/),
        ip_address: expect.stringMatching(/google_compute_address\.PrivateLink_Address_\w+\.address/),
      });
      expect(s.text).toHaveResourceWithProperties(ComputeAddress, { address_type: 'INTERNAL', subnetwork: SUBNETWORK });
    });

    test('THEN it is dedicated: nothing EXTERNAL', () => {
      expect(JSON.stringify(s.json)).not.toContain('EXTERNAL');
    });
  });

  describe('GIVEN an address, ports and draining', () => {
    test('THEN they are used and no address is reserved', () => {
      const s = synth(privateLink({ ipAddress: '10.10.0.50', frontendPort: 8443, healthPort: 9090, connectionDrainingTimeoutSec: 900 }));
      expect(s.text).toHaveResourceWithProperties(ComputeForwardingRule, { ip_address: '10.10.0.50', ports: ['8443'] });
      expect(s.text).toHaveResourceWithProperties(ComputeRegionHealthCheck, { http_health_check: { port: 9090, request_path: '/readyz' } });
      expect(s.text).toHaveResourceWithProperties(ComputeRegionBackendService, { connection_draining_timeout_sec: 900 });
      expect(resources(s, 'google_compute_address')).toEqual({});
    });
  });

  describe('validation', () => {
    const cases: [string, Partial<PrivateLinkLoadBalancerProps>, RegExp][] = [
      ['a bad name', { name: '-x' }, /name: must be 1 to 20 lowercase letters.*got "-x"/],
      ['a bad project', { project: 'x' }, /project: must be a GCP project ID .*got "x"/],
      ['a bad region', { region: 'mars' }, /region: must be a GCP region like europe-west1, got "mars"/],
      ['an empty network', { network: '' }, /network: must not be empty/],
      ['no instance group', { instanceGroup: '' }, /instanceGroup: must not be empty/],
      ['a frontend port out of range', { frontendPort: 0 }, /frontendPort: must be a whole number from 1 to 65535, got 0/],
      ['a health port out of range', { healthPort: 65536 }, /healthPort: must be a whole number from 1 to 65535, got 65536/],
      ['the frontend on the health port', { frontendPort: 8080 }, /frontendPort: must differ from healthPort \(8080\): the health listener is not for clients/],
      ['too long a drain', { connectionDrainingTimeoutSec: 3601 }, /connectionDrainingTimeoutSec: must be a whole number from 0 to 3600 s, got 3601/],
    ];
    test.each(cases)('GIVEN %s THEN synth fails naming the construct and the value', (_, overrides, message) => {
      const error = errorOf(privateLink(overrides));
      expect(error).toMatch(/^PrivateLinkLoadBalancer at stack\/PrivateLink: invalid props:/);
      expect(error).toMatch(message);
    });
  });

  describe('GIVEN no connection draining', () => {
    test('THEN it warns that VMs leaving the group cut their connections', () => {
      const s = synth(privateLink({ connectionDrainingTimeoutSec: 0 }));
      expect(s.warnings).toEqual([expect.stringMatching(/^stack\/PrivateLink: connectionDrainingTimeoutSec is 0: every rolling update, scale-in and autohealing cuts/)]);
    });

    test('AND with the default THEN there is no warning', () => {
      expect(synth(privateLink()).warnings).toEqual([]);
    });
  });
});

describe('PublicLoadBalancer', () => {
  describe('GIVEN the gateway instance group', () => {
    const s = synth(publicLb());

    test('THEN the synthesized stack matches the snapshot', () => {
      expect(s.text).toMatchSnapshot();
    });

    test('THEN an EXTERNAL TCP backend service with its own readiness check fronts the same group', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionBackendService, {
        load_balancing_scheme: 'EXTERNAL',
        protocol: 'TCP',
        backend: [{ group: GROUP, balancing_mode: 'CONNECTION' }],
        connection_draining_timeout_sec: 300,
      });
      expect(s.text).toHaveResourceWithProperties(ComputeRegionHealthCheck, { http_health_check: { port: 8080, request_path: '/readyz' } });
    });

    test('THEN the EXTERNAL forwarding rule listens on 443 at a reserved external address', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeForwardingRule, {
        load_balancing_scheme: 'EXTERNAL',
        ip_protocol: 'TCP',
        ports: ['443'],
        network_tier: 'PREMIUM',
        ip_address: expect.stringMatching(/google_compute_address\.Public_Address_\w+\.address/),
      });
      expect(s.text).toHaveResourceWithProperties(ComputeAddress, { address_type: 'EXTERNAL', network_tier: 'PREMIUM' });
    });
  });

  describe('GIVEN an address', () => {
    test('THEN it is used and none is reserved', () => {
      const s = synth(publicLb({ ipAddress: '203.0.113.10' }));
      expect(single(s, 'google_compute_forwarding_rule').ip_address).toBe('203.0.113.10');
      expect(resources(s, 'google_compute_address')).toEqual({});
    });
  });

  describe('validation', () => {
    test('GIVEN a bad port THEN synth fails naming the construct', () => {
      expect(errorOf(publicLb({ frontendPort: 99999 }))).toMatch(
        /^PublicLoadBalancer at stack\/Public: invalid props:\n {2}frontendPort: must be a whole number from 1 to 65535, got 99999/,
      );
    });
  });
});
