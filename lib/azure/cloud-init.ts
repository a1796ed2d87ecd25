/**
 * What runs on each gateway VM, rendered at synth time (pure: no cdktf, so tests can call it).
 *
 * Two payloads, both derived from the same rendered gateway config:
 * - custom data: a cloud-config that installs Docker from the Ubuntu archive, writes the gateway
 *   config to /etc/linkgate/config.json, and runs the gateway container as a systemd unit that
 *   restarts it forever, plus an agent timer. Azure hands custom data to a VM once, at
 *   provisioning; a model update does not reach VMs that already exist.
 * - user data: the same config as `gzip+base64:` text. Unlike custom data, user data follows the
 *   scale-set model to existing VMs (Instance Metadata Service, no reboot), so the agent applies a
 *   changed config in place and the gateway reloads it live.
 *
 * Limits. Custom data: "The maximum length of the binary array is 65535 bytes" (Compute REST API,
 * OSProfile.customData, learn.microsoft.com/rest/api/compute/virtual-machine-scale-sets/create-or-update);
 * "The size can't exceed 64 KB" (learn.microsoft.com/azure/virtual-machines/custom-data). User data:
 * "The size can't exceed 64 KB" (learn.microsoft.com/azure/virtual-machines/user-data), without
 * saying whether before or after base64. We hold the base64 text as sent to the stricter reading
 * of both: at most 65,535 characters each.
 */
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { GZIP_BASE64_PREFIX, encodeInlineConfig } from '../tenants';

export const CUSTOM_DATA_LIMIT_BYTES = 65_535;
export const USER_DATA_LIMIT_BYTES = 65_535;

export const CONFIG_PATH = '/etc/linkgate/config.json';
export const AGENT_PATH = '/usr/local/lib/linkgate/agent';
export const REGISTRY_LOGIN_PATH = '/usr/local/lib/linkgate/registry-login';
export const GATEWAY_UNIT = 'linkgate.service';
export const CONTAINER_NAME = 'linkgate';

/** Ubuntu 22.04 LTS (Gen2), a platform image that supports automatic OS image upgrades. */
export const DEFAULT_SOURCE_IMAGE = {
  publisher: 'Canonical',
  offer: '0001-com-ubuntu-server-jammy',
  sku: '22_04-lts-gen2',
  version: 'latest',
} as const;

/**
 * A container image reference: registry host (optional port), repository path, and a tag and/or
 * digest. Kept strict because it is written into a systemd unit (no spaces, quotes, `%` or `$`).
 */
export const IMAGE_REFERENCE_PATTERN =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/** The registry host of an image reference, or undefined for Docker Hub's implicit registry. */
export function imageRegistry(image: string): string | undefined {
  const slash = image.indexOf('/');
  if (slash < 0) return undefined;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/** Azure Container Registry login servers (public and sovereign clouds). */
export function isAcrLoginServer(host: string | undefined): boolean {
  return host !== undefined && /\.azurecr\.(?:io|cn|us)$/.test(host);
}

export interface GatewayCloudInitOptions {
  /** Container image reference, e.g. myregistry.azurecr.io/linkgate:0.1.0. */
  readonly image: string;
  /** The rendered gateway config (compact JSON from renderGatewayConfig). */
  readonly configJson: string;
  /** Health listener port, passed to the image's HEALTHCHECK. */
  readonly healthPort: number;
  /** Seconds `docker stop` gives the gateway to drain before killing it. */
  readonly stopTimeoutSec: number;
  /** Seconds between agent runs (config from user data, drain before scheduled events). */
  readonly agentIntervalSec: number;
  /** Log Docker in to this Azure Container Registry with the VM's managed identity before pulls. */
  readonly acrLoginServer?: string;
}

export interface RenderedCloudInit {
  /** The cloud-config document (`#cloud-config` first line). */
  readonly cloudConfig: string;
  /** base64 of cloudConfig: the scale set's custom_data. */
  readonly customData: string;
  /** The config as `gzip+base64:...` text (the gateway reads this form too). */
  readonly inlineConfig: string;
  /** base64 of inlineConfig: the scale set's user_data. */
  readonly userData: string;
  /** sha256 of the config JSON, hex. */
  readonly configSha256: string;
}

export function renderGatewayCloudInit(options: GatewayCloudInitOptions): RenderedCloudInit {
  const inlineConfig = encodeInlineConfig(options.configJson);
  const gzipBase64 = inlineConfig.slice(GZIP_BASE64_PREFIX.length);

  const writeFiles: Record<string, unknown>[] = [
    {
      path: CONFIG_PATH,
      owner: 'root:root',
      // The container runs as an unprivileged user and reads the file through a read-only mount.
      permissions: '0644',
      encoding: 'gz+b64',
      content: gzipBase64,
    },
    { path: AGENT_PATH, owner: 'root:root', permissions: '0755', content: agentScript() },
  ];
  if (options.acrLoginServer !== undefined) {
    writeFiles.push({ path: REGISTRY_LOGIN_PATH, owner: 'root:root', permissions: '0755', content: registryLoginScript() });
  }
  writeFiles.push(
    { path: `/etc/systemd/system/${GATEWAY_UNIT}`, owner: 'root:root', permissions: '0644', content: gatewayUnit(options) },
    { path: '/etc/systemd/system/linkgate-agent.service', owner: 'root:root', permissions: '0644', content: agentServiceUnit() },
    {
      path: '/etc/systemd/system/linkgate-agent.timer',
      owner: 'root:root',
      permissions: '0644',
      content: agentTimerUnit(options.agentIntervalSec),
    },
  );

  const document = {
    package_update: true,
    // Docker from the Ubuntu archive: no third-party apt repository to trust or reach.
    packages: ['docker.io'],
    write_files: writeFiles,
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'docker.service'],
      ['systemctl', 'enable', '--now', 'linkgate-agent.timer'],
      // --no-block: the first image pull must not hold up the end of provisioning.
      ['systemctl', 'enable', '--now', '--no-block', GATEWAY_UNIT],
    ],
  };
  const cloudConfig = `#cloud-config\n${YAML.stringify(document, { lineWidth: 0 })}`;
  return {
    cloudConfig,
    customData: Buffer.from(cloudConfig, 'utf8').toString('base64'),
    inlineConfig,
    userData: Buffer.from(inlineConfig, 'utf8').toString('base64'),
    configSha256: createHash('sha256').update(options.configJson).digest('hex'),
  };
}

