import { Lb } from '@cdktf/provider-azurerm/lib/lb';
import { LbBackendAddressPool } from '@cdktf/provider-azurerm/lib/lb-backend-address-pool';
import { LbProbe } from '@cdktf/provider-azurerm/lib/lb-probe';
import { LbRule } from '@cdktf/provider-azurerm/lib/lb-rule';
import { PublicIp } from '@cdktf/provider-azurerm/lib/public-ip';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';
import {
  GatewayPublicLoadBalancer,
  PrivateLinkLoadBalancer,
  type GatewayPublicLoadBalancerProps,
  type PrivateLinkLoadBalancerProps,
} from '../../lib/azure';
import { FRONTEND_SUBNET, LOCATION, RG, onlyResource, synth } from './fixtures';

const privateLinkLb = (scope: Construct, overrides: Partial<PrivateLinkLoadBalancerProps> = {}) =>
  new PrivateLinkLoadBalancer(scope, 'PrivateLink', {
    resourceGroupName: RG,
    location: LOCATION,
    frontendSubnet: FRONTEND_SUBNET,
    name: 'lg-ilb',
    ...overrides,
  });

const publicLb = (scope: Construct, overrides: Partial<GatewayPublicLoadBalancerProps> = {}) =>
  new GatewayPublicLoadBalancer(scope, 'Public', { resourceGroupName: RG, location: LOCATION, name: 'lg-plb', ...overrides });

describe('PrivateLinkLoadBalancer', () => {
  describe('GIVEN only the required props', () => {
    const { json, doc } = synth((scope) => privateLinkLb(scope));

    it('THEN it synthesizes as before', () => {
      expect(json).toMatchSnapshot();
    });

    it('THEN it is a Standard load balancer with one internal frontend in the given subnet', () => {
      expect(json).toHaveResourceWithProperties(Lb, {
        name: 'lg-ilb',
        sku: 'Standard',
        frontend_ip_configuration: [
          expect.objectContaining({
            name: 'private-link',
            subnet_id: FRONTEND_SUBNET.id,
            private_ip_address_allocation: 'Dynamic',
          }),
        ],
      });
      const frontend = (onlyResource(doc, 'azurerm_lb').frontend_ip_configuration as Record<string, unknown>[])[0]!;
      expect(frontend.public_ip_address_id).toBeUndefined();
    });

    it('THEN the backend pool is NIC-based (no virtual network: IP-based pools cannot serve Private Link)', () => {
      expect(json).toHaveResourceWithProperties(LbBackendAddressPool, { name: 'gateways' });
      expect(onlyResource(doc, 'azurerm_lb_backend_address_pool')).not.toHaveProperty('virtual_network_id');
    });

    it('THEN the probe asks the health listener for /readyz over HTTP', () => {
      expect(json).toHaveResourceWithProperties(LbProbe, {
        protocol: 'Http',
        port: 8080,
        request_path: '/readyz',
        interval_in_seconds: 5,
        probe_threshold: 2,
      });
    });

    it('THEN one TCP rule sends the frontend port to the private-link listener, gated by the probe', () => {
      expect(json).toHaveResourceWithProperties(LbRule, {
        protocol: 'Tcp',
        frontend_ip_configuration_name: 'private-link',
        frontend_port: 443,
        backend_port: 8443,
        backend_address_pool_ids: [expect.stringContaining('azurerm_lb_backend_address_pool.')],
        probe_id: expect.stringContaining('azurerm_lb_probe.'),
        tcp_reset_enabled: true,
        floating_ip_enabled: false,
      });
    });
  });

  describe('GIVEN custom ports, probe settings and a static frontend IP', () => {
    const { json, value } = synth((scope) =>
      privateLinkLb(scope, {
        frontendPort: 1443,
        privateLinkPort: 7443,
        healthPort: 7080,
        healthProbePath: '/healthz',
        probeIntervalSec: 10,
        probeThreshold: 3,
        idleTimeoutMin: 15,
        frontendPrivateIpAddress: '10.20.1.10',
      }),
    );

    it('THEN they reach the frontend, the probe and the rule', () => {
      expect(json).toHaveResourceWithProperties(Lb, {
        frontend_ip_configuration: [
          expect.objectContaining({ private_ip_address_allocation: 'Static', private_ip_address: '10.20.1.10' }),
        ],
      });
      expect(json).toHaveResourceWithProperties(LbProbe, {
        port: 7080,
        request_path: '/healthz',
        interval_in_seconds: 10,
        probe_threshold: 3,
      });
      expect(json).toHaveResourceWithProperties(LbRule, { frontend_port: 1443, backend_port: 7443, idle_timeout_in_minutes: 15 });
    });

    it('THEN the resolved values are public fields', () => {
      expect(value).toMatchObject({ frontendPort: 1443, privateLinkPort: 7443, healthPort: 7080, probeIntervalSec: 10 });
    });
  });

  describe('GIVEN a port known only at deploy time', () => {
    it('THEN synth does not judge it', () => {
      expect(() => synth((scope) => privateLinkLb(scope, { privateLinkPort: Token.asNumber('${var.port}') }))).not.toThrow();
    });
  });

  describe('GIVEN invalid props', () => {
    const failure = (overrides: Partial<PrivateLinkLoadBalancerProps>) => () => synth((scope) => privateLinkLb(scope, overrides));

    it.each<[string, Partial<PrivateLinkLoadBalancerProps>, RegExp]>([
      ['a name Azure refuses', { name: 'bad name!' }, /name: must be 1 to 64 letters, digits, "_", "\." or "-".*got "bad name!"/],
      ['a frontend port above 65535', { frontendPort: 70000 }, /frontendPort: must be a TCP port from 1 to 65535, got 70000/],
      ['a private-link port of 0', { privateLinkPort: 0 }, /privateLinkPort: must be a TCP port from 1 to 65535, got 0/],
      ['a fractional health port', { healthPort: 80.5 }, /healthPort: must be a TCP port from 1 to 65535, got 80.5/],
      ['the health port on the private-link port', { healthPort: 8443 }, /healthPort: port 8443 is also privateLinkPort/],
      ['a probe path without a leading slash', { healthProbePath: 'readyz' }, /healthProbePath: must be an HTTP path starting with "\/".*got "readyz"/],
      ['a probe interval below Azure\'s minimum', { probeIntervalSec: 2 }, /probeIntervalSec: must be a whole number from 5 to \d+ seconds, got 2/],
      ['a probe threshold of 0', { probeThreshold: 0 }, /probeThreshold: must be a whole number from 1 to 100, got 0/],
      ['an idle timeout of 2 minutes', { idleTimeoutMin: 2 }, /idleTimeoutMin: must be a whole number from 4 to 100 minutes, got 2/],
      ['a frontend IP that is no IPv4 address', { frontendPrivateIpAddress: '10.20.1' }, /frontendPrivateIpAddress: must be an IPv4 address inside frontendSubnet, got "10.20.1"/],
    ])('WHEN it gets %s THEN synth fails saying so', (_what, overrides, message) => {
      expect(failure(overrides)).toThrow(message);
    });

    it('WHEN several props are wrong THEN one error names the construct and lists them all', () => {
      expect(failure({ frontendPort: -1, privateLinkPort: 65536 })).toThrow(
        /PrivateLink: invalid PrivateLinkLoadBalancer props:\n {2}frontendPort: .*\n {2}privateLinkPort: /,
      );
    });
  });
});

