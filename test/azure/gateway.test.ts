import { LinuxVirtualMachineScaleSet } from '@cdktf/provider-azurerm/lib/linux-virtual-machine-scale-set';
import { MonitorAutoscaleSetting } from '@cdktf/provider-azurerm/lib/monitor-autoscale-setting';
import { NetworkSecurityGroup } from '@cdktf/provider-azurerm/lib/network-security-group';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Fn } from 'cdktf';
import type { Construct } from 'constructs';
import {
  GatewayPublicLoadBalancer,
  GatewayScaleSet,
  PrivateLinkLoadBalancer,
  type GatewayScaleSetProps,
  type PrivateLinkLoadBalancerProps,
} from '../../lib/azure';
import {
  ACR_ID,
  FRONTEND_SUBNET,
  GATEWAY_SUBNET,
  IMAGE,
  LOCATION,
  NAT_SUBNET,
  RG,
  SOURCE_IMAGE_ID,
  SSH_KEY,
  TENANTS,
  UPSTREAMS,
  gatewayScaleSet,
  onlyResource,
  resources,
  synth,
  warningsOf,
} from './fixtures';

/** The gateway's network security group has a rule with (at least) these fields. */
function expectNsgRule(json: string, rule: Record<string, unknown>): void {
  expect(json).toHaveResourceWithProperties(NetworkSecurityGroup, { security_rule: expect.arrayContaining([expect.objectContaining(rule)]) });
}

interface Options {
  readonly lb?: Partial<PrivateLinkLoadBalancerProps>;
  readonly publicPath?: boolean;
  readonly props?: Partial<GatewayScaleSetProps>;
}

function gateway(scope: Construct, options: Options = {}): GatewayScaleSet {
  return gatewayScaleSet(scope, {
    lb: { name: 'lg-ilb', ...options.lb },
    publicLb: options.publicPath ? { name: 'lg-plb' } : undefined,
    props: { name: 'lg-gw', ...options.props },
  });
}

type Rule = Record<string, unknown>;
const rulesOf = (doc: ReturnType<typeof synth>['doc']) => onlyResource(doc, 'azurerm_network_security_group').security_rule as Rule[];

