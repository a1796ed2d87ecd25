/**
 * The production shapes of PrivateServiceConnectGateway (issue 12): Shared VPC placement, the
 * service attachment's knobs, config delivery from Cloud Storage, additional private-link ports,
 * labels, and the observability (log-based metrics, alert policies, dashboard).
 */
import { ComputeServiceAttachment } from '@cdktf/provider-google/lib/compute-service-attachment';
import { PrivateLinkLoadBalancer, type PrivateServiceConnectGatewayProps } from '../../lib/gcp';
import { CONFIG_OBJECT_NAME } from '../../lib/gcp/config-delivery';
import { HOST_CONFIG_PATH } from '../../lib/gcp/cloud-init';
import { parseConfigText } from '../../lib/tenants';
import { CHANNEL, GCP_ID, NAT_CIDR, TENANTS, UPSTREAMS, cloudInit, errorOf, file, manyTenants, pscGateway, resources, single, synth, type Synthesized } from './helpers';

const SERVICE = 'saas-gateway-prod';
const HOST = 'saas-network-host';
const HOST_NETWORK = `projects/${HOST}/global/networks/shared`;
const HOST_SUBNET = `projects/${HOST}/regions/europe-west1/subnetworks/gateway`;

/** The gateway in the service project on the host project's network (Shared VPC), notifying CHANNEL. */
const linkgate = (overrides: Partial<PrivateServiceConnectGatewayProps> = {}) =>
  pscGateway({
    project: SERVICE,
    network: HOST_NETWORK,
    subnetwork: HOST_SUBNET,
    networkProject: HOST,
    observability: { notificationChannels: [CHANNEL] },
    ...overrides,
  });

/** Project of every resource of each type (deduplicated). */
function projectsByType(s: Synthesized): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [type, byId] of Object.entries(s.json.resource ?? {})) {
    const projects = [...new Set(Object.values(byId).map((r) => String(r.project ?? '(none)')))];
    out[type] = projects;
  }
  return out;
}

const runLine = (s: Synthesized) => file(s, '/etc/systemd/system/linkgate.service').content.split('\n').find((l) => l.startsWith('ExecStart='))!;

describe('Shared VPC', () => {
  describe('GIVEN a host project owning the network and a service project for the gateway', () => {
    const s = synth(linkgate());

    test('THEN firewall rules and the PSC NAT subnet are in the host project, everything else in the service project', () => {
      const placement = projectsByType(s);
      expect(placement).toMatchObject({
        google_compute_firewall: [HOST],
        google_compute_subnetwork: [HOST],
        google_compute_region_instance_group_manager: [SERVICE],
        google_compute_instance_template: [SERVICE],
        google_compute_region_backend_service: [SERVICE],
        google_compute_forwarding_rule: [SERVICE],
        google_compute_address: [SERVICE],
        google_compute_service_attachment: [SERVICE],
        google_service_account: [SERVICE],
      });
    });

    test('THEN the shared network and subnet are referenced by their IDs in the host project', () => {
      expect(single(s, 'google_compute_subnetwork')).toMatchObject({ network: HOST_NETWORK, purpose: 'PRIVATE_SERVICE_CONNECT' });
      expect(single(s, 'google_compute_forwarding_rule')).toMatchObject({ network: HOST_NETWORK, subnetwork: HOST_SUBNET });
      expect(single(s, 'google_compute_instance_template').network_interface).toEqual([{ subnetwork: HOST_SUBNET }]);
      for (const rule of Object.values(resources(s, 'google_compute_firewall'))) expect(rule.network).toBe(HOST_NETWORK);
    });

    test('THEN the host-project firewall rules target the service project’s gateway service account', () => {
      for (const rule of Object.values(resources(s, 'google_compute_firewall'))) {
        expect(rule.target_service_accounts).toEqual([expect.stringMatching(/google_service_account\.Linkgate_Gateway_ServiceAccount_\w+\.email/)]);
      }
    });
  });

  describe('GIVEN manageFirewallRules: false (the network team owns the firewall)', () => {
    const s = synth(linkgate({ manageFirewallRules: false }));

    test('THEN no firewall rule is created, and the rules the gateway needs are listed for hand-over', () => {
      expect(resources(s, 'google_compute_firewall')).toEqual({});
      const gateway = s.value.gateway;
      expect(gateway.requiredFirewallRules.map((r) => [r.id, r.ports, r.sourceRanges])).toEqual([
        ['HealthCheckFirewall', [8080], ['130.211.0.0/22', '35.191.0.0/16']],
        ['PrivateLinkFirewall', [443], [NAT_CIDR]],
      ]);
    });
  });

  describe('validation', () => {
    test('GIVEN a bare network name with networkProject THEN synth fails naming the prop and the host project', () => {
      expect(errorOf(linkgate({ network: 'shared' }))).toMatch(
        /^PrivateServiceConnectGateway at stack\/Linkgate: invalid props:\n {2}network: must be an ID or self link naming the host project \(projects\/saas-network-host\/\.\.\.\) with networkProject, got "shared"/,
      );
    });

    test('GIVEN a subnetwork of another project THEN synth fails showing both projects', () => {
      expect(errorOf(linkgate({ subnetwork: 'https://www.googleapis.com/compute/v1/projects/other-project/regions/europe-west1/subnetworks/x' }))).toMatch(
        /subnetwork: names project "other-project" but networkProject is "saas-network-host"/,
      );
    });

    test('GIVEN networkProject equal to project THEN synth says to leave it out', () => {
      expect(errorOf(linkgate({ networkProject: SERVICE, network: `projects/${SERVICE}/global/networks/n`, subnetwork: `projects/${SERVICE}/regions/europe-west1/subnetworks/s` }))).toMatch(
        /networkProject: names the service project itself \("saas-gateway-prod"\): leave it out/,
      );
    });
  });
});

