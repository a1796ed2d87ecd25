/**
 * What the VMs actually get: the cloud-init `user-data` is taken out of the synthesized instance
 * template, parsed as YAML, and the gateway config inside it is read with the gateway's own
 * parser, as `linkgate serve` reads the mounted file.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GatewayInstanceGroup, METADATA_VALUE_MAX_BYTES, type GatewayInstanceGroupProps } from '../../lib/gcp';
import { CONTAINER_CONFIG_PATH, HOST_CONFIG_PATH } from '../../lib/gcp/cloud-init';
import { GZIP_BASE64_PREFIX, parseConfigText } from '../../lib/tenants';
import {
  GCP_ID,
  IMAGE,
  NAT_CIDR,
  TENANTS,
  cloudInit,
  errorOf,
  file,
  manyTenants,
  single,
  synth,
  type Synthesized,
  ILB_ADDRESS,
  PUBLIC_ADDRESS,
  instanceGroupProps,
} from './helpers';

function gateway(overrides: Partial<GatewayInstanceGroupProps> = {}): { s: Synthesized; construct: GatewayInstanceGroup } {
  const s = synth((scope) => new GatewayInstanceGroup(scope, 'Gateway', instanceGroupProps(overrides)));
  return { s, construct: s.value };
}

function gatewayConfigIn(s: Synthesized) {
  const loaded = parseConfigText(file(s, HOST_CONFIG_PATH).content);
  if (!loaded.ok) throw new Error(`the delivered config does not load: ${JSON.stringify(loaded.issues)}`);
  return loaded.value;
}

function unit(s: Synthesized, name: string): string[] {
  return file(s, `/etc/systemd/system/${name}`).content.split('\n');
}

describe('the startup config in the instance template', () => {
  describe('GIVEN two tenants, one with a PSC connection ID above 2^53', () => {
    const { s } = gateway();

    test('THEN the user-data writes the gateway config, compressed, where the container mounts it from', () => {
      const config = file(s, HOST_CONFIG_PATH);
      expect(config.content.startsWith(GZIP_BASE64_PREFIX)).toBe(true);
      expect(config.permissions).toBe('0644');
    });

    test('THEN the gateway parser reads that config and the PSC connection ID is exact', () => {
      const config = gatewayConfigIn(s);
      expect(config.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech']);
      const id = config.tenants[0]!.allow!.gcp![0]!;
      expect(id).toBe(GCP_ID);
      expect(typeof id).toBe('string');
      // The number route would have changed it: this is what the test guards against.
      expect(String(Number(GCP_ID))).not.toBe(GCP_ID);
      expect(BigInt(id)).toBe(18446744072646845442n);
    });

    test('THEN inside the compressed text the ID is a quoted JSON string, not a number', () => {
      const text = file(s, HOST_CONFIG_PATH).content;
      const json = gunzipSync(Buffer.from(text.slice(GZIP_BASE64_PREFIX.length), 'base64')).toString('utf8');
      expect(json).toContain(`"gcp":["${GCP_ID}"]`);
    });

    test('THEN the listeners are the ports the load balancers and firewall use; tenants’ hostnames and upstream are kept', () => {
      const config = gatewayConfigIn(s);
      expect(config.listeners.privateLink.port).toBe(8443);
      expect(config.listeners.health.port).toBe(8080);
      expect(config.listeners.public).toBeUndefined();
      expect(config.tenants[0]!.hostnames).toEqual(['megacorp.api.example.com', '*.megacorp.example.com']);
      expect(config.upstreams.default).toMatchObject({ host: 'app.internal.example.com', port: 443 });
    });

    test('THEN the cloud-side consumer projects stay out of the gateway config', () => {
      expect(JSON.stringify(gatewayConfigIn(s))).not.toContain('megacorp-prod');
    });

    test('THEN the template metadata names the config by its SHA-256', () => {
      const text = file(s, HOST_CONFIG_PATH).content;
      const json = gunzipSync(Buffer.from(text.slice(GZIP_BASE64_PREFIX.length), 'base64')).toString('utf8');
      const metadata = single(s, 'google_compute_instance_template').metadata as Record<string, string>;
      expect(metadata['linkgate-config-sha256']).toBe(createHash('sha256').update(json).digest('hex'));
    });

    test('THEN the container unit runs the image with host networking and mounts the config where the gateway reads it', () => {
      const lines = unit(s, 'linkgate.service');
      const run = lines.find((l) => l.startsWith('ExecStart='))!;
      expect(run).toContain(`--mount type=bind,source=${HOST_CONFIG_PATH},target=${CONTAINER_CONFIG_PATH},readonly`);
      expect(run).toContain(`--env LINKGATE_CONFIG_FILE=${CONTAINER_CONFIG_PATH}`);
      expect(run).toContain('--env LINKGATE_HEALTH_PORT=8080');
      expect(run).toContain('--network host');
      expect(run.endsWith(` ${IMAGE} serve`)).toBe(true);
      expect(lines).toContain(`ExecStartPre=/usr/bin/docker pull ${IMAGE}`);
      expect(lines).toContain('ExecStartPre=/usr/bin/docker-credential-gcr configure-docker --registries=europe-west1-docker.pkg.dev');
      expect(lines).toContain('Restart=always');
    });

    test('THEN stopping the unit gives the gateway its whole drain (5 s + 25 s) plus a margin before SIGKILL', () => {
      const lines = unit(s, 'linkgate.service');
      expect(lines).toContain('ExecStop=/usr/bin/docker stop --time 35 linkgate');
      expect(lines).toContain('TimeoutStopSec=45');
      // Ordered after docker.service: at shutdown the gateway stops (and drains) before docker does.
      expect(lines).toContain('After=network-online.target docker.service linkgate-firewall.service');
    });

    test('THEN the host firewall opens the health port, and the private-link port to the NAT range only', () => {
      const lines = unit(s, 'linkgate-firewall.service');
      expect(lines).toContain('ExecStart=/sbin/iptables -w -A INPUT -p tcp --dport 8080 -j ACCEPT');
      expect(lines).toContain(`ExecStart=/sbin/iptables -w -A INPUT -p tcp -s ${NAT_CIDR} --dport 8443 -j ACCEPT`);
      expect(lines.filter((l) => l.includes('-A INPUT'))).toHaveLength(2);
    });

    test('THEN port 443 is redirected to the private-link listener for PSC traffic to the internal load balancer only', () => {
      const lines = unit(s, 'linkgate-firewall.service');
      expect(lines.filter((l) => l.includes('REDIRECT'))).toEqual([
        `ExecStart=/sbin/iptables -w -t nat -A PREROUTING -p tcp -s ${NAT_CIDR} -d ${ILB_ADDRESS} --dport 443 -j REDIRECT --to-ports 8443`,
      ]);
    });

    test('THEN cloud-init starts both units', () => {
      expect(cloudInit(s).runcmd).toEqual(['systemctl daemon-reload', 'systemctl start linkgate-firewall.service linkgate.service']);
    });
  });

  describe('GIVEN the public path', () => {
    const { s } = gateway({ publicAccess: true, publicAddress: PUBLIC_ADDRESS });

    test('THEN the config has a public listener and the VM redirects 443 at the external address to it', () => {
      expect(gatewayConfigIn(s).listeners.public?.port).toBe(9443);
      const lines = unit(s, 'linkgate-firewall.service');
      expect(lines).toContain('ExecStart=/sbin/iptables -w -A INPUT -p tcp --dport 9443 -j ACCEPT');
      expect(lines).toContain(`ExecStart=/sbin/iptables -w -t nat -A PREROUTING -p tcp -d ${PUBLIC_ADDRESS} --dport 443 -j REDIRECT --to-ports 9443`);
    });
  });

  describe('GIVEN the frontend port equal to the listener port', () => {
    test('THEN nothing is redirected and no load balancer address is needed', () => {
      const { s } = gateway({ privateLinkFrontendPort: 8443, privateLinkAddress: undefined });
      expect(unit(s, 'linkgate-firewall.service').filter((l) => l.includes('REDIRECT'))).toEqual([]);
    });
  });

  describe('GIVEN a custom drain and health port', () => {
    test('THEN the config (in milliseconds), the stop grace and the image health check follow them', () => {
      const { s } = gateway({ healthPort: 9090, drainDelaySec: 2, drainTimeoutSec: 40 });
      expect(gatewayConfigIn(s).shutdown).toEqual({ drainDelayMs: 2_000, drainTimeoutMs: 40_000 });
      expect(unit(s, 'linkgate.service')).toContain('ExecStop=/usr/bin/docker stop --time 47 linkgate');
      expect(unit(s, 'linkgate.service').find((l) => l.startsWith('ExecStart='))).toContain('--env LINKGATE_HEALTH_PORT=9090');
    });
  });

  describe('a tenant change reaches the VMs through a new template', () => {
    test('GIVEN the same tenants twice THEN the user-data is byte for byte the same (no rollout)', () => {
      expect(cloudInit(gateway().s).text).toBe(cloudInit(gateway().s).text);
    });

    test('GIVEN one more allowed PSC connection ID THEN the user-data and config hash change (a new template, a rollout)', () => {
      const before = gateway().s;
      const tenants = [{ ...TENANTS[0]!, allow: { gcp: [GCP_ID, '18446744072646845443'] } }, TENANTS[1]!];
      const after = gateway({ tenants }).s;
      expect(cloudInit(after).text).not.toBe(cloudInit(before).text);
      const hash = (x: Synthesized) => (single(x, 'google_compute_instance_template').metadata as Record<string, string>)['linkgate-config-sha256'];
      expect(hash(after)).not.toBe(hash(before));
      expect(gatewayConfigIn(after).tenants[0]!.allow!.gcp).toEqual([GCP_ID, '18446744072646845443']);
    });
  });

  describe('size: GCE metadata values hold at most 256 KiB', () => {
    test('GIVEN 1,000 tenants (two hostnames and one ID above 2^53 each) THEN the user-data fits with room to spare', () => {
      const { s, construct } = gateway({ tenants: manyTenants(1000) });
      expect(construct.userDataBytes).toBe(Buffer.byteLength(cloudInit(s).text));
      expect(construct.userDataBytes).toBeLessThan(METADATA_VALUE_MAX_BYTES / 4);
      expect(construct.configBytes).toBeGreaterThan(METADATA_VALUE_MAX_BYTES / 2); // it fits because it is compressed
      const config = gatewayConfigIn(s);
      expect(config.tenants).toHaveLength(1000);
      expect(config.tenants.every((t) => BigInt(t.allow!.gcp![0]!) > 2n ** 53n)).toBe(true);
    });

    test('GIVEN more IDs than fit and configDelivery inline THEN synth fails with the sizes, the limit and the way out', () => {
      const error = errorOf(
        (scope) => new GatewayInstanceGroup(scope, 'Gateway', instanceGroupProps({ tenants: manyTenants(4000, 10), configDelivery: 'inline' })),
      );
      expect(error).toMatch(
        /^GatewayInstanceGroup at stack\/Gateway: the rendered user-data is \d+ bytes \(4000 tenants; config \d+ bytes as JSON, \d+ as delivered\); a GCE metadata value holds at most 262144 bytes \(256 KiB\)\. Use configDelivery 'auto' or 'objectStore'\.$/,
      );
    });
  });
});
