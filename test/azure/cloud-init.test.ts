/**
 * What the gateway VMs receive: the cloud-init in custom data and the model in user data, decoded
 * the way the VM decodes them; and the scripts cloud-init installs, run in a sandbox against
 * stand-ins for the Instance Metadata Service, the registry, Docker and systemd.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  AGENT_PATH,
  CLIENT_ID_PATH,
  CONFIG_PATH,
  CONFIG_URL_PATH,
  CUSTOM_DATA_LIMIT_BYTES,
  GATEWAY_SCRIPT_PATH,
  IMAGE_PATH,
  REGISTRY_LOGIN_PATH,
  USER_DATA_LIMIT_BYTES,
  type GatewayModel,
  type GatewayScaleSetProps,
  type PrivateLinkLoadBalancerProps,
} from '../../lib/azure';
import { parseConfigText, validateGatewayConfig } from '../../lib/tenants';
import {
  IMAGE,
  TENANTS,
  decodeCustomData,
  gatewayScaleSet,
  manyTenants,
  onlyResource,
  synth,
  warningsOf,
  writeFile,
  type CloudConfig,
} from './fixtures';
import { describeWithPeer } from '../helpers/peers';

/** Synthesizes a gateway and decodes the scale set's custom data and user data. */
function deployed(props: Partial<GatewayScaleSetProps> = {}, lb: Partial<PrivateLinkLoadBalancerProps> = {}) {
  const { doc, value } = synth((scope) => gatewayScaleSet(scope, { props, lb }));
  const vmss = onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set');
  const customData = vmss.custom_data as string;
  const userData = vmss.user_data as string;
  const { text, config: cloudConfig } = decodeCustomData(customData);
  // Object-store delivery: user data is a Terraform expression (it names deploy-time values).
  const model = (userData.startsWith('${') ? value.cloudInit.model : JSON.parse(Buffer.from(userData, 'base64').toString('utf8'))) as GatewayModel;
  return { vmss, customData, userData, model, cloudInitText: text, cloudConfig, construct: value };
}

/** The config file as cloud-init writes it: `encoding: gz+b64` content, gunzipped. */
function configFileFromCloudInit(cloudConfig: CloudConfig): string {
  const file = writeFile(cloudConfig, CONFIG_PATH);
  expect(file.encoding).toBe('gz+b64');
  return gunzipSync(Buffer.from(file.content, 'base64')).toString('utf8');
}

const unitFile = (cloudConfig: CloudConfig) => writeFile(cloudConfig, '/etc/systemd/system/linkgate.service').content;
// The agent is a python3 script (as on Ubuntu images): without python3 these tests fail in CI, never skip.
const withPython = (title: string, body: () => void) => describeWithPeer('python3', title, body);