describe('GatewayPublicLoadBalancer', () => {
  describe('GIVEN only the required props', () => {
    const { json, doc } = synth((scope) => publicLb(scope));

    it('THEN it synthesizes as before', () => {
      expect(json).toMatchSnapshot();
    });

    it('THEN it is a separate public Standard load balancer on a static Standard public IP', () => {
      expect(json).toHaveResourceWithProperties(PublicIp, { name: 'lg-plb-ip', sku: 'Standard', allocation_method: 'Static' });
      expect(json).toHaveResourceWithProperties(Lb, {
        name: 'lg-plb',
        sku: 'Standard',
        frontend_ip_configuration: [expect.objectContaining({ name: 'public', public_ip_address_id: expect.stringContaining('azurerm_public_ip.') })],
      });
      const frontend = (onlyResource(doc, 'azurerm_lb').frontend_ip_configuration as Record<string, unknown>[])[0]!;
      expect(frontend.subnet_id).toBeUndefined();
    });

    it('THEN its rule goes to the public listener, probed on the health listener, without outbound SNAT', () => {
      expect(json).toHaveResourceWithProperties(LbRule, {
        protocol: 'Tcp',
        frontend_port: 443,
        backend_port: 9443,
        disable_outbound_snat: true,
        probe_id: expect.stringContaining('azurerm_lb_probe.'),
      });
      expect(json).toHaveResourceWithProperties(LbProbe, { protocol: 'Http', port: 8080, request_path: '/readyz' });
      expect(onlyResource(doc, 'azurerm_lb_backend_address_pool')).not.toHaveProperty('virtual_network_id');
    });
  });

  describe('GIVEN invalid props', () => {
    it.each<[string, Partial<GatewayPublicLoadBalancerProps>, RegExp]>([
      ['a public port above 65535', { publicPort: 99999 }, /publicPort: must be a TCP port from 1 to 65535, got 99999/],
      ['the health port on the public port', { publicPort: 8080 }, /healthPort: port 8080 is also publicPort/],
      ['a frontend port of 0', { frontendPort: 0 }, /Public: invalid GatewayPublicLoadBalancer props:\n {2}frontendPort: must be a TCP port/],
    ])('WHEN it gets %s THEN synth fails saying so', (_what, overrides, message) => {
      expect(() => synth((scope) => publicLb(scope, overrides))).toThrow(message);
    });
  });
});