describe('service attachment knobs', () => {
  test('GIVEN ACCEPT_AUTOMATIC THEN the accept list is left out and synth warns that only the gateway filters', () => {
    const s = synth(linkgate({ connectionPreference: 'ACCEPT_AUTOMATIC' }));
    expect(single(s, 'google_compute_service_attachment')).toMatchObject({ connection_preference: 'ACCEPT_AUTOMATIC', consumer_accept_lists: [] });
    expect(s.warnings).toEqual([expect.stringMatching(/ACCEPT_AUTOMATIC: any project can connect an endpoint, the accept list \(consumers\.gcp\) is ignored, and only the gateway's allow\.gcp filters/)]);
  });

  test('GIVEN a reject list and a propagated connection limit of 0 THEN both reach the attachment (0 sent explicitly)', () => {
    const s = synth(linkgate({ consumerRejectLists: ['evil-project', '123456789012'], propagatedConnectionLimit: 0, reconcileConnections: false }));
    expect(s.text).toHaveResourceWithProperties(ComputeServiceAttachment, {
      consumer_reject_lists: ['evil-project', '123456789012'],
      propagated_connection_limit: 0,
      send_propagated_connection_limit_if_zero: true,
      reconcile_connections: false,
    });
  });

  describe('GIVEN tenants accepting by consumer network', () => {
    const net = (p: string, n: string) => `projects/${p}/global/networks/${n}`;
    const tenants = [
      { name: 'a', hostnames: ['a.example.com'], allow: { gcp: [GCP_ID] }, consumers: { gcp: { networks: [{ url: net('megacorp-prod', 'apps'), connectionLimit: 4 }] } } },
      {
        name: 'b',
        hostnames: ['b.example.com'],
        allow: { gcp: [] },
        // The same network as a self link: one entry, the larger limit.
        consumers: { gcp: { networks: [{ url: `https://www.googleapis.com/compute/v1/${net('megacorp-prod', 'apps')}`, connectionLimit: 6 }, { url: net('initech-prod', 'vpc') }] } },
      },
    ];

    test('THEN the accept list names the networks, each once with its largest limit', () => {
      const s = synth(linkgate({ tenants }));
      expect(single(s, 'google_compute_service_attachment').consumer_accept_lists).toEqual([
        { network_url: net('initech-prod', 'vpc'), connection_limit: 10 },
        { network_url: net('megacorp-prod', 'apps'), connection_limit: 6 },
      ]);
    });

    test('AND a reject list of projects THEN synth fails: both lists must be the same kind', () => {
      expect(errorOf(linkgate({ tenants, consumerRejectLists: ['evil-project'] }))).toMatch(
        /consumerRejectLists: lists projects but the accept list \(the tenants' consumers\.gcp\) lists networks; both must be the same kind/,
      );
    });

    test('AND another tenant accepting by project THEN synth fails: an attachment takes projects or networks, not both', () => {
      expect(errorOf(linkgate({ tenants: [...tenants, TENANTS[1]!] }))).toMatch(/tenants: consumers\.gcp lists both projects and networks across the tenants/);
    });
  });

  const invalid: [string, Partial<PrivateServiceConnectGatewayProps>, RegExp][] = [
    ['an unknown connection preference', { connectionPreference: 'ACCEPT_ALL' as never }, /connectionPreference: must be "ACCEPT_MANUAL" or "ACCEPT_AUTOMATIC", got "ACCEPT_ALL"/],
    ['a reject entry that is neither', { consumerRejectLists: ['Not A Project'] }, /consumerRejectLists\[0\]: must be a project ID or number, or a network URL .*got "Not A Project"/],
    ['a project both accepted and rejected', { consumerRejectLists: ['megacorp-prod'] }, /consumerRejectLists: "megacorp-prod" is on both the reject list and a tenant's consumers\.gcp/],
    ['a negative propagated limit', { propagatedConnectionLimit: -1 }, /propagatedConnectionLimit: must be a whole number from 0/],
  ];
  test.each(invalid)('GIVEN %s THEN synth fails naming the attachment and the value', (_, overrides, message) => {
    const error = errorOf(linkgate(overrides));
    expect(error).toMatch(/^PscServiceAttachment at stack\/Linkgate\/ServiceAttachment: invalid props:/);
    expect(error).toMatch(message);
  });

  test('GIVEN a consumer network URL that is not one THEN the tenant model refuses it', () => {
    const tenants = [{ name: 'a', hostnames: ['a.example.com'], open: true, consumers: { gcp: { networks: [{ url: 'apps' }] } } }];
    expect(errorOf(linkgate({ tenants }))).toMatch(/consumers\.gcp\.networks\[0\]\.url: expected a VPC network URL like projects\/PROJECT\/global\/networks\/NAME, got "apps"/);
  });
});

describe('config delivery', () => {
  describe('GIVEN 100,000 tenants (configDelivery auto)', () => {
    const tenants = manyTenants(100_000);
    const s = synth(linkgate({ tenants, connectionPreference: 'ACCEPT_AUTOMATIC', configBucketName: 'saas-linkgate-config' }));
    const gateway = s.value.gateway;

    test('THEN the config goes to Cloud Storage and the user-data stays a few KB, far under the 256 KiB metadata budget', () => {
      expect(gateway.configDelivery).toBe('objectStore');
      expect(gateway.userDataBytes).toBeLessThan(8 * 1024);
      expect(cloudInit(s).files.map((f) => f.path)).not.toContain(HOST_CONFIG_PATH);
    });

    test('THEN the object holds the whole config, as JSON the gateway parser reads', () => {
      const object = single(s, 'google_storage_bucket_object');
      expect(object).toMatchObject({ name: CONFIG_OBJECT_NAME, content_type: 'application/json' });
      const loaded = parseConfigText(object.content as string);
      expect(loaded.ok && loaded.value.tenants.length).toBe(100_000);
    });

    test('THEN the container is told where to poll it', () => {
      expect(runLine(s)).toContain(`--env LINKGATE_CONFIG_URL=gs://saas-linkgate-config/${CONFIG_OBJECT_NAME}`);
      expect(runLine(s)).not.toContain('LINKGATE_CONFIG_FILE');
    });
  });

  describe('GIVEN configDelivery objectStore with two tenants', () => {
    const s = synth(linkgate({ configDelivery: 'objectStore', labels: { team: 'edge' } }));

    test('THEN the bucket has uniform access, public access prevention enforced and versions, in the service project', () => {
      expect(single(s, 'google_storage_bucket')).toMatchObject({
        project: SERVICE,
        name: 'saas-gateway-prod-linkgate-linkgate-config',
        location: 'EUROPE-WEST1',
        uniform_bucket_level_access: true,
        public_access_prevention: 'enforced',
        versioning: { enabled: true },
        labels: { team: 'edge' },
      });
    });

    test('THEN synth notes that the subnetwork (given by ID, not checkable) needs Private Google Access', () => {
      const infos = s.value.gateway.node.metadata.filter((m) => m.type === '@cdktf/info').map((m) => String(m.data));
      expect(infos).toEqual([expect.stringMatching(new RegExp(`turn on Private Google Access on ${HOST_SUBNET.replace(/\//g, '\\/')}`))]);
    });

    test('THEN the only grant is object read for the gateway’s service account', () => {
      expect(Object.values(resources(s, 'google_storage_bucket_iam_member'))).toEqual([
        {
          bucket: expect.stringMatching(/google_storage_bucket\.Linkgate_Gateway_ConfigBucket_\w+\.name/),
          role: 'roles/storage.objectViewer',
          member: expect.stringMatching(/google_service_account\.Linkgate_Gateway_ServiceAccount_\w+\.member/),
        },
      ]);
    });

    test('WHEN a tenant’s allowed IDs change THEN the object changes and the instance template does not (no VM replaced)', () => {
      const tenants = [{ ...TENANTS[0]!, allow: { gcp: [GCP_ID, '18446744072646845443'] } }, TENANTS[1]!];
      const after = synth(linkgate({ configDelivery: 'objectStore', labels: { team: 'edge' }, tenants }));
      expect(single(after, 'google_compute_instance_template')).toEqual(single(s, 'google_compute_instance_template'));
      expect(single(after, 'google_storage_bucket_object').content).not.toEqual(single(s, 'google_storage_bucket_object').content);
    });
  });

  test('GIVEN 1,000 tenants (auto) THEN the config stays inline, with no bucket', () => {
    const s = synth(linkgate({ tenants: manyTenants(1000), connectionPreference: 'ACCEPT_AUTOMATIC' }));
    const gateway = s.value.gateway;
    expect(gateway.configDelivery).toBe('inline');
    // The README's figure: 29,677 bytes, 11 % of the 256 KiB metadata value limit.
    expect(gateway.userDataBytes).toBeLessThan(32 * 1024);
    expect(resources(s, 'google_storage_bucket')).toEqual({});
    expect(runLine(s)).toContain('--env LINKGATE_CONFIG_FILE=/etc/linkgate/config.yaml');
  });

  test('GIVEN an unknown delivery THEN synth fails listing the allowed ones', () => {
    expect(errorOf(linkgate({ configDelivery: 'ssm' as never }))).toMatch(/configDelivery: must be one of "auto", "inline", "objectStore", got "ssm"/);
  });
});

describe('additional private-link ports', () => {
  const upstreams = { default: UPSTREAMS.default, db: { host: 'db.internal.example.com', port: 5432 } };

  describe('GIVEN 5432 next to 443', () => {
    const s = synth(linkgate({ upstreams, additionalPrivateLinkPorts: [{ name: 'postgres', port: 5432, upstream: 'db' }] }));

    test('THEN the forwarding rule, the firewall rule and the gateway config carry both, each port to its listener', () => {
      expect(single(s, 'google_compute_forwarding_rule').ports).toEqual(['443', '5432']);
      const rule = Object.values(resources(s, 'google_compute_firewall')).find((r) => String(r.name).endsWith('allow-private-link'))!;
      expect(rule.allow).toEqual([{ protocol: 'tcp', ports: ['443', '5432'] }]);
      const loaded = parseConfigText(file(s, HOST_CONFIG_PATH).content);
      expect(loaded.ok && loaded.value.listeners.additionalPrivateLink).toEqual([expect.objectContaining({ name: 'postgres', port: 8444, upstream: 'db' })]);
    });

    test('THEN each VM opens 8444 to the NAT range only and redirects 5432 to it for the internal load balancer', () => {
      const unit = file(s, '/etc/systemd/system/linkgate-firewall.service').content;
      expect(unit).toContain(`-A INPUT -p tcp -s ${NAT_CIDR} --dport 8444 -j ACCEPT`);
      expect(unit).toMatch(new RegExp(`-s ${NAT_CIDR.replace(/\./g, '\\.')} -d \\S+ --dport 5432 -j REDIRECT --to-ports 8444`));
    });
  });

  test('GIVEN four more ports (the gateway’s limit) THEN the forwarding rule lists all five, its maximum', () => {
    const extra = [5432, 6379, 9000, 9001].map((port, i) => ({ name: `p${i}`, port, upstream: 'db' }));
    const s = synth(linkgate({ upstreams, additionalPrivateLinkPorts: extra }));
    expect(single(s, 'google_compute_forwarding_rule').ports).toEqual(['443', '5432', '6379', '9000', '9001']);
  });

  test('GIVEN a load balancer used alone with six frontend ports THEN it forwards all ports', () => {
    const s = synth(
      (scope) =>
        new PrivateLinkLoadBalancer(scope, 'Lb', {
          project: SERVICE,
          region: 'europe-west1',
          network: HOST_NETWORK,
          subnetwork: HOST_SUBNET,
          instanceGroup: 'projects/p/regions/europe-west1/instanceGroups/g',
          additionalFrontendPorts: [5432, 6379, 9000, 9001, 9002],
        }),
    );
    expect(single(s, 'google_compute_forwarding_rule')).toMatchObject({ all_ports: true });
    expect(single(s, 'google_compute_forwarding_rule').ports).toBeUndefined();
  });

  test('GIVEN an additional port on the health port THEN synth fails naming the entry', () => {
    expect(errorOf(linkgate({ upstreams, additionalPrivateLinkPorts: [{ name: 'x', port: 8443, upstream: 'db', gatewayPort: 8080 }] }))).toMatch(
      /additionalPrivateLinkPorts\[0\]\.gatewayPort: gateway port 8080 is already used by another gateway listener/,
    );
  });
});

describe('labels on everything labelable', () => {
  const labels = { team: 'edge', env: 'prod' };
  const s = synth(linkgate({ labels, publicAccess: true, configDelivery: 'objectStore' }));
  const labelled: [string, string][] = [
    ['google_compute_address', 'labels'],
    ['google_compute_forwarding_rule', 'labels'],
    ['google_compute_instance_template', 'labels'],
    ['google_storage_bucket', 'labels'],
    ['google_monitoring_alert_policy', 'user_labels'],
  ];
  test.each(labelled)('THEN every %s carries them', (type, field) => {
    const all = Object.values(resources(s, type));
    expect(all.length).toBeGreaterThan(0);
    for (const r of all) expect(r[field]).toEqual(labels);
  });
  test('THEN the boot disks carry them too', () => {
    expect((single(s, 'google_compute_instance_template').disk as { labels: unknown }[])[0]!.labels).toEqual(labels);
  });
});

describe('IPv6 consumers', () => {
  test('GIVEN ipv6 THEN the PSC NAT subnet is dual-stack with internal IPv6, and the service behind it stays IPv4', () => {
    const s = synth(linkgate({ ipv6: true }));
    expect(single(s, 'google_compute_subnetwork')).toMatchObject({ purpose: 'PRIVATE_SERVICE_CONNECT', stack_type: 'IPV4_IPV6', ipv6_access_type: 'INTERNAL', ip_cidr_range: NAT_CIDR });
    expect(single(s, 'google_compute_forwarding_rule').ip_version).toBeUndefined();
  });

  test('GIVEN no ipv6 THEN the NAT subnet is IPv4 only (GCP’s default stack)', () => {
    const s = synth(linkgate());
    expect(single(s, 'google_compute_subnetwork').stack_type).toBeUndefined();
  });

  test('GIVEN an IPv6 range as the NAT range THEN synth fails: the NAT subnet needs an IPv4 range, IPv6 comes with ipv6', () => {
    expect(errorOf(linkgate({ ipv6: true, pscNatSubnetCidr: 'fd20::/64' }))).toMatch(/pscNatSubnetCidr: must be an IPv4 CIDR block with a \/8 to \/29 prefix.*got "fd20::\/64"/);
  });
});
