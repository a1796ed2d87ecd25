/**
 * What the gateway VMs receive: the cloud-init in custom data and the config in user data, decoded
 * the way the VM decodes them, and the agent script run against a stand-in for the Instance
 * Metadata Service.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Testing } from 'cdktf';
import type { Construct } from 'constructs';
import {
  AGENT_PATH,
  CONFIG_PATH,
  CUSTOM_DATA_LIMIT_BYTES,
  GatewayScaleSet,
  PrivateLinkLoadBalancer,
  REGISTRY_LOGIN_PATH,
  USER_DATA_LIMIT_BYTES,
  type GatewayScaleSetProps,
  type PrivateLinkLoadBalancerProps,
} from '../../lib/azure';
import { parseConfigText, validateGatewayConfig } from '../../lib/tenants';
import {
  ACR_ID,
  FRONTEND_SUBNET,
  GATEWAY_SUBNET,
  IMAGE,
  LOCATION,
  NAT_SUBNET,
  RG,
  SSH_KEY,
  TENANTS,
  UPSTREAMS,
  decodeCustomData,
  manyTenants,
  onlyResource,
  synth,
  warningsOf,
  writeFile,
  type CloudConfig,
} from './fixtures';

Testing.setupJest();

function gateway(scope: Construct, props: Partial<GatewayScaleSetProps> = {}, lb: Partial<PrivateLinkLoadBalancerProps> = {}) {
  const loadBalancer = new PrivateLinkLoadBalancer(scope, 'LoadBalancer', {
    resourceGroupName: RG,
    location: LOCATION,
    frontendSubnet: FRONTEND_SUBNET,
    ...lb,
  });
  return new GatewayScaleSet(scope, 'Gateway', {
    resourceGroupName: RG,
    location: LOCATION,
    subnet: GATEWAY_SUBNET,
    privateLinkLoadBalancer: loadBalancer,
    natSubnets: [NAT_SUBNET],
    tenants: TENANTS,
    upstreams: UPSTREAMS,
    image: IMAGE,
    acrId: ACR_ID,
    adminSshPublicKey: SSH_KEY,
    ...props,
  });
}

/** Synthesizes a gateway and decodes the scale set's custom data and user data. */
function deployed(props: Partial<GatewayScaleSetProps> = {}, lb: Partial<PrivateLinkLoadBalancerProps> = {}) {
  const { doc, value } = synth((scope) => gateway(scope, props, lb));
  const vmss = onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set');
  const customData = vmss.custom_data as string;
  const userData = vmss.user_data as string;
  const { text, config: cloudConfig } = decodeCustomData(customData);
  return { vmss, customData, userData, cloudInitText: text, cloudConfig, construct: value };
}

/** The config file as cloud-init writes it: `encoding: gz+b64` content, gunzipped. */
function configFileFromCloudInit(cloudConfig: CloudConfig): string {
  const file = writeFile(cloudConfig, CONFIG_PATH);
  expect(file.encoding).toBe('gz+b64');
  return gunzipSync(Buffer.from(file.content, 'base64')).toString('utf8');
}

const unitFile = (cloudConfig: CloudConfig) => writeFile(cloudConfig, '/etc/systemd/system/linkgate.service').content;

