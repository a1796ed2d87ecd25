import { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member';
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
import { ComputeHealthCheck } from '@cdktf/provider-google/lib/compute-health-check';
import { ComputeInstanceTemplate } from '@cdktf/provider-google/lib/compute-instance-template';
import { ComputeRegionAutoscaler } from '@cdktf/provider-google/lib/compute-region-autoscaler';
import { ComputeRegionInstanceGroupManager } from '@cdktf/provider-google/lib/compute-region-instance-group-manager';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { GatewayInstanceGroup, type GatewayInstanceGroupProps } from '../../lib/gcp';
import {
  GCP_ID,
  NAT_CIDR,
  NETWORK,
  PROJECT,
  REGION,
  SUBNETWORK,
  TENANTS,
  errorOf,
  resources,
  single,
  synth,
  ILB_ADDRESS,
  PUBLIC_ADDRESS,
  instanceGroupProps,
} from './helpers';

/** Three zones, so the regional group's zone spread is visible. */
const props = (overrides: Partial<GatewayInstanceGroupProps> = {}) =>
  instanceGroupProps({ zones: [`${REGION}-b`, `${REGION}-c`, `${REGION}-d`], ...overrides });

const gateway = (overrides: Partial<GatewayInstanceGroupProps> = {}) => (scope: Construct) =>
  new GatewayInstanceGroup(scope, 'Gateway', props(overrides));

describe('GatewayInstanceGroup', () => {
  describe('GIVEN the required props and three zones', () => {
    const s = synth(gateway());

    test('THEN the synthesized stack matches the snapshot', () => {
      expect(s.text).toMatchSnapshot();
    });

    test('THEN it warns about nothing (pinned Artifact Registry image, every tenant has rules)', () => {
      expect(s.warnings).toEqual([]);
    });

    test('THEN the template is immutable-by-name: a name prefix and create-before-destroy', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeInstanceTemplate, {
        name_prefix: 'gateway-gw-',
        lifecycle: { create_before_destroy: true },
      });
    });

    test('THEN the VMs boot Container-Optimized OS with Shielded VM and get no external IP', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeInstanceTemplate, {
        machine_type: 'e2-standard-2',
        disk: [{ boot: true, auto_delete: true, source_image: 'cos-cloud/cos-stable', disk_size_gb: 20, disk_type: 'pd-balanced' }],
        network_interface: [{ subnetwork: SUBNETWORK }],
        shielded_instance_config: { enable_secure_boot: true, enable_vtpm: true, enable_integrity_monitoring: true },
      });
    });

    test('THEN the VMs run as the dedicated service account, never the default one', () => {
      const template = single(s, 'google_compute_instance_template');
      expect(template.service_account).toEqual({
        email: expect.stringMatching(/^\$\{google_service_account\.Gateway_ServiceAccount_\w+\.email\}$/),
        scopes: ['cloud-platform'],
      });
      expect(s.text).toHaveResourceWithProperties(ServiceAccount, { project: PROJECT, account_id: 'gateway-gateway' });
    });

    test('THEN the metadata turns on COS logging and monitoring and uses cloud-init, not the container declaration', () => {
      const metadata = single(s, 'google_compute_instance_template').metadata as Record<string, string>;
      expect(metadata).toMatchObject({ 'google-logging-enabled': 'true', 'google-monitoring-enabled': 'true', 'enable-oslogin': 'TRUE' });
      expect(metadata['user-data']).toMatch(/^#cloud-config\n/);
      expect(Object.keys(metadata)).not.toContain('gce-container-declaration');
    });

    test('THEN the service account may write logs and metrics and read the image repository, nothing more', () => {
      expect(s.text).toHaveResourceWithProperties(ProjectIamMember, { project: PROJECT, role: 'roles/logging.logWriter' });
      expect(s.text).toHaveResourceWithProperties(ProjectIamMember, { project: PROJECT, role: 'roles/monitoring.metricWriter' });
      expect(Object.keys(resources(s, 'google_project_iam_member'))).toHaveLength(2);
      expect(s.text).toHaveResourceWithProperties(ArtifactRegistryRepositoryIamMember, {
        project: PROJECT,
        location: REGION,
        repository: 'linkgate',
        role: 'roles/artifactregistry.reader',
      });
    });

    test('THEN a new template rolls out proactively, surging one VM per zone and never removing one first', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionInstanceGroupManager, {
        update_policy: {
          type: 'PROACTIVE',
          minimal_action: 'REPLACE',
          most_disruptive_allowed_action: 'REPLACE',
          replacement_method: 'SUBSTITUTE',
          max_surge_fixed: 3,
          max_unavailable_fixed: 0,
          instance_redistribution_type: 'PROACTIVE',
        },
      });
    });

    test('THEN the group runs the template by its unique self link and the deploy waits for the rollout', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionInstanceGroupManager, {
        project: PROJECT,
        region: REGION,
        distribution_policy_zones: [`${REGION}-b`, `${REGION}-c`, `${REGION}-d`],
        version: [{ name: 'gateway', instance_template: expect.stringMatching(/google_compute_instance_template\.\w+\.self_link_unique/) }],
        wait_for_instances: true,
        wait_for_instances_status: 'UPDATED',
        instance_lifecycle_policy: { force_update_on_repair: 'YES' },
      });
    });

    test('THEN autohealing uses a liveness check (/healthz), not the load balancers’ readiness check', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeHealthCheck, {
        http_health_check: { port: 8080, request_path: '/healthz' },
        unhealthy_threshold: 3,
      });
      expect(s.text).toHaveResourceWithProperties(ComputeRegionInstanceGroupManager, {
        auto_healing_policies: {
          health_check: expect.stringMatching(/google_compute_health_check\.Gateway_AutohealingHealthCheck_\w+\.id/),
          initial_delay_sec: 300,
        },
      });
    });

    test('THEN the autoscaler keeps 3 to 9 VMs at 60% CPU', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeRegionAutoscaler, {
        region: REGION,
        target: expect.stringMatching(/google_compute_region_instance_group_manager\.Gateway_\w+\.id/),
        autoscaling_policy: { min_replicas: 3, max_replicas: 9, cooldown_period: 120, mode: 'ON', cpu_utilization: { target: 0.6 } },
      });
    });

    test('THEN health checks reach the health port from Google’s probe ranges only', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeFirewall, {
        direction: 'INGRESS',
        network: NETWORK,
        source_ranges: ['130.211.0.0/22', '35.191.0.0/16'],
        allow: [{ protocol: 'tcp', ports: ['8080'] }],
        target_service_accounts: [expect.stringMatching(/google_service_account\.Gateway_ServiceAccount_\w+\.email/)],
      });
    });

    test('THEN only the PSC NAT subnet reaches the frontend port, at the internal load balancer address', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeFirewall, {
        source_ranges: [NAT_CIDR],
        destination_ranges: [`${ILB_ADDRESS}/32`],
        allow: [{ protocol: 'tcp', ports: ['443'] }],
      });
    });

    test('THEN there is no other firewall rule (no SSH, no public port)', () => {
      expect(Object.keys(resources(s, 'google_compute_firewall'))).toHaveLength(2);
    });
  });

  describe('GIVEN publicAccess with the external load balancer address', () => {
    const s = synth(gateway({ publicAccess: true, publicAddress: PUBLIC_ADDRESS }));

    test('THEN the public port is open from anywhere, but only at the external address', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeFirewall, {
        source_ranges: ['0.0.0.0/0'],
        destination_ranges: [`${PUBLIC_ADDRESS}/32`],
        allow: [{ protocol: 'tcp', ports: ['443'] }],
      });
      expect(Object.keys(resources(s, 'google_compute_firewall'))).toHaveLength(3);
    });

    test('THEN the external load balancer’s health check ranges are allowed too', () => {
      expect(s.text).toHaveResourceWithProperties(ComputeFirewall, {
        source_ranges: ['130.211.0.0/22', '209.85.152.0/22', '209.85.204.0/22', '35.191.0.0/16'],
        allow: [{ protocol: 'tcp', ports: ['8080'] }],
      });
    });
  });

  describe('GIVEN no zones', () => {
    const s = synth(gateway({ zones: undefined }));

    test('THEN GCP picks the zones and the surge covers the largest zone count (4)', () => {
      const mig = single(s, 'google_compute_region_instance_group_manager');
      expect(mig.distribution_policy_zones).toBeUndefined();
      expect(s.text).toHaveResourceWithProperties(ComputeRegionInstanceGroupManager, {
        update_policy: expect.objectContaining({ max_surge_fixed: 4, max_unavailable_fixed: 0 }),
      });
    });
  });

  describe('GIVEN waitForRollout: false', () => {
    test('THEN the deploy does not wait for the VMs', () => {
      const s = synth(gateway({ waitForRollout: false }));
      expect(s.text).toHaveResourceWithProperties(ComputeRegionInstanceGroupManager, { wait_for_instances: false });
      expect(single(s, 'google_compute_region_instance_group_manager').wait_for_instances_status).toBeUndefined();
    });
  });

  describe('GIVEN an explicit name and sizes', () => {
    test('THEN resources are named from it and the sizes are used', () => {
      const s = synth(gateway({ name: 'acme', minInstances: 2, maxInstances: 4, machineType: 'n2-standard-4', targetCpuUtilization: 0.5 }));
      expect(s.text).toHaveResourceWithProperties(ComputeInstanceTemplate, { name_prefix: 'acme-gw-', machine_type: 'n2-standard-4' });
      expect(s.text).toHaveResourceWithProperties(ComputeRegionInstanceGroupManager, { name: 'acme-gw', base_instance_name: 'acme-gw' });
      expect(s.text).toHaveResourceWithProperties(ComputeRegionAutoscaler, {
        autoscaling_policy: expect.objectContaining({ min_replicas: 2, max_replicas: 4, cpu_utilization: { target: 0.5 } }),
      });
      expect(s.text).toHaveResourceWithProperties(ServiceAccount, { account_id: 'acme-gateway' });
    });
  });

  describe('GIVEN a project from a Terraform variable (an unresolved token)', () => {
    test('THEN validation leaves it to GCP', () => {
      const s = synth((scope) => {
        const project = new TerraformVariable(scope, 'project', { type: 'string' });
        new GatewayInstanceGroup(scope, 'Gateway', props({ project: project.stringValue }));
      });
      expect(s.text).toHaveResourceWithProperties(ServiceAccount, { project: '${var.project}' });
    });
  });

  describe('validation', () => {
    const cases: [string, Partial<GatewayInstanceGroupProps>, RegExp][] = [
      ['a bad name', { name: 'Acme_1' }, /name: must be 1 to 20 lowercase letters, digits or hyphens.*, got "Acme_1"/],
      ['a bad project ID', { project: 'Prod' }, /project: must be a GCP project ID \(6-30 lowercase letters.*got "Prod"/],
      ['a bad region', { region: 'europe' }, /region: must be a GCP region like europe-west1, got "europe"/],
      ['an empty network', { network: ' ' }, /network: must not be empty/],
      ['an empty subnetwork', { subnetwork: '' }, /subnetwork: must not be empty/],
      ['an image with a space', { image: 'gateway latest' }, /image: must be a container image reference like .*, got "gateway latest"/],
      ['a port out of range', { privateLinkPort: 70000 }, /privateLinkPort: must be a whole number from 1 to 65535, got 70000/],
      ['a fractional port', { healthPort: 80.5 }, /healthPort: must be a whole number from 1 to 65535, got 80.5/],
      [
        'the frontend port on the health port',
        { privateLinkFrontendPort: 8080 },
        /privateLinkFrontendPort: must differ from healthPort \(8080\): the health listener must not be reachable through Private Service Connect/,
      ],
      [
        'the public frontend port on the health port',
        { publicAccess: true, publicAddress: PUBLIC_ADDRESS, publicFrontendPort: 8080 },
        /publicFrontendPort: must differ from healthPort \(8080\): the health listener must not be reachable from the internet/,
      ],
      ['no NAT range', { privateLinkSourceRanges: [] }, /privateLinkSourceRanges: must list the PSC NAT subnet range\(s\), got \[\]/],
      [
        'a NAT range that is not a CIDR block',
        { privateLinkSourceRanges: ['10.100.0.0'] },
        /privateLinkSourceRanges\[0\]: must be an IPv4 CIDR block with a \/8 to \/29 prefix.*got "10.100.0.0"/,
      ],
      [
        'a NAT range with host bits',
        { privateLinkSourceRanges: ['10.100.0.7/24'] },
        /privateLinkSourceRanges\[0\]: .*"10.100.0.7\/24" has host bits set \(did you mean "10.100.0.0\/24"\?\)/,
      ],
      [
        'a NAT range too small',
        { privateLinkSourceRanges: ['10.100.0.0/30'] },
        /privateLinkSourceRanges\[0\]: must be an IPv4 CIDR block with a \/8 to \/29 prefix.*got "10.100.0.0\/30"/,
      ],
      [
        'a redirected frontend port without the load balancer address',
        { privateLinkAddress: undefined },
        /privateLinkAddress: is required when privateLinkFrontendPort \(443\) differs from privateLinkPort \(8443\)/,
      ],
      ['publicAccess without an address', { publicAccess: true }, /publicAddress: is required with publicAccess/],
      ['a public setting without publicAccess', { publicPort: 9000 }, /publicPort: has no effect without publicAccess: true/],
      [
        'a bad public source range',
        { publicAccess: true, publicAddress: PUBLIC_ADDRESS, publicSourceRanges: ['everyone'] },
        /publicSourceRanges\[0\]: must be an IPv4 CIDR block .*got "everyone"/,
      ],
      ['an empty machine type', { machineType: '' }, /machineType: must not be empty/],
      ['an empty source image', { sourceImage: '' }, /sourceImage: must not be empty/],
      ['a tiny boot disk', { bootDiskSizeGb: 5 }, /bootDiskSizeGb: must be a whole number from 10 to 65536 GB, got 5/],
      ['a zone of another region', { zones: ['us-central1-a'] }, /zones\[0\]: must be a zone of region europe-west1 \(like europe-west1-b\), got "us-central1-a"/],
      ['an empty zone list', { zones: [] }, /zones: must list at least one zone, or be left out to let GCP choose/],
      ['no instances', { minInstances: 0 }, /minInstances: must be a whole number from 1 to 2000, got 0/],
      ['max below min', { minInstances: 4, maxInstances: 2 }, /maxInstances: must be at least minInstances \(4\), got 2/],
      ['a CPU target above 1', { targetCpuUtilization: 60 }, /targetCpuUtilization: must be a fraction above 0 and at most 1 \(e.g. 0.6\), got 60/],
      ['a short cooldown', { autoscalingCooldownSec: 5 }, /autoscalingCooldownSec: must be a whole number from 15 to 3600 s, got 5/],
      ['a negative autohealing delay', { autohealingInitialDelaySec: -1 }, /autohealingInitialDelaySec: must be a whole number from 0 to 3600 s, got -1/],
      ['a fractional drain delay', { drainDelaySec: 2.5 }, /drainDelaySec: must be a whole number from 0 to 600 seconds, got 2.5/],
      ['a drain timeout of two hours', { drainTimeoutSec: 7200 }, /drainTimeoutSec: must be a whole number from 0 to 3600 seconds, got 7200/],
      [
        'a surge below the zone count',
        { maxSurgeInstances: 2 },
        /maxSurgeInstances: must be at least the number of zones \(3\) for a regional managed instance group, got 2/,
      ],
    ];

    test.each(cases)('GIVEN %s THEN synth fails naming the construct, the prop and the bad value', (_, overrides, message) => {
      const error = errorOf(gateway(overrides));
      expect(error).toMatch(/^GatewayInstanceGroup at stack\/Gateway: invalid props:/);
      expect(error).toMatch(message);
    });

    test('GIVEN a drain from a Terraform variable (an unresolved token) THEN synth fails: the config needs the value', () => {
      const error = errorOf((scope) => {
        const drain = new TerraformVariable(scope, 'drain', { type: 'number' });
        new GatewayInstanceGroup(scope, 'Gateway', props({ drainTimeoutSec: drain.numberValue }));
      });
      expect(error).toMatch(/^GatewayInstanceGroup at stack\/Gateway: invalid props:/);
      expect(error).toMatch(/drainTimeoutSec: must be known at synth time \(it is written into the gateway config\), got an unresolved token/);
    });

    test('GIVEN an upstream host from a Terraform variable THEN synth fails: the VMs would get the placeholder text', () => {
      const error = errorOf((scope) => {
        const host = new TerraformVariable(scope, 'upstream_host', { type: 'string' });
        new GatewayInstanceGroup(scope, 'Gateway', props({ upstreams: { default: { host: host.stringValue, port: 443 } } }));
      });
      expect(error).toMatch(/^GatewayInstanceGroup at stack\/Gateway: invalid props:/);
      expect(error).toMatch(/upstreams\.default\.host: must be known at synth time/);
    });

    test('GIVEN several bad props THEN one error lists them all', () => {
      const error = errorOf(gateway({ name: 'X', privateLinkPort: 0, minInstances: 0 }));
      expect(error.split('\n').slice(1)).toEqual([
        expect.stringMatching(/^ {2}name: /),
        expect.stringMatching(/^ {2}privateLinkPort: /),
        expect.stringMatching(/^ {2}minInstances: /),
      ]);
    });

    describe('of the tenants, by the tenant model, naming the construct path', () => {
      test('GIVEN a PSC connection ID written as a number THEN it says to quote it', () => {
        const tenants = [{ name: 'a', hostnames: ['a.example.com'], allow: { gcp: [Number(GCP_ID) as unknown as string] } }];
        const error = errorOf(gateway({ tenants }));
        expect(error).toMatch(/^stack\/Gateway: invalid tenant declarations:/);
        expect(error).toMatch(/tenants\[0\]\.allow\.gcp\[0\]: GCP PSC connection IDs must be quoted decimal strings/);
      });

      test('GIVEN a PSC connection ID above uint64 THEN it is refused', () => {
        const tenants = [{ name: 'a', hostnames: ['a.example.com'], allow: { gcp: ['18446744073709551616'] } }];
        expect(errorOf(gateway({ tenants }))).toMatch(
          /tenants\[0\]\.allow\.gcp\[0\]: expected a PSC connection ID: an unsigned 64-bit integer as a decimal string .*got "18446744073709551616"/,
        );
      });

      test('GIVEN two tenants claiming one PSC connection ID THEN both are named', () => {
        const tenants = [
          { name: 'a', hostnames: ['a.example.com'], allow: { gcp: [GCP_ID] } },
          { name: 'b', hostnames: ['b.example.com'], allow: { gcp: [GCP_ID] } },
        ];
        expect(errorOf(gateway({ tenants }))).toMatch(
          new RegExp(`tenants\\[1\\]\\.allow\\.gcp\\[0\\]: gcp link ID "${GCP_ID}" is claimed by tenants "a" .* and "b"; it must belong to one`),
        );
      });

      test('GIVEN a bad consumer project ID THEN it is refused', () => {
        const tenants = [{ name: 'a', hostnames: ['a.example.com'], open: true, consumers: { gcp: { projects: [{ id: 'Bad_Project', connectionLimit: 1 }] } } }];
        expect(errorOf(gateway({ tenants }))).toMatch(
          /tenants\[0\]\.consumers\.gcp\.projects\[0\]\.id: expected a GCP project ID \(6-30 lowercase letters, digits, hyphens\) or project number, got "Bad_Project"/,
        );
      });

      test('GIVEN a connection limit out of range THEN it is refused', () => {
        const tenants = [{ name: 'a', hostnames: ['a.example.com'], open: true, consumers: { gcp: { projects: [{ id: 'abcdef-prod', connectionLimit: 0 }] } } }];
        expect(errorOf(gateway({ tenants }))).toMatch(/tenants\[0\]\.consumers\.gcp\.projects\[0\]\.connectionLimit: connectionLimit must be at least 1, got 0/);
      });

      test('GIVEN a tenant pointing at an undefined upstream THEN the rendered config is refused', () => {
        const tenants = [{ name: 'a', hostnames: ['a.example.com'], upstream: 'billing', allow: { gcp: [GCP_ID] } }];
        const error = errorOf(gateway({ tenants }));
        expect(error).toMatch(/^stack\/Gateway: the rendered gateway config is invalid:/);
        expect(error).toMatch(/tenants\[0\]\.upstream: upstream "billing" is not defined in upstreams \(defined: default\)/);
      });
    });
  });

  describe('warnings on legal but risky settings', () => {
    test('GIVEN an image referenced by tag THEN it warns that re-pushing the tag does not roll the VMs', () => {
      const s = synth(gateway({ image: 'europe-west1-docker.pkg.dev/saas-provider-prod/linkgate/gateway:1.2.0' }));
      expect(s.warnings).toEqual([expect.stringMatching(/^stack\/Gateway: image .*:1\.2\.0 is not pinned by digest: re-pushing the tag does not roll the VMs/)]);
    });

    test('GIVEN an image outside Artifact Registry THEN it warns that no pull permission is granted', () => {
      const s = synth(gateway({ image: `ghcr.io/example/linkgate@sha256:${'cd'.repeat(32)}` }));
      expect(s.warnings).toEqual([expect.stringMatching(/is not in Artifact Registry .*no pull permission is granted/)]);
      expect(Object.keys(resources(s, 'google_artifact_registry_repository_iam_member'))).toHaveLength(0);
    });

    test('GIVEN one instance THEN it warns about a single point of failure', () => {
      const s = synth(gateway({ minInstances: 1 }));
      expect(s.warnings).toEqual([expect.stringMatching(/minInstances is 1: one VM or zone failure takes the whole gateway down/)]);
    });

    test('GIVEN a drain longer than the GCE shutdown window THEN it warns that the rest is cut', () => {
      const s = synth(gateway({ drainDelaySec: 10, drainTimeoutSec: 120 }));
      expect(s.warnings).toEqual([expect.stringMatching(/drains for up to 130 s on SIGTERM, but Compute Engine gives a deleted VM about 90 s/)]);
    });

    test('GIVEN an open tenant (`open: true`) THEN it warns that every accepted endpoint reaches it', () => {
      const s = synth(gateway({ tenants: [...TENANTS, { name: 'newco', hostnames: ['newco.api.example.com'], open: true }] }));
      expect(s.warnings).toEqual([expect.stringMatching(/tenant "newco" is open \(open: true\): every endpoint the service attachment accepts .* can reach its hostnames/)]);
    });

    test('GIVEN many open tenants THEN five are named and one line counts the rest', () => {
      const open = Array.from({ length: 1000 }, (_, i) => ({ name: `open-${i}`, hostnames: [`open-${i}.api.example.com`], open: true }));
      const s = synth(gateway({ tenants: [...TENANTS, ...open] }));
      expect(s.warnings).toHaveLength(6);
      expect(s.warnings[5]).toMatch(/: 995 more tenants are open too\.$/);
    });
  });
});