function gatewayUnit(o: GatewayCloudInitOptions): string {
  const login =
    o.acrLoginServer !== undefined ? [`ExecStartPre=-${REGISTRY_LOGIN_PATH} ${o.acrLoginServer}`] : [];
  return [
    '[Unit]',
    'Description=linkgate filtering gateway (container)',
    'Requires=docker.service',
    'After=docker.service network-online.target',
    'Wants=network-online.target',
    // Never stop retrying: the first start can precede the image push or the AcrPull role grant.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    // Take the newest config of this VM's model before starting (covers a reboot during an upgrade).
    `ExecStartPre=-${AGENT_PATH} config`,
    `ExecStartPre=-/usr/bin/docker rm --force ${CONTAINER_NAME}`,
    ...login,
    // "-": with the registry unreachable, a cached image still starts.
    `ExecStartPre=-/usr/bin/docker pull ${o.image}`,
    [
      'ExecStart=/usr/bin/docker run --rm',
      `--name ${CONTAINER_NAME}`,
      // Host networking: the listeners bind the NIC directly and the NSG rules apply to them.
      '--network host',
      '--log-driver journald',
      '--ulimit nofile=1048576:1048576',
      // The directory, not the file, is mounted: an atomic rename of config.json is then visible
      // inside the container, and the gateway reloads it.
      '--volume /etc/linkgate:/etc/linkgate:ro',
      `--env LINKGATE_CONFIG_FILE=${CONFIG_PATH}`,
      `--env LINKGATE_HEALTH_PORT=${o.healthPort}`,
      o.image,
      'serve',
    ].join(' '),
    // SIGTERM: /readyz fails, the probe takes the VM out of rotation, connections drain.
    `ExecStop=/usr/bin/docker stop --time ${o.stopTimeoutSec} ${CONTAINER_NAME}`,
    'Restart=always',
    'RestartSec=5',
    'TimeoutStartSec=infinity',
    `TimeoutStopSec=${o.stopTimeoutSec + 30}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function agentServiceUnit(): string {
  return [
    '[Unit]',
    'Description=linkgate agent: gateway config from user data, drain before scheduled events',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${AGENT_PATH} all`,
    '',
  ].join('\n');
}