describe('gateway cloud-init (custom data)', () => {
  const { cloudConfig, cloudInitText } = deployed();

  it('GIVEN the scale set WHEN its custom data is decoded THEN it is a cloud-config that installs Docker from the Ubuntu archive', () => {
    expect(cloudInitText.split('\n')[0]).toBe('#cloud-config');
    expect(cloudConfig.package_update).toBe(true);
    expect(cloudConfig.packages).toEqual(['docker.io']);
  });

  it('WHEN the config file it writes is read by the gateway\'s own loader THEN it is valid and holds the tenants', () => {
    const text = configFileFromCloudInit(cloudConfig);
    const loaded = parseConfigText(text);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(validateGatewayConfig(JSON.parse(text)).ok).toBe(true);
    const config = loaded.value;
    expect(config.listeners.privateLink.port).toBe(8443);
    expect(config.listeners.health.port).toBe(8080);
    expect(config.listeners.public).toBeUndefined();
    expect(config.upstreams.default).toMatchObject({ host: 'app.internal.example.com', port: 443 });
    expect(config.tenants).toEqual([
      expect.objectContaining({
        name: 'megacorp',
        hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
        allow: { azure: ['553665985'] },
      }),
      expect.objectContaining({
        name: 'initech',
        hostnames: ['initech.api.example.com'],
        allow: { azure: ['1203456789'], cidrs: ['203.0.113.0/24'] },
      }),
    ]);
    // Who may create an endpoint is the cloud's business; the gateway never sees it.
    expect(text).not.toContain('consumers');
    expect(text).not.toContain('11111111-2222-3333-4444-555555555555');
    expect(writeFile(cloudConfig, CONFIG_PATH).permissions).toBe('0644');
  });

  it('THEN the gateway keeps accepting after SIGTERM until the probe has taken it out (interval x (threshold + 1))', () => {
    const config = JSON.parse(configFileFromCloudInit(cloudConfig));
    expect(config.shutdown).toEqual({ drainDelayMs: 5 * 3 * 1000, drainTimeoutMs: 25_000 });
  });

  it('THEN a systemd unit runs the pinned image with host networking, the config directory read-only, restarting forever', () => {
    const unit = unitFile(cloudConfig);
    const execStart = unit.split('\n').find((l) => l.startsWith('ExecStart='));
    expect(execStart).toBe(
      'ExecStart=/usr/bin/docker run --rm --name linkgate --network host --log-driver journald --ulimit nofile=1048576:1048576 ' +
        `--volume /etc/linkgate:/etc/linkgate:ro --env LINKGATE_CONFIG_FILE=${CONFIG_PATH} --env LINKGATE_HEALTH_PORT=8080 ${IMAGE} serve`,
    );
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it('THEN the unit logs in to the registry with the managed identity and pulls before each start', () => {
    const unit = unitFile(cloudConfig);
    const pre = unit.split('\n').filter((l) => l.startsWith('ExecStartPre='));
    expect(pre).toEqual([
      `ExecStartPre=-${AGENT_PATH} config`,
      'ExecStartPre=-/usr/bin/docker rm --force linkgate',
      `ExecStartPre=-${REGISTRY_LOGIN_PATH} linkgatetest.azurecr.io`,
      `ExecStartPre=-/usr/bin/docker pull ${IMAGE}`,
    ]);
    const login = writeFile(cloudConfig, REGISTRY_LOGIN_PATH);
    expect(login.permissions).toBe('0755');
    expect(login.content).toContain('metadata/identity/oauth2/token');
    expect(login.content).toContain('/oauth2/exchange');
  });

  it('THEN docker stop waits longer than the gateway\'s own drain bound (drain delay + drain timeout + 5 s)', () => {
    const config = JSON.parse(configFileFromCloudInit(cloudConfig));
    const stop = /^ExecStop=\/usr\/bin\/docker stop --time (\d+) linkgate$/m.exec(unitFile(cloudConfig));
    const timeoutStop = /^TimeoutStopSec=(\d+)$/m.exec(unitFile(cloudConfig));
    const bound = (config.shutdown.drainDelayMs + config.shutdown.drainTimeoutMs + 5000) / 1000;
    expect(Number(stop?.[1])).toBeGreaterThan(bound);
    expect(Number(timeoutStop?.[1])).toBeGreaterThan(Number(stop?.[1]));
  });

  it('THEN it enables Docker, the agent timer and the gateway, without waiting for the first pull', () => {
    expect(cloudConfig.runcmd).toEqual([
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'docker.service'],
      ['systemctl', 'enable', '--now', 'linkgate-agent.timer'],
      ['systemctl', 'enable', '--now', '--no-block', 'linkgate.service'],
    ]);
    expect(writeFile(cloudConfig, '/etc/systemd/system/linkgate-agent.timer').content).toMatch(/^OnUnitActiveSec=10s$/m);
    expect(writeFile(cloudConfig, '/etc/systemd/system/linkgate-agent.service').content).toMatch(/^ExecStart=\/usr\/local\/lib\/linkgate\/agent all$/m);
  });

  it('THEN every script it installs is valid bash', () => {
    const scripts = cloudConfig.write_files.filter((f) => f.content.startsWith('#!/bin/bash'));
    expect(scripts.map((f) => f.path).sort()).toEqual([AGENT_PATH, REGISTRY_LOGIN_PATH]);
    for (const script of scripts) {
      const result = spawnSync('bash', ['-n'], { input: script.content, encoding: 'utf8' });
      expect({ path: script.path, stderr: result.stderr, status: result.status }).toEqual({ path: script.path, stderr: '', status: 0 });
    }
  });

  describe('GIVEN an image outside Azure Container Registry and a public path', () => {
    const { cloudConfig: other } = deployed({ image: 'ghcr.io/acme/linkgate:1.2.3', acrId: undefined });

    it('THEN no registry login is installed or run', () => {
      expect(other.write_files.map((f) => f.path)).not.toContain(REGISTRY_LOGIN_PATH);
      expect(unitFile(other)).not.toContain('registry-login');
      expect(unitFile(other)).toContain('ExecStartPre=-/usr/bin/docker pull ghcr.io/acme/linkgate:1.2.3');
    });
  });

  describe('GIVEN slower probes and a longer drain', () => {
    const { cloudConfig: slow } = deployed({ drainTimeoutSec: 120 }, { probeIntervalSec: 10, probeThreshold: 3 });

    it('THEN the drain delay and docker stop follow', () => {
      const config = JSON.parse(configFileFromCloudInit(slow));
      expect(config.shutdown).toEqual({ drainDelayMs: 40_000, drainTimeoutMs: 120_000 });
      expect(unitFile(slow)).toMatch(/^ExecStop=\/usr\/bin\/docker stop --time 170 linkgate$/m);
    });
  });
});

describe('gateway config in user data', () => {
  const { cloudConfig, userData } = deployed();

  it('GIVEN the scale set WHEN its user data is decoded THEN it is the same config, as gzip+base64 text the gateway reads', () => {
    const text = Buffer.from(userData, 'base64').toString('utf8');
    expect(text.startsWith('gzip+base64:')).toBe(true);
    const fromUserData = parseConfigText(text);
    const fromCustomData = parseConfigText(configFileFromCloudInit(cloudConfig));
    expect(fromUserData.ok && fromCustomData.ok).toBe(true);
    expect(fromUserData).toEqual(fromCustomData);
  });

  it('WHEN the tenant list changes THEN user data and custom data change (a rolling upgrade carries them) and nothing else does', () => {
    const before = deployed();
    const after = deployed({ tenants: [...TENANTS, { name: 'globex', hostnames: ['globex.api.example.com'], allow: { azure: ['42'] } }] });
    expect(after.userData).not.toBe(before.userData);
    expect(after.customData).not.toBe(before.customData);
    const rest = (v: Record<string, unknown>) => {
      const { custom_data: _c, user_data: _u, tags: _t, ...others } = v;
      return others;
    };
    expect(rest(after.vmss)).toEqual(rest(before.vmss));
    expect(after.vmss.upgrade_mode).toBe('Rolling');
    const config = parseConfigText(Buffer.from(after.userData, 'base64').toString('utf8'));
    expect(config.ok && config.value.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech', 'globex']);
  });

  it('WHEN nothing changes THEN synth is byte-for-byte the same (no upgrade without a reason)', () => {
    expect(deployed().vmss).toEqual(deployed().vmss);
  });
});

describe('config size for 1,000 tenants', () => {
  const tenants = manyTenants(1000);
  const { customData, userData, construct, cloudConfig } = deployed({ tenants });

  it('GIVEN 1,000 tenants (uint32 LinkID, two hostnames, one subscription each) THEN custom data and user data fit Azure\'s 64 KB with room to spare', () => {
    expect(customData.length).toBeLessThanOrEqual(CUSTOM_DATA_LIMIT_BYTES * 0.8);
    expect(userData.length).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES * 0.8);
    expect(warningsOf(construct)).toEqual([]);
  });

  it('THEN the gateway still reads all 1,000 from the file cloud-init writes', () => {
    const loaded = parseConfigText(configFileFromCloudInit(cloudConfig));
    expect(loaded.ok && loaded.value.tenants.length).toBe(1000);
  });

  it('GIVEN 1,700 tenants THEN synth warns that the limit is near', () => {
    const near = deployed({ tenants: manyTenants(1700) });
    expect(warningsOf(near.construct)).toContainEqual(
      expect.stringMatching(/^custom data \(cloud-init\) is \d+ of 65535 bytes \(\d+%\) with 1700 tenants; plan to split the tenants/),
    );
  });

  it('GIVEN 3,000 tenants THEN synth fails with the sizes, the limit and what to do', () => {
    expect(() => deployed({ tenants: manyTenants(3000) })).toThrow(
      /Gateway: custom data \(cloud-init\) is \d+ bytes as base64, over Azure's limit of 65535; user data \(gateway config\) is \d+ bytes as base64, over Azure's limit of 65535\. The gateway config of 3000 tenants compresses to \d+ bytes; split the tenants across several gateways/,
    );
  });
});

/**
 * The agent as it runs on a VM, with stand-ins for curl (the Instance Metadata Service), logger and
 * systemctl, and its two paths moved into a temporary directory.
 */
describe('the agent on a gateway VM', () => {
  const { cloudConfig, userData } = deployed();
  const changed = deployed({ tenants: [...TENANTS, { name: 'globex', hostnames: ['globex.api.example.com'] }] });
  let dir: string;

  function install(): { run: (mode: string, imds: { userData?: string; events?: unknown }) => void; configFile: string } {
    dir = mkdtempSync(join(tmpdir(), 'linkgate-agent-'));
    const configFile = join(dir, 'config.json');
    const original = writeFile(cloudConfig, AGENT_PATH).content;
    const script = original
      .replace('readonly config=/etc/linkgate/config.json', `readonly config=${configFile}`)
      .replace('readonly marker=/run/linkgate/drained-for-event', `readonly marker=${dir}/run/drained`);
    // If the script's paths move, this test must be told, not silently test nothing.
    expect(script.match(new RegExp(dir, 'g'))).toHaveLength(2);
    writeFileSync(join(dir, 'agent'), script, { mode: 0o755 });
    mkdirSync(join(dir, 'bin'));
    const stub = (name: string, body: string) => writeFileSync(join(dir, 'bin', name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    stub(
      'curl',
      [
        'url=${@: -1}; post=0; body=',
        'while [[ $# -gt 0 ]]; do case $1 in -X) [[ $2 == POST ]] && post=1; shift ;; -d) body=$2; shift ;; esac; shift; done',
        `case $url in`,
        `  *compute/userData*) [[ -f ${dir}/imds-userdata ]] && cat ${dir}/imds-userdata || exit 22 ;;`,
        `  *compute/name*) printf lg-gw_3 ;;`,
        `  *scheduledevents*) if ((post)); then printf '%s\\n' "$body" >>${dir}/posts; else cat ${dir}/imds-events; fi ;;`,
        '  *) exit 22 ;;',
        'esac',
      ].join('\n'),
    );
    stub('logger', `shift 3; printf '%s\\n' "$*" >>${dir}/log`);
    stub('systemctl', `printf '%s\\n' "$*" >>${dir}/systemctl`);
    // First boot: cloud-init has written the config file from custom data.
    writeFileSync(configFile, configFileFromCloudInit(cloudConfig));
    const run = (mode: string, imds: { userData?: string; events?: unknown }) => {
      rmSync(join(dir, 'imds-userdata'), { force: true });
      if (imds.userData !== undefined) writeFileSync(join(dir, 'imds-userdata'), imds.userData);
      writeFileSync(join(dir, 'imds-events'), JSON.stringify(imds.events ?? { DocumentIncarnation: 1, Events: [] }));
      execFileSync('bash', [join(dir, 'agent'), mode], { env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
    };
    return { run, configFile };
  }
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN user data of the model the VM booted from WHEN the agent runs THEN the config file is left alone', () => {
    const { run, configFile } = install();
    const before = statSync(configFile);
    run('config', { userData });
    const after = statSync(configFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(read('log')).toBe('');
  });

  it('GIVEN user data of a newer model WHEN the agent runs THEN the file is replaced (new inode: an atomic rename) with the new config', () => {
    const { run, configFile } = install();
    const before = statSync(configFile);
    run('config', { userData: changed.userData });
    const after = statSync(configFile);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o644);
    const loaded = parseConfigText(readFileSync(configFile, 'utf8'));
    expect(loaded.ok && loaded.value.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech', 'globex']);
    expect(read('log')).toMatch(/^applied a new gateway config from user data \(sha256 [0-9a-f]{16}\)\n$/);
  });

  it.each([
    ['no user data', undefined],
    ['user data that is not ours', Buffer.from('#!/bin/sh\necho hi\n').toString('base64')],
    ['a corrupt config', Buffer.from('gzip+base64:bm90IGd6aXA=').toString('base64')],
  ])('GIVEN %s WHEN the agent runs THEN the current config stays', (_what, data) => {
    const { run, configFile } = install();
    const before = readFileSync(configFile, 'utf8');
    run('config', { userData: data });
    expect(readFileSync(configFile, 'utf8')).toBe(before);
  });

  const hasPython = spawnSync('python3', ['--version']).status === 0;
  (hasPython ? describe : describe.skip)('scheduled events (needs python3, as on Ubuntu)', () => {
    const terminate = (vm: string) => ({
      DocumentIncarnation: 2,
      Events: [{ EventId: 'A1B2', EventType: 'Terminate', ResourceType: 'VirtualMachine', Resources: [vm], EventStatus: 'Scheduled' }],
    });

    it('GIVEN a Terminate event for this VM WHEN the agent runs THEN it stops the gateway (drain) and then acknowledges', () => {
      const { run } = install();
      run('drain', { events: terminate('lg-gw_3') });
      expect(read('systemctl')).toBe('stop linkgate.service\n');
      expect(JSON.parse(read('posts'))).toEqual({ StartRequests: [{ EventId: 'A1B2' }] });
    });

    it('GIVEN a Terminate event for another VM WHEN the agent runs THEN it does nothing', () => {
      const { run } = install();
      run('drain', { events: terminate('lg-gw_7') });
      expect(read('systemctl')).toBe('');
      expect(read('posts')).toBe('');
    });

    it('GIVEN a drained VM whose event was cancelled WHEN the agent runs THEN the gateway starts again', () => {
      const { run } = install();
      run('drain', { events: terminate('lg-gw_3') });
      run('drain', { events: terminate('lg-gw_3') }); // still listed: no second stop
      run('drain', {});
      expect(read('systemctl')).toBe('stop linkgate.service\nstart --no-block linkgate.service\n');
    });
  });

  it('GIVEN an unknown mode THEN it refuses', () => {
    install();
    const result = spawnSync('bash', [join(dir, 'agent'), 'bogus'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/usage: .* \[config\|drain\|all\]/);
  });
});