describe('GatewayScaleSet', () => {
  describe('GIVEN a private-link load balancer, a gateway subnet, a NAT subnet and tenants', () => {
    const { json, doc, value } = synth((scope) => gateway(scope));

    it('THEN it synthesizes as before', () => {
      expect(json).toMatchSnapshot();
    });

    it('THEN the scale set upgrades in rolling batches, judged by the private-link probe', () => {
      expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, {
        upgrade_mode: 'Rolling',
        health_probe_id: expect.stringContaining('azurerm_lb_probe.'),
        rolling_upgrade_policy: {
          max_batch_instance_percent: 20,
          max_unhealthy_instance_percent: 20,
          max_unhealthy_upgraded_instance_percent: 20,
          pause_time_between_batches: 'PT90S',
          maximum_surge_instances_enabled: false,
        },
      });
    });

    it('THEN OS images upgrade automatically (new versions of the gallery image), failed probes trigger repair, deletions are announced', () => {
      expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, {
        automatic_os_upgrade_policy: { enable_automatic_os_upgrade: true, disable_automatic_rollback: false },
        automatic_instance_repair: { enabled: true, grace_period: 'PT10M', action: 'Replace' },
        termination_notification: { enabled: true, timeout: 'PT5M' },
        source_image_id: SOURCE_IMAGE_ID,
      });
      expect(onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set').source_image_reference).toBeUndefined();
    });

    it('THEN no overprovisioned VM ever joins the pool, and the autoscaler owns the instance count', () => {
      expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, {
        overprovision: false,
        instances: 2,
        lifecycle: { ignore_changes: ['instances'] },
      });
    });

    it('THEN the NIC joins the NIC-based private-link pool, in the gateway subnet, behind the NSG', () => {
      expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, {
        network_interface: [
          expect.objectContaining({
            network_security_group_id: expect.stringContaining('azurerm_network_security_group.'),
            ip_configuration: [
              expect.objectContaining({
                subnet_id: GATEWAY_SUBNET.id,
                load_balancer_backend_address_pool_ids: [expect.stringContaining('azurerm_lb_backend_address_pool.')],
              }),
            ],
          }),
        ],
      });
    });

    it('THEN the VMs get a system-assigned identity with AcrPull on the registry', () => {
      expect(json).toHaveResourceWithProperties(LinuxVirtualMachineScaleSet, { identity: { type: 'SystemAssigned' } });
      expect(json).toHaveResourceWithProperties(RoleAssignment, {
        scope: ACR_ID,
        role_definition_name: 'AcrPull',
        principal_id: expect.stringContaining('.identity[0].principal_id'),
      });
    });

    it('THEN the private-link port is open only to the NAT subnet', () => {
      expectNsgRule(json, {
        name: 'allow-private-link-from-nat-subnets',
        direction: 'Inbound',
        access: 'Allow',
        protocol: 'Tcp',
        destination_port_range: '8443',
        source_address_prefix: '10.20.3.0/27',
      });
    });

    it('THEN the health port is open only to Azure load balancer probes', () => {
      expectNsgRule(json, {
        name: 'allow-health-probes',
        access: 'Allow',
        destination_port_range: '8080',
        source_address_prefix: 'AzureLoadBalancer',
      });
    });

    it('THEN nothing else comes in: one deny-all rule outranks Azure\'s default allows, and it is the only other rule', () => {
      expectNsgRule(json, {
        name: 'deny-all-other-inbound',
        direction: 'Inbound',
        access: 'Deny',
        protocol: '*',
        source_address_prefix: '*',
        destination_port_range: '*',
        priority: 4096,
      });
      const rules = rulesOf(doc);
      const allows = rules.filter((r) => r.access === 'Allow');
      expect(allows.map((r) => r.name)).toEqual(['allow-private-link-from-nat-subnets', 'allow-health-probes']);
      // Azure's own AllowVnetInBound (65000) and AllowAzureLoadBalancerInBound (65001) come later.
      expect(Math.max(...rules.map((r) => r.priority as number))).toBeLessThan(65000);
      expect(allows.every((r) => (r.priority as number) < 4096)).toBe(true);
    });

    it('THEN CPU drives autoscaling between 2 and 10 gateways', () => {
      expect(json).toHaveResourceWithProperties(MonitorAutoscaleSetting, {
        target_resource_id: expect.stringContaining('azurerm_linux_virtual_machine_scale_set.'),
        profile: [
          expect.objectContaining({
            capacity: { minimum: 2, maximum: 10, default: 2 },
            rule: [
              expect.objectContaining({
                metric_trigger: expect.objectContaining({ metric_name: 'Percentage CPU', operator: 'GreaterThan', threshold: 70 }),
                scale_action: expect.objectContaining({ direction: 'Increase', value: 1 }),
              }),
              expect.objectContaining({
                metric_trigger: expect.objectContaining({ metric_name: 'Percentage CPU', operator: 'LessThan', threshold: 30 }),
                scale_action: expect.objectContaining({ direction: 'Decrease', value: 1 }),
              }),
            ],
          }),
        ],
      });
    });

    it('THEN the defaults are public fields', () => {
      expect(value).toMatchObject({
        privateLinkPort: 8443,
        healthPort: 8080,
        publicPort: undefined,
        minInstances: 2,
        maxInstances: 10,
        drainDelaySec: 15,
        drainTimeoutSec: 25,
        acrLoginServer: 'linkgatetest.azurecr.io',
      });
    });

    it('THEN it warns about nothing', () => {
      expect(warningsOf(value)).toEqual([]);
    });
  });

  describe('GIVEN a public load balancer', () => {
    const { json, doc } = synth((scope) => gateway(scope, { publicPath: true }));

    it('THEN the NIC joins both pools and the public listener is open to the internet', () => {
      const nic = (onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set').network_interface as Rule[])[0]!;
      const ipConfig = (nic.ip_configuration as Rule[])[0]!;
      expect(ipConfig.load_balancer_backend_address_pool_ids).toHaveLength(2);
      expectNsgRule(json, {
        name: 'allow-public-listener',
        access: 'Allow',
        destination_port_range: '9443',
        source_address_prefix: 'Internet',
      });
    });

    it('THEN the scale set waits for both load balancer rules (Azure wants probes in use first)', () => {
      expect(onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set').depends_on).toEqual([
        expect.stringContaining('azurerm_lb_rule.LoadBalancer_Rule'),
        expect.stringContaining('azurerm_lb_rule.PublicLoadBalancer_Rule'),
        expect.stringContaining('azurerm_private_endpoint.Gateway_Network_RegistryEndpoint'),
      ]);
    });
  });

  describe('GIVEN restricted public sources and several NAT subnets', () => {
    const second = { id: `${NAT_SUBNET.id}-2`, addressPrefixes: ['10.20.4.0/27'] };
    const { doc } = synth((scope) =>
      gateway(scope, { publicPath: true, props: { natSubnets: [NAT_SUBNET, second], publicSourceAddressPrefixes: ['198.51.100.0/24', '203.0.113.0/24'] } }),
    );

    it('THEN every NAT prefix and only the given public sources are allowed', () => {
      const rules = rulesOf(doc);
      expect(rules.find((r) => r.name === 'allow-private-link-from-nat-subnets')?.source_address_prefixes).toEqual([
        '10.20.3.0/27',
        '10.20.4.0/27',
      ]);
      expect(rules.find((r) => r.name === 'allow-public-listener')?.source_address_prefixes).toEqual(['198.51.100.0/24', '203.0.113.0/24']);
    });
  });

  describe('GIVEN no acrId', () => {
    const { doc, value } = synth((scope) => gateway(scope, { props: { acrId: undefined, outboundAccess: 'existing' } }));

    it('THEN no role assignment is made and a warning says who needs AcrPull', () => {
      expect(resources(doc, 'azurerm_role_assignment')).toHaveLength(0);
      expect(warningsOf(value)).toContainEqual(expect.stringMatching(/image is in linkgatetest\.azurecr\.io but acrId is not set: grant .*identityPrincipalId.* AcrPull/));
    });
  });

  describe('GIVEN legal but risky settings', () => {
    it.each<[string, Partial<GatewayScaleSetProps>, RegExp]>([
      ['an image without a tag', { image: 'linkgatetest.azurecr.io/linkgate' }, /has no pinned tag or digest: a push to it changes nothing in the scale-set model/],
      ['an image tagged latest', { image: 'linkgatetest.azurecr.io/linkgate:latest' }, /"linkgatetest\.azurecr\.io\/linkgate:latest" has no pinned tag or digest/],
      ['a single gateway', { minInstances: 1 }, /minInstances is 1: every rolling upgrade, OS upgrade or repair takes the only gateway away/],
      [
        'an open tenant (`open: true`)',
        { tenants: [...TENANTS, { name: 'open-corp', hostnames: ['open.example.com'], open: true }] },
        /1 tenant\(s\) are open \(open: true\) and accept connections from every source: open-corp/,
      ],
    ])('WHEN it gets %s THEN it warns', (_what, props, message) => {
      const { value } = synth((scope) => gateway(scope, { props }));
      expect(warningsOf(value)).toContainEqual(expect.stringMatching(message));
    });

    it('WHEN the image is pinned by digest THEN it does not warn about the tag', () => {
      const image = `linkgatetest.azurecr.io/linkgate@sha256:${'a'.repeat(64)}`;
      const { value } = synth((scope) => gateway(scope, { props: { image } }));
      expect(warningsOf(value)).toEqual([]);
    });
  });

  describe('GIVEN invalid props', () => {
    const failure = (options: Options) => () => synth((scope) => gateway(scope, options));
    const props = (p: Partial<GatewayScaleSetProps>): Options => ({ props: p });

    it.each<[string, Options, RegExp]>([
      ['a name Azure refuses', props({ name: '-gw' }), /name: must be 1 to 64 letters.*got "-gw"/],
      [
        'an image known only at deploy',
        props({ image: `${Fn.lower('LINKGATETEST.azurecr.io')}/linkgate:1` }),
        /image: must be known at synth time \(it is written into the VMs' cloud-init\), got an unresolved token/,
      ],
      ['an image reference with a space', props({ image: 'linkgate test:1' }), /image: must be a container image reference like myregistry\.azurecr\.io\/linkgate:0\.1\.0.*got "linkgate test:1"/],
      ['an image with an uppercase repository', props({ image: 'x.azurecr.io/LinkGate:1' }), /image: must be a container image reference.*got "x\.azurecr\.io\/LinkGate:1"/],
      ['acrId with an image outside ACR', props({ image: 'ghcr.io/acme/linkgate:1.0', outboundAccess: 'natGateway' }), /acrId: is set, but image "ghcr\.io\/acme\/linkgate:1\.0" is not in an Azure Container Registry/],
      ['acrId that is not a registry ID', props({ acrId: '/subscriptions/x/registries/y' }), /acrId: must be a resource ID like \/subscriptions\/<subscription GUID>\/resourceGroups\/<group>\/providers\/Microsoft\.ContainerRegistry\/registries\/<name>, got/],
      ['a password where the SSH key goes', props({ adminSshPublicKey: 'hunter2' }), /adminSshPublicKey: must be an OpenSSH public key .*got "hunter2"/],
      ['no NAT subnet', props({ natSubnets: [] }), /natSubnets: must name at least one subnet: the private-link port is open only to the Private Link Service NAT subnets/],
      ['a NAT subnet without prefixes', props({ natSubnets: [{ id: NAT_SUBNET.id }] }), /natSubnets\[0\]\.addressPrefixes: is required: the NSG admits the private-link port only from the NAT subnet's address prefixes/],
      ['the NAT subnet as the gateway subnet', props({ subnet: NAT_SUBNET }), /subnet: is also natSubnets\[0\]; the gateways need a subnet of their own/],
      [
        'the gateway subnet by another spelling of the NAT subnet ID',
        props({ subnet: { id: NAT_SUBNET.id.toUpperCase() } }),
        /subnet: is also natSubnets\[0\]/,
      ],
      ['empty public sources', props({ publicSourceAddressPrefixes: [] }), /publicSourceAddressPrefixes: must not be empty/],
      ['a drain timeout of two hours', props({ drainTimeoutSec: 7200 }), /drainTimeoutSec: must be a whole number from 0 to 3600 seconds, got 7200/],
      ['a fractional drain delay', props({ drainDelaySec: 2.5 }), /drainDelaySec: must be a whole number from 0 to 600 seconds, got 2\.5/],
      [
        'a drain delay known only at deploy',
        props({ drainDelaySec: Fn.abs(15) }),
        /drainDelaySec: must be known at synth time \(it is written into the gateway config\), got an unresolved token/,
      ],
      [
        'an upstream host known only at deploy',
        props({ upstreams: { default: { host: Fn.lower('App.Internal'), port: 443 } } }),
        /upstreams\.default\.host: must be known at synth time/,
      ],
      ['no instances', props({ minInstances: 0 }), /minInstances: must be a whole number from 1 to 1000, got 0/],
      ['fewer maximum than minimum instances', props({ minInstances: 4, maxInstances: 3 }), /maxInstances: must be at least minInstances \(4\), got 3/],
      ['a scale-out threshold above 100%', props({ scaleOutCpuPercent: 120 }), /scaleOutCpuPercent: must be a whole number from 1 to 100 percent, got 120/],
      ['scale-in above scale-out', props({ scaleInCpuPercent: 80 }), /scaleInCpuPercent: must be below scaleOutCpuPercent \(70\), got 80; otherwise the scale set flaps/],
      ['a rolling batch of 1%', props({ rollingMaxBatchPercent: 1 }), /rollingMaxBatchPercent: must be a whole number from 5 to 100 percent, got 1/],
      ['an unhealthy limit of 200%', props({ rollingMaxUnhealthyPercent: 200 }), /rollingMaxUnhealthyPercent: must be a whole number from 5 to 100 percent, got 200/],
      ['a negative pause', props({ rollingPauseSec: -1 }), /rollingPauseSec: must be a whole number from 0 to 3600 seconds, got -1/],
      ['a repair grace period of 5 minutes', props({ repairGracePeriodMin: 5 }), /repairGracePeriodMin: must be a whole number from 10 to 90 minutes, got 5/],
      ['a termination notice of 30 minutes', props({ terminationNotificationMin: 30 }), /terminationNotificationMin: must be a whole number from 5 to 15 minutes, got 30/],
      ['an agent running every second', props({ agentIntervalSec: 1 }), /agentIntervalSec: must be a whole number from 5 to 300 seconds, got 1/],
    ])('WHEN it gets %s THEN synth fails saying so', (_what, options, message) => {
      expect(failure(options)).toThrow(message);
    });

    it('WHEN the public listener shares the private-link port THEN synth fails naming both', () => {
      const build = (scope: Construct) => {
        const lb = new PrivateLinkLoadBalancer(scope, 'LoadBalancer', { resourceGroupName: RG, location: LOCATION, frontendSubnet: FRONTEND_SUBNET });
        const pub = new GatewayPublicLoadBalancer(scope, 'Public', { resourceGroupName: RG, location: LOCATION, publicPort: 8443, healthPort: 8081 });
        return new GatewayScaleSet(scope, 'Gateway', {
          resourceGroupName: RG,
          location: LOCATION,
          subnet: GATEWAY_SUBNET,
          privateLinkLoadBalancer: lb,
          natSubnets: [NAT_SUBNET],
          publicLoadBalancer: pub,
          tenants: TENANTS,
          upstreams: UPSTREAMS,
          image: IMAGE,
          adminSshPublicKey: SSH_KEY,
        });
      };
      expect(() => synth(build)).toThrow(
        /publicLoadBalancer\.publicPort: port 8443 is also the private-link listener's port; the public listener refuses PROXY headers and needs its own port\n {2}publicLoadBalancer\.healthPort: is 8081 but the gateway's health listener is on 8080/,
      );
    });

    it('WHEN a tenant lists a bad subscription GUID THEN the tenant model\'s message names this construct', () => {
      const tenants = [{ ...TENANTS[0]!, consumers: { azure: { subscriptions: ['not-a-guid'] } } }];
      expect(failure(props({ tenants }))).toThrow(
        /Gateway: invalid tenant declarations:\n {2}tenants\[0\]\.consumers\.azure\.subscriptions\[0\]: expected a subscription ID GUID like 00000000-0000-0000-0000-000000000000, got "not-a-guid"/,
      );
    });

    it('WHEN a tenant allows an Azure LinkID above 2^32 THEN synth fails saying what a LinkID is', () => {
      const tenants = [{ ...TENANTS[0]!, allow: { azure: ['4294967296'] } }];
      expect(failure(props({ tenants }))).toThrow(
        /tenants\[0\]\.allow\.azure\[0\]: expected a Private Link LinkID: an unsigned 32-bit integer in decimal \(0 to 4294967295\), got "4294967296"/,
      );
    });

    it('WHEN a tenant names an upstream that does not exist THEN the rendered config is refused', () => {
      const tenants = [{ ...TENANTS[0]!, upstream: 'billing' }];
      expect(failure(props({ tenants }))).toThrow(
        /Gateway: the rendered gateway config is invalid:\n {2}tenants\[0\]\.upstream: upstream "billing" is not defined in upstreams \(defined: default\)/,
      );
    });
  });
});