function agentTimerUnit(intervalSec: number): string {
  return [
    '[Unit]',
    `Description=Run the linkgate agent every ${intervalSec} s`,
    '',
    '[Timer]',
    'OnBootSec=30s',
    `OnUnitActiveSec=${intervalSec}s`,
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** Runs on the VM as root. Written once here; `bash -n` checks it in the tests. */
function agentScript(): string {
  return `#!/bin/bash
# linkgate agent: keeps this gateway VM in step with its scale-set model.
#   config  apply the gateway config held in this VM's user data (Instance Metadata Service) if it
#           differs from the file; the gateway reloads the file live, so established connections
#           of tenants that are still allowed stay up
#   drain   when Azure schedules a Terminate, Reboot, Redeploy or Preempt for this VM, stop the
#           gateway first (SIGTERM: /readyz fails, the load balancers stop sending new flows,
#           connections drain), then acknowledge the event so the platform need not wait longer
#   all     both
set -uo pipefail
readonly imds=http://169.254.169.254/metadata
readonly config=/etc/linkgate/config.json
readonly prefix='gzip+base64:'
readonly marker=/run/linkgate/drained-for-event

log() { logger -t linkgate-agent -- "$*"; }
imds_get() { curl -sf --max-time 5 -H Metadata:true "$imds/$1"; }

apply_config() {
  local text tmp
  text=$(imds_get 'instance/compute/userData?api-version=2021-01-01&format=text' | base64 -d 2>/dev/null) || return 0
  [[ $text == "$prefix"* ]] || return 0
  tmp=$(mktemp "$config.XXXXXX") || return 1
  if printf '%s' "\${text#"$prefix"}" | base64 -d 2>/dev/null | gzip -dc >"$tmp" 2>/dev/null && [[ -s $tmp ]]; then
    if cmp -s "$tmp" "$config"; then
      rm -f "$tmp"
    else
      chmod 0644 "$tmp"
      # rename(2) is atomic: the gateway reads the old file or the new one, never half of one.
      mv -f "$tmp" "$config"
      log "applied a new gateway config from user data (sha256 $(sha256sum "$config" | cut -c1-16))"
    fi
  else
    rm -f "$tmp"
    log 'user data does not hold a gzip+base64 gateway config; keeping the current file'
  fi
}

drain_if_scheduled() {
  local vm events ids body
  vm=$(imds_get 'instance/compute/name?api-version=2021-02-01&format=text') || return 0
  events=$(imds_get 'scheduledevents?api-version=2020-07-01') || return 0
  ids=$(VM="$vm" python3 -c '
import json, os, sys
for event in json.load(sys.stdin).get("Events", []):
    if event.get("EventType") in ("Terminate", "Reboot", "Redeploy", "Preempt") and os.environ["VM"] in event.get("Resources", []):
        print(event["EventId"])
' <<<"$events") || return 0
  if [[ -z $ids ]]; then
    # A cancelled event must not leave the gateway stopped.
    if [[ -e $marker ]]; then
      rm -f "$marker"
      log 'no scheduled event any more; starting the gateway again'
      systemctl start --no-block linkgate.service
    fi
    return 0
  fi
  if [[ ! -e $marker ]]; then
    log "scheduled event(s) $(echo $ids) for $vm: draining the gateway"
    mkdir -p "\${marker%/*}" && touch "$marker"
    systemctl stop linkgate.service # returns once docker stop has let the gateway drain
  fi
  body=$(python3 -c 'import json, sys; print(json.dumps({"StartRequests": [{"EventId": e} for e in sys.argv[1:]]}))' $ids)
  if curl -sf --max-time 5 -H Metadata:true -X POST -d "$body" "$imds/scheduledevents?api-version=2020-07-01" >/dev/null; then
    log 'acknowledged the scheduled event(s)'
  fi
}

case "\${1:-all}" in
  config) apply_config ;;
  drain) drain_if_scheduled ;;
  all)
    apply_config
    drain_if_scheduled
    ;;
  *)
    echo "usage: $0 [config|drain|all]" >&2
    exit 2
    ;;
esac
`;
}

/** Docker login to Azure Container Registry with the VM's system-assigned managed identity. */
function registryLoginScript(): string {
  return String.raw`#!/bin/bash
# Logs Docker in to an Azure Container Registry with this VM's managed identity: the Instance
# Metadata Service issues a Microsoft Entra token, the registry exchanges it for a refresh token
# (the flow behind "az acr login"). Refresh tokens expire within hours, so the gateway unit runs
# this before every pull.
set -euo pipefail
registry=$1
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
aad=$(curl -sf --max-time 10 -H Metadata:true \
  'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F' |
  json_field access_token)
# Tokens travel on stdin, never on a command line that other local users could read.
refresh=$(printf '%s' "$aad" | curl -sf --max-time 10 -X POST \
  --data-urlencode grant_type=access_token \
  --data-urlencode "service=$registry" \
  --data-urlencode access_token@- \
  "https://$registry/oauth2/exchange" | json_field refresh_token)
printf '%s' "$refresh" | docker login "$registry" --username 00000000-0000-0000-0000-000000000000 --password-stdin >/dev/null
`;
}