describe('gateway cloud-init (custom data)', () => {
  const { cloudConfig, cloudInitText } = deployed();

  it('GIVEN the scale set on an image that ships Docker WHEN its custom data is decoded THEN it is a cloud-config that installs nothing', () => {
    expect(cloudInitText.split('\n')[0]).toBe('#cloud-config');
    expect(cloudConfig.package_update).toBeUndefined();
    expect(cloudConfig.packages).toBeUndefined();
  });

  it('GIVEN the Ubuntu platform image (outboundAccess natGateway) THEN cloud-init installs Docker from the Ubuntu archive', () => {
    const ubuntu = deployed({ sourceImageId: undefined, outboundAccess: 'natGateway' }).cloudConfig;
    expect(ubuntu.package_update).toBe(true);
    expect(ubuntu.packages).toEqual(['docker.io']);
    expect(ubuntu.runcmd[0]).toEqual(['systemctl', 'daemon-reload']);
  });

  it('THEN the container logs to syslog facility local0, which journald forwards to rsyslog (where the Azure Monitor Agent collects it)', () => {
    expect(writeFile(cloudConfig, '/etc/systemd/journald.conf.d/linkgate.conf').content).toBe('[Journal]\nForwardToSyslog=yes\n');
    expect(writeFile(cloudConfig, GATEWAY_SCRIPT_PATH).content).toContain('--log-driver syslog --log-opt syslog-facility=local0 --log-opt tag=linkgate');
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

  it('THEN it names the pinned image for the gateway unit', () => {
    expect(writeFile(cloudConfig, IMAGE_PATH).content).toBe(`${IMAGE}\n`);
  });

  it('THEN the gateway keeps accepting after SIGTERM until the probe has taken it out (interval x (threshold + 1))', () => {
    const config = JSON.parse(configFileFromCloudInit(cloudConfig));
    expect(config.shutdown).toEqual({ drainDelayMs: 5 * 3 * 1000, drainTimeoutMs: 25_000 });
  });

  it('THEN a systemd unit takes the current model, logs in, pulls and runs the gateway, restarting forever', () => {
    const unit = unitFile(cloudConfig);
    const exec = unit.split('\n').filter((l) => l.startsWith('Exec'));
    expect(exec).toEqual([
      `ExecStartPre=-${AGENT_PATH} config`,
      'ExecStartPre=-/usr/bin/docker rm --force linkgate',
      `ExecStartPre=-${REGISTRY_LOGIN_PATH}`,
      `ExecStartPre=-${GATEWAY_SCRIPT_PATH} pull`,
      `ExecStart=${GATEWAY_SCRIPT_PATH} run`,
      expect.stringMatching(/^ExecStop=\/usr\/bin\/docker stop --time \d+ linkgate$/),
    ]);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
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
      // Nothing is installed: an image without Docker says so in the journal.
      ['sh', '-c', expect.stringMatching(/^command -v docker >\/dev\/null \|\| logger -p user\.err -t linkgate "this image has no Docker/)],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'restart', 'systemd-journald.service'],
      ['systemctl', 'enable', '--now', 'docker.service'],
      ['systemctl', 'enable', '--now', 'linkgate-agent.timer'],
      ['systemctl', 'enable', '--now', '--no-block', 'linkgate.service'],
    ]);
    expect(writeFile(cloudConfig, '/etc/systemd/system/linkgate-agent.timer').content).toMatch(/^OnUnitActiveSec=10s$/m);
    expect(writeFile(cloudConfig, '/etc/systemd/system/linkgate-agent.service').content).toMatch(/^ExecStart=\/usr\/local\/lib\/linkgate\/agent all$/m);
  });

  it('THEN every script it installs is valid bash', () => {
    const scripts = cloudConfig.write_files.filter((f) => f.content.startsWith('#!/bin/bash'));
    expect(scripts.map((f) => f.path).sort()).toEqual([AGENT_PATH, GATEWAY_SCRIPT_PATH, REGISTRY_LOGIN_PATH]);
    for (const script of scripts) {
      expect(script.permissions).toBe('0755');
      const result = spawnSync('bash', ['-n'], { input: script.content, encoding: 'utf8' });
      expect({ path: script.path, stderr: result.stderr, status: result.status }).toEqual({ path: script.path, stderr: '', status: 0 });
    }
  });

  describe('GIVEN slower probes and a longer drain', () => {
    const { cloudConfig: slow } = deployed({ drainTimeoutSec: 120 }, { probeIntervalSec: 10, probeThreshold: 3 });

    it('THEN the drain delay and docker stop follow', () => {
      const config = JSON.parse(configFileFromCloudInit(slow));
      expect(config.shutdown).toEqual({ drainDelayMs: 40_000, drainTimeoutMs: 120_000 });
      expect(unitFile(slow)).toMatch(/^ExecStop=\/usr\/bin\/docker stop --time 170 linkgate$/m);
    });
  });

  describe('GIVEN a drain delay of its own', () => {
    const { cloudConfig: own } = deployed({ drainDelaySec: 20, drainTimeoutSec: 30 }, { probeIntervalSec: 10, probeThreshold: 3 });

    it('THEN it replaces the one derived from the probe, and docker stop follows', () => {
      const config = JSON.parse(configFileFromCloudInit(own));
      expect(config.shutdown).toEqual({ drainDelayMs: 20_000, drainTimeoutMs: 30_000 });
      expect(unitFile(own)).toMatch(/^ExecStop=\/usr\/bin\/docker stop --time 60 linkgate$/m);
    });
  });
});

describe('the model in user data', () => {
  const { cloudConfig, model } = deployed();

  it('GIVEN the scale set WHEN its user data is decoded THEN it names the image and holds the same config, as gzip+base64 text the gateway reads', () => {
    expect(Object.keys(model)).toEqual(['image', 'config']);
    expect(model.image).toBe(IMAGE);
    expect(model.config!.startsWith('gzip+base64:')).toBe(true);
    const fromUserData = parseConfigText(model.config!);
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
    const config = parseConfigText(after.model.config!);
    expect(config.ok && config.value.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech', 'globex']);
  });

  it('WHEN nothing changes THEN synth is byte-for-byte the same (no upgrade without a reason)', () => {
    expect(deployed().vmss).toEqual(deployed().vmss);
  });
});

describe('config size for 1,000 tenants, inline (configDelivery inline)', () => {
  const tenants = manyTenants(1000);
  const { customData, userData, construct, cloudConfig } = deployed({ tenants, configDelivery: 'inline' });

  it('GIVEN 1,000 tenants (uint32 LinkID, two hostnames, one subscription each) THEN custom data and user data fit Azure\'s 64 KB with room to spare', () => {
    expect(customData.length).toBeLessThanOrEqual(CUSTOM_DATA_LIMIT_BYTES * 0.8);
    expect(userData.length).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES * 0.8);
    expect(warningsOf(construct)).toEqual([]);
  });

  it('THEN the gateway still reads all 1,000 from the file cloud-init writes', () => {
    const loaded = parseConfigText(configFileFromCloudInit(cloudConfig));
    expect(loaded.ok && loaded.value.tenants.length).toBe(1000);
  });

  it('GIVEN 1,500 tenants THEN synth warns that the limit is near', () => {
    const near = deployed({ tenants: manyTenants(1500), configDelivery: 'inline' });
    expect(warningsOf(near.construct)).toContainEqual(
      expect.stringMatching(/^custom data \(cloud-init\) is \d+ of 65535 bytes \(\d+%\) with 1500 tenants; switch to configDelivery: 'objectStore'/),
    );
  });

  it('GIVEN 3,000 tenants THEN synth fails with the sizes, the limit and what to do', () => {
    expect(() => deployed({ tenants: manyTenants(3000), configDelivery: 'inline' })).toThrow(
      /Gateway: custom data \(cloud-init\) is \d+ bytes as base64, over Azure's limit of 65535; user data \(gateway config\) is \d+ bytes as base64, over Azure's limit of 65535\. The gateway config of 3000 tenants compresses to \d+ bytes; use configDelivery: 'objectStore'/,
    );
  });
});

/**
 * A gateway VM in a temporary directory: cloud-init's files written under it (the scripts' absolute
 * paths moved there too), and stand-ins on PATH for curl (the Instance Metadata Service and the
 * registry), docker, logger and systemctl, each recording what it was asked.
 */
class Sandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'linkgate-vm-'));
  userData?: string;
  events: unknown = { DocumentIncarnation: 1, Events: [] };

  constructor(cloudConfig: CloudConfig) {
    for (const file of cloudConfig.write_files) {
      const content =
        file.encoding === 'gz+b64' ? gunzipSync(Buffer.from(file.content, 'base64')).toString('utf8') : this.relocate(file.content);
      this.write(file.path, content, parseInt(file.permissions ?? '0644', 8));
    }
    const stub = (name: string, body: string) => this.write(`/bin/${name}`, `#!/bin/bash\n${body}\n`, 0o755);
    stub(
      'curl',
      [
        'args="$*"; url=${@: -1}; post=0; body=',
        'while [[ $# -gt 0 ]]; do case $1 in -X) [[ $2 == POST ]] && post=1; shift ;; -d) body=$2; shift ;; esac; shift; done',
        `printf '%s\\n' "$args" >>${this.root}/curl.log`,
        'case $url in',
        `  *compute/userData*) [[ -f ${this.root}/imds-userdata ]] && cat ${this.root}/imds-userdata || exit 22 ;;`,
        '  *compute/name*) printf lg-gw_3 ;;',
        `  *scheduledevents*) if ((post)); then printf '%s\\n' "$body" >>${this.root}/posts; else cat ${this.root}/imds-events; fi ;;`,
        `  *identity/oauth2/token*) printf '{"access_token": "entra-token"}' ;;`,
        `  https://*/oauth2/exchange) printf '%s' "$(cat)" >${this.root}/exchanged-token; printf '{"refresh_token": "acr-refresh-token"}' ;;`,
        '  *) exit 22 ;;',
        'esac',
      ].join('\n'),
    );
    stub('docker', `printf '%s\\n' "$*" >>${this.root}/docker.log; [[ $1 != login ]] || cat >${this.root}/docker-password`);
    stub('logger', `shift 3; printf '%s\\n' "$*" >>${this.root}/log`);
    stub('systemctl', `printf '%s\\n' "$*" >>${this.root}/systemctl`);
  }

  /** The scripts' absolute paths, moved into the sandbox; a script whose paths move fails here. */
  private relocate(script: string): string {
    return script
      .replaceAll('/etc/linkgate/', `${this.root}/etc/linkgate/`)
      .replaceAll('/run/linkgate/', `${this.root}/run/linkgate/`)
      .replaceAll('/usr/bin/docker', `${this.root}/bin/docker`);
  }

  private write(path: string, content: string, mode: number): void {
    const full = join(this.root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content, { mode });
  }

  run(script: string, ...args: string[]): { status: number | null; stderr: string } {
    rmSync(join(this.root, 'imds-userdata'), { force: true });
    if (this.userData !== undefined) writeFileSync(join(this.root, 'imds-userdata'), this.userData);
    writeFileSync(join(this.root, 'imds-events'), JSON.stringify(this.events));
    const result = spawnSync('bash', [join(this.root, script), ...args], {
      env: { ...process.env, PATH: `${this.root}/bin:${process.env.PATH}` },
      encoding: 'utf8',
    });
    return { status: result.status, stderr: result.stderr };
  }

  read(path: string): string {
    const full = join(this.root, path);
    return existsSync(full) ? readFileSync(full, 'utf8') : '';
  }

  stat(path: string) {
    return statSync(join(this.root, path));
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

describe('the scripts on a gateway VM', () => {
  const booted = deployed();
  const newTenant = deployed({ tenants: [...TENANTS, { name: 'globex', hostnames: ['globex.api.example.com'], open: true }] });
  const newImage = deployed({ image: 'linkgatetest.azurecr.io/linkgate:0.2.0' });
  const outsideAcr = deployed({ image: 'ghcr.io/acme/linkgate:1.2.3', acrId: undefined, outboundAccess: 'natGateway' });
  let vm: Sandbox;
  const boot = (d = booted) => (vm = new Sandbox(d.cloudConfig));
  afterEach(() => vm?.dispose());

  it('GIVEN a freshly provisioned VM THEN the files are where the unit expects them (relocation is complete)', () => {
    boot();
    const agent = vm.read(AGENT_PATH);
    expect(agent).not.toMatch(/(?<![\w/-])\/etc\/linkgate\//);
    expect(agent).toContain(`${vm.root}/etc/linkgate/config.json`);
    expect(vm.read(GATEWAY_SCRIPT_PATH)).toContain(`${vm.root}/bin/docker run`);
  });

  withPython('the agent (needs python3, as on Ubuntu)', () => {
    it('GIVEN user data of the model the VM booted from WHEN the agent runs THEN nothing changes and nothing restarts', () => {
      boot();
      vm.userData = booted.userData;
      const before = vm.stat(CONFIG_PATH);
      expect(vm.run(AGENT_PATH, 'all').status).toBe(0);
      const after = vm.stat(CONFIG_PATH);
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
      expect(vm.read('log')).toBe('');
      expect(vm.read('systemctl')).toBe('');
    });

    it('GIVEN a new tenant in user data WHEN the agent runs THEN the config is replaced by rename and the gateway is not restarted (it reloads live)', () => {
      boot();
      vm.userData = newTenant.userData;
      const before = vm.stat(CONFIG_PATH);
      vm.run(AGENT_PATH, 'all');
      const after = vm.stat(CONFIG_PATH);
      expect(after.ino).not.toBe(before.ino);
      expect(after.mode & 0o777).toBe(0o644);
      const loaded = parseConfigText(vm.read(CONFIG_PATH));
      expect(loaded.ok && loaded.value.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech', 'globex']);
      expect(vm.read('log')).toMatch(/^applied a new gateway config from user data \(sha256 [0-9a-f]{16}\)\n$/);
      expect(vm.read('systemctl')).toBe('');
    });

    it('GIVEN a new image in user data WHEN the timer runs the agent THEN the image file changes and the gateway restarts (draining)', () => {
      boot();
      vm.userData = newImage.userData;
      vm.run(AGENT_PATH, 'all');
      expect(vm.read(IMAGE_PATH)).toBe('linkgatetest.azurecr.io/linkgate:0.2.0\n');
      expect(vm.read('systemctl')).toBe('restart --no-block linkgate.service\n');
    });

    it('GIVEN a new image WHEN the agent runs before a start (ExecStartPre) THEN it updates the files but restarts nothing', () => {
      boot();
      vm.userData = newImage.userData;
      vm.run(AGENT_PATH, 'config');
      expect(vm.read(IMAGE_PATH)).toBe('linkgatetest.azurecr.io/linkgate:0.2.0\n');
      expect(vm.read('systemctl')).toBe('');
    });

    it('GIVEN changed listeners (a public path) WHEN the agent runs THEN the gateway restarts, since listeners do not reload', () => {
      boot();
      const withPublic = JSON.parse(configFileFromCloudInit(booted.cloudConfig));
      withPublic.listeners.public = { port: 9443, host: '0.0.0.0' };
      const config = `gzip+base64:${gzipSync(JSON.stringify(withPublic)).toString('base64')}`;
      vm.userData = Buffer.from(JSON.stringify({ image: IMAGE, config })).toString('base64');
      vm.run(AGENT_PATH, 'all');
      expect(vm.read('systemctl')).toBe('restart --no-block linkgate.service\n');
    });

    it.each([
      ['no user data', undefined],
      ['user data that is not ours', Buffer.from('#!/bin/sh\necho hi\n').toString('base64')],
      ['a model without an image', Buffer.from(JSON.stringify({ config: 'gzip+base64:H4sI' })).toString('base64')],
      ['a corrupt config', Buffer.from(JSON.stringify({ image: IMAGE, config: 'gzip+base64:bm90IGd6aXA=' })).toString('base64')],
    ])('GIVEN %s WHEN the agent runs THEN the current config and image stay', (_what, data) => {
      boot();
      const before = [vm.read(CONFIG_PATH), vm.read(IMAGE_PATH)];
      vm.userData = data;
      expect(vm.run(AGENT_PATH, 'all').status).toBe(0);
      expect([vm.read(CONFIG_PATH), vm.read(IMAGE_PATH)]).toEqual(before);
      expect(vm.read('systemctl')).toBe('');
    });

    const terminate = (resource: string) => ({
      DocumentIncarnation: 2,
      Events: [{ EventId: 'A1B2', EventType: 'Terminate', ResourceType: 'VirtualMachine', Resources: [resource], EventStatus: 'Scheduled' }],
    });

    it('GIVEN a Terminate event for this VM WHEN the agent runs THEN it stops the gateway (drain) and then acknowledges', () => {
      boot();
      vm.events = terminate('lg-gw_3');
      vm.run(AGENT_PATH, 'all');
      expect(vm.read('systemctl')).toBe('stop linkgate.service\n');
      expect(JSON.parse(vm.read('posts'))).toEqual({ StartRequests: [{ EventId: 'A1B2' }] });
    });

    it('GIVEN a Terminate event for another VM WHEN the agent runs THEN it does nothing', () => {
      boot();
      vm.events = terminate('lg-gw_7');
      vm.run(AGENT_PATH, 'all');
      expect(vm.read('systemctl')).toBe('');
      expect(vm.read('posts')).toBe('');
    });

    it('GIVEN a drained VM whose event was cancelled WHEN the agent runs THEN the gateway starts again', () => {
      boot();
      vm.events = terminate('lg-gw_3');
      vm.run(AGENT_PATH, 'all');
      vm.run(AGENT_PATH, 'all'); // still listed: no second stop
      vm.events = { DocumentIncarnation: 3, Events: [] };
      vm.run(AGENT_PATH, 'all');
      expect(vm.read('systemctl')).toBe('stop linkgate.service\nstart --no-block linkgate.service\n');
    });

    it('GIVEN the gateway script WHEN the unit runs it THEN it runs the current image on the host network with the config directory read-only', () => {
      boot();
      vm.run(GATEWAY_SCRIPT_PATH, 'pull');
      vm.run(GATEWAY_SCRIPT_PATH, 'run');
      expect(vm.read('docker.log').split('\n')).toEqual([
        `pull ${IMAGE}`,
        'run --rm --name linkgate --network host --log-driver syslog --log-opt syslog-facility=local0 --log-opt tag=linkgate ' +
          '--ulimit nofile=1048576:1048576 ' +
          `--volume /etc/linkgate:/etc/linkgate:ro --env LINKGATE_CONFIG_FILE=${vm.root}/etc/linkgate/config.json ` +
          `--env LINKGATE_HEALTH_PORT=8080 --env-file ${vm.root}/etc/linkgate/gateway.env ${IMAGE} serve`,
        '',
      ]);
    });

    describe('GIVEN object-store delivery', () => {
      const url = 'https://lggwstore.blob.core.windows.net/linkgate-config/config.json';
      const clientId = '0a1b2c3d-0000-4000-8000-000000000001';
      const store = deployed({ configDelivery: 'objectStore' });
      const modelData = (m: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...store.model, configUrl: url, clientId, ...m })).toString('base64');

      it('THEN cloud-init writes no config file, and the model names the listeners', () => {
        expect(store.cloudConfig.write_files.map((f) => f.path)).not.toContain(CONFIG_PATH);
        expect(store.model).toEqual({ image: IMAGE, listeners: expect.objectContaining({ health: expect.objectContaining({ port: 8080 }) }) });
      });

      it('WHEN the unit starts (agent config, then the gateway script) THEN the container gets the URL, the identity and the health port', () => {
        boot(store);
        vm.userData = modelData({});
        expect(vm.run(AGENT_PATH, 'config').status).toBe(0);
        expect(vm.read('systemctl')).toBe('');
        expect([vm.read(CONFIG_URL_PATH), vm.read(CLIENT_ID_PATH)]).toEqual([`${url}\n`, `${clientId}\n`]);
        vm.run(GATEWAY_SCRIPT_PATH, 'run');
        expect(vm.read('docker.log')).toContain(
          `--env LINKGATE_CONFIG_URL=${url} --env LINKGATE_AZURE_CLIENT_ID=${clientId} --env LINKGATE_HEALTH_PORT=8080 `,
        );
        expect(vm.read('docker.log')).not.toContain('LINKGATE_CONFIG_FILE');
      });

      it('WHEN the same model comes again THEN nothing restarts; WHEN the URL changes THEN the gateway restarts', () => {
        boot(store);
        vm.userData = modelData({});
        vm.run(AGENT_PATH, 'config');
        vm.run(AGENT_PATH, 'all');
        expect(vm.read('systemctl')).toBe('');
        vm.userData = modelData({ configUrl: url.replace('lggwstore', 'other') });
        vm.run(AGENT_PATH, 'all');
        expect(vm.read('systemctl')).toBe('restart --no-block linkgate.service\n');
      });

      it('WHEN the model goes back to inline THEN the URL is dropped and the gateway restarts on the file', () => {
        boot(store);
        vm.userData = modelData({});
        vm.run(AGENT_PATH, 'config');
        vm.userData = booted.userData;
        vm.run(AGENT_PATH, 'all');
        expect(vm.read(CONFIG_URL_PATH)).toBe('');
        expect(vm.read(CONFIG_PATH)).not.toBe('');
        expect(vm.read('systemctl')).toBe('restart --no-block linkgate.service\n');
      });
    });

    it('GIVEN an image in ACR WHEN the registry login runs THEN it trades the identity\'s token for an ACR token via stdin and logs Docker in', () => {
      boot();
      expect(vm.run(REGISTRY_LOGIN_PATH).status).toBe(0);
      expect(vm.read('curl.log')).toMatch(/metadata\/identity\/oauth2\/token\?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement\.azure\.com%2F/);
      expect(vm.read('curl.log')).toContain('--data-urlencode access_token@- https://linkgatetest.azurecr.io/oauth2/exchange');
      expect(vm.read('curl.log')).not.toContain('entra-token');
      expect(vm.read('exchanged-token')).toBe('entra-token');
      expect(vm.read('docker.log')).toBe('login linkgatetest.azurecr.io --username 00000000-0000-0000-0000-000000000000 --password-stdin\n');
      expect(vm.read('docker-password')).toBe('acr-refresh-token');
    });
  });

  it('GIVEN an image outside ACR WHEN the registry login runs THEN it does nothing', () => {
    boot(outsideAcr);
    expect(vm.run(REGISTRY_LOGIN_PATH).status).toBe(0);
    expect(vm.read('curl.log')).toBe('');
    expect(vm.read('docker.log')).toBe('');
  });

  it('GIVEN an unknown mode THEN the agent and the gateway script refuse', () => {
    boot();
    expect(vm.run(AGENT_PATH, 'bogus')).toEqual({ status: 2, stderr: expect.stringMatching(/usage: .* \[config\|all\]/) });
    expect(vm.run(GATEWAY_SCRIPT_PATH, 'bogus')).toEqual({ status: 2, stderr: expect.stringMatching(/usage: .* pull\|run/) });
  });
});
