/**
 * What runs on each gateway VM, rendered at synth time (pure: no cdktf, so tests can call it).
 *
 * Two payloads, both derived from the same model (image reference + rendered gateway config):
 * - custom data: a cloud-config that installs Docker from the Ubuntu archive, writes the image
 *   reference and the gateway config under /etc/linkgate, and runs the gateway container as a
 *   systemd unit that restarts it forever, plus an agent timer. Azure hands custom data to a VM
 *   once, at provisioning: a model update never reaches VMs that already exist.
 * - user data: `{"image": ..., "config": "gzip+base64:..."}`. Unlike custom data, user data follows
 *   the scale-set model to existing VMs (Instance Metadata Service, no reboot), so the agent applies
 *   a changed config in place (the gateway reloads it live) and restarts the gateway, draining
 *   first, only when the image or the listeners change.
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
export const IMAGE_PATH = '/etc/linkgate/image';
export const AGENT_PATH = '/usr/local/lib/linkgate/agent';
export const GATEWAY_SCRIPT_PATH = '/usr/local/lib/linkgate/gateway';
export const REGISTRY_LOGIN_PATH = '/usr/local/lib/linkgate/registry-login';
/** Object-store delivery: the config's URL, the identity that reads it, and the listeners (health port, restarts). */
export const CONFIG_URL_PATH = '/etc/linkgate/config-url';
export const CLIENT_ID_PATH = '/etc/linkgate/client-id';
export const LISTENERS_PATH = '/etc/linkgate/listeners.json';
/** Static environment of the container (metrics lines), written by cloud-init. */
export const GATEWAY_ENV_PATH = '/etc/linkgate/gateway.env';
/** syslog facility of the container's stdout/stderr (Docker's syslog log driver); the data collection rule collects it. */
export const GATEWAY_SYSLOG_FACILITY = 'local0';
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
 * digest. Kept strict because it ends up in shell commands on the VMs (no spaces, quotes or `$`).
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
  /** Seconds `docker stop` gives the gateway to drain before killing it. */
  readonly stopTimeoutSec: number;
  /** Seconds between agent runs (model from user data, drain before scheduled events). */
  readonly agentIntervalSec: number;
  /**
   * Install Docker from the Ubuntu archive at boot (needs outbound access). False for an image that
   * ships Docker (no package download at boot).
   * @default true
   */
  readonly installDocker?: boolean;
  /**
   * Where the gateway reads its config: `inline` (written by cloud-init, followed through user data)
   * or `objectStore` (the gateway fetches and polls LINKGATE_CONFIG_URL; user data then names the
   * URL, the identity and the listeners, and is built by the construct).
   * @default 'inline'
   */
  readonly configDelivery?: 'inline' | 'objectStore';
  /**
   * Static environment variables of the gateway container (e.g. the metrics lines' interval and
   * service name). Values must be single-line.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * More boot steps (http mode's certificate copy): files, units enabled and started before the
   * gateway, and read-only volumes (`host:container`) of the gateway container.
   * @default - none
   */
  readonly extras?: BootExtras;
}

/** Boot steps a feature adds to the gateway VMs (http mode's certificates). */
export interface BootExtras {
  readonly writeFiles?: readonly { readonly path: string; readonly permissions: string; readonly content: string }[];
  /** Units enabled and started (e.g. a `.path` or `.timer`) before the gateway unit. */
  readonly enableUnits?: readonly string[];
  /** Read-only volumes of the gateway container, `hostDir:containerDir`. */
  readonly volumes?: readonly string[];
}

/** What user data holds: the parts of the scale-set model a running VM must follow. */
export interface GatewayModel {
  readonly image: string;
  /** The gateway config as `gzip+base64:...` text (inline delivery). */
  readonly config?: string;
  /** Object-store delivery: the config's URL (the gateway polls it). */
  readonly configUrl?: string;
  /** Object-store delivery: client ID of the user-assigned identity that reads the config. */
  readonly clientId?: string;
  /** Object-store delivery: the config's listeners (a change restarts the gateway). */
  readonly listeners?: unknown;
}

export interface RenderedCloudInit {
  /** The cloud-config document (`#cloud-config` first line). */
  readonly cloudConfig: string;
  /** base64 of cloudConfig: the scale set's custom_data. */
  readonly customData: string;
  /** The config as `gzip+base64:...` text (the gateway reads this form too). */
  readonly inlineConfig: string;
  /**
   * base64 of the GatewayModel JSON: the scale set's user_data. With object-store delivery, the
   * model without its deploy-time parts (configUrl, clientId), for sizing: the construct builds the
   * real one.
   */
  readonly userData: string;
  /** The model in user data (object-store delivery: without configUrl and clientId). */
  readonly model: GatewayModel;
  /** sha256 of the config JSON, hex. */
  readonly configSha256: string;
}

export function renderGatewayCloudInit(options: GatewayCloudInitOptions): RenderedCloudInit {
  const inlineConfig = encodeInlineConfig(options.configJson);
  const objectStore = options.configDelivery === 'objectStore';
  const installDocker = options.installDocker ?? true;
  const model: GatewayModel = objectStore
    ? { image: options.image, listeners: (JSON.parse(options.configJson) as { listeners?: unknown }).listeners }
    : { image: options.image, config: inlineConfig };
  const file = (path: string, permissions: string, content: string) => ({ path, owner: 'root:root', permissions, content });
  const environment = Object.entries(options.environment ?? {});
  for (const [name, value] of environment) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || /[\r\n]/.test(value)) throw new Error(`environment ${name}: names are [A-Z0-9_], values one line`);
  }

  const document = {
    // Docker from the Ubuntu archive (no third-party apt repository to trust or reach), unless the
    // image ships it: then nothing is downloaded at boot.
    ...(installDocker ? { package_update: true, packages: ['docker.io'] } : {}),
    write_files: [
      // Object-store delivery: no config in boot data; the agent writes the URL from user data.
      ...(objectStore
        ? []
        : [
            {
              // The container runs as an unprivileged user and reads this through a read-only mount.
              ...file(CONFIG_PATH, '0644', inlineConfig.slice(GZIP_BASE64_PREFIX.length)),
              encoding: 'gz+b64',
            },
          ]),
      file(IMAGE_PATH, '0644', `${options.image}\n`),
      ...(environment.length ? [file(GATEWAY_ENV_PATH, '0644', environment.map(([k, v]) => `${k}=${v}\n`).join(''))] : []),
      // The container logs to syslog (facility local0); journald passes it on to rsyslog, where the
      // Azure Monitor Agent collects it. Stated here rather than left to the image's default.
      file('/etc/systemd/journald.conf.d/linkgate.conf', '0644', '[Journal]\nForwardToSyslog=yes\n'),
      file(AGENT_PATH, '0755', agentScript()),
      file(GATEWAY_SCRIPT_PATH, '0755', gatewayScript(options.extras?.volumes ?? [])),
      file(REGISTRY_LOGIN_PATH, '0755', registryLoginScript()),
      file(`/etc/systemd/system/${GATEWAY_UNIT}`, '0644', gatewayUnit(options.stopTimeoutSec)),
      file('/etc/systemd/system/linkgate-agent.service', '0644', agentServiceUnit()),
      file('/etc/systemd/system/linkgate-agent.timer', '0644', agentTimerUnit(options.agentIntervalSec)),
      ...(options.extras?.writeFiles ?? []).map((f) => file(f.path, f.permissions, f.content)),
    ],
    runcmd: [
      ...(installDocker
        ? []
        : [['sh', '-c', 'command -v docker >/dev/null || logger -p user.err -t linkgate "this image has no Docker: use an image that ships it (nothing is installed at boot)"']]),
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'restart', 'systemd-journald.service'],
      ['systemctl', 'enable', '--now', 'docker.service'],
      ['systemctl', 'enable', '--now', 'linkgate-agent.timer'],
      ...(options.extras?.enableUnits ?? []).map((unit) => ['systemctl', 'enable', '--now', unit]),
      // --no-block: the first image pull must not hold up the end of provisioning.
      ['systemctl', 'enable', '--now', '--no-block', GATEWAY_UNIT],
    ],
  };
  const cloudConfig = `#cloud-config\n${YAML.stringify(document, { lineWidth: 0 })}`;
  return {
    cloudConfig,
    customData: Buffer.from(cloudConfig, 'utf8').toString('base64'),
    inlineConfig,
    userData: Buffer.from(JSON.stringify(model), 'utf8').toString('base64'),
    model,
    configSha256: createHash('sha256').update(options.configJson).digest('hex'),
  };
}

function gatewayUnit(stopTimeoutSec: number): string {
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
    // Take this VM's current model first (covers a reboot in the middle of a rolling upgrade).
    `ExecStartPre=-${AGENT_PATH} config`,
    `ExecStartPre=-/usr/bin/docker rm --force ${CONTAINER_NAME}`,
    `ExecStartPre=-${REGISTRY_LOGIN_PATH}`,
    // "-": with the registry unreachable, a cached image still starts.
    `ExecStartPre=-${GATEWAY_SCRIPT_PATH} pull`,
    `ExecStart=${GATEWAY_SCRIPT_PATH} run`,
    // SIGTERM: /readyz fails, the probes take the VM out of rotation, connections drain.
    `ExecStop=/usr/bin/docker stop --time ${stopTimeoutSec} ${CONTAINER_NAME}`,
    'Restart=always',
    'RestartSec=5',
    'TimeoutStartSec=infinity',
    `TimeoutStopSec=${stopTimeoutSec + 30}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function agentServiceUnit(): string {
  return [
    '[Unit]',
    'Description=linkgate agent: follow the scale-set model, drain before scheduled events',
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

/**
 * Runs on the VM as root. Bash's own `${...}` forms are escaped here as `\${...}`; the tests run
 * `bash -n` on it and run it against a stand-in Instance Metadata Service.
 */
function agentScript(): string {
  return `#!/bin/bash
# linkgate agent: keeps this gateway VM in step with its scale-set model.
#   config  apply the model in this VM's user data (Instance Metadata Service): a changed gateway
#           config replaces ${CONFIG_PATH} atomically and the gateway reloads it live, so
#           established connections of tenants that are still allowed stay up; with object-store
#           delivery the model names the config's URL instead (the gateway polls it); a changed
#           image reference replaces ${IMAGE_PATH}
#   all     the same, then restart the gateway (it drains first) if the image or the listeners
#           changed, which a live reload cannot apply; and when Azure schedules a Terminate,
#           Reboot, Redeploy or Preempt for this VM, stop the gateway first (SIGTERM: /readyz
#           fails, the load balancers stop sending new flows, connections drain), then acknowledge
#           the event so the platform need not wait longer
set -uo pipefail
readonly imds=http://169.254.169.254/metadata
readonly config=${CONFIG_PATH}
readonly image_file=${IMAGE_PATH}
readonly url_file=${CONFIG_URL_PATH}
readonly client_file=${CLIENT_ID_PATH}
readonly listeners_file=${LISTENERS_PATH}
readonly prefix='${GZIP_BASE64_PREFIX}'
readonly marker=/run/linkgate/drained-for-event

log() { logger -t linkgate-agent -- "$*"; }
imds_get() { curl -sf --max-time 5 -H Metadata:true "$imds/$1"; }
# A string field of the JSON document on stdin; fails if absent.
field() { python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; assert isinstance(v, str) and v; print(v)' "$1" 2>/dev/null; }
# The listeners of a gateway config file, normalized for comparison.
listeners() { python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])).get("listeners"), sort_keys=True))' "$1" 2>/dev/null; }

# A JSON object field of the document on stdin, normalized; fails if absent.
object() { python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; assert isinstance(v, dict); print(json.dumps(v, sort_keys=True))' "$1" 2>/dev/null; }
# Replaces a small file when its content differs (atomic rename); true if it did.
replace_file() {
  [[ -e $1 && $(cat "$1") == "$2" ]] && return 1
  printf '%s\\n' "$2" >"$1.new" && mv -f "$1.new" "$1"
}

# Inline delivery: the config itself is in the model.
apply_inline() {
  local text=$1 tmp
  tmp=$(mktemp "$config.XXXXXX") || return 1
  if ! printf '%s' "\${text#"$prefix"}" | base64 -d 2>/dev/null | gzip -dc >"$tmp" 2>/dev/null || [[ ! -s $tmp ]]; then
    rm -f "$tmp"
    log 'user data holds a corrupt gateway config; keeping the current one'
    return 1
  fi
  if cmp -s "$tmp" "$config"; then
    rm -f "$tmp"
  else
    [[ $(listeners "$tmp") == "$(listeners "$config")" ]] || restart=1
    chmod 0644 "$tmp"
    # rename(2) is atomic: the gateway reads the old file or the new one, never half of one.
    mv -f "$tmp" "$config"
    log "applied a new gateway config from user data (sha256 $(sha256sum "$config" | cut -c1-16))"
  fi
  # Back from object-store delivery: the gateway must read the file again.
  if [[ -e $url_file ]]; then
    rm -f "$url_file"
    restart=1
  fi
}

# Object-store delivery: the gateway fetches and polls the config itself; a new URL, identity or
# listeners need a restart.
apply_object_store() {
  local url=$1 listeners_json=$2 client=$3
  if replace_file "$url_file" "$url"; then log "gateway config now comes from $url"; restart=1; fi
  if replace_file "$client_file" "$client"; then restart=1; fi
  if replace_file "$listeners_file" "$listeners_json"; then restart=1; fi
}

apply_model() {
  local mode=$1 doc image text url listeners_json client restart=0
  doc=$(imds_get 'instance/compute/userData?api-version=2021-01-01&format=text' | base64 -d 2>/dev/null) || return 0
  [[ -n $doc ]] || return 0
  if ! image=$(field image <<<"$doc"); then
    log 'user data does not hold a linkgate model; keeping the current one'
    return 0
  fi
  if text=$(field config <<<"$doc") && [[ $text == "$prefix"* ]]; then
    apply_inline "$text" || return 0
  elif url=$(field configUrl <<<"$doc") && listeners_json=$(object listeners <<<"$doc"); then
    client=$(field clientId <<<"$doc") || client=''
    apply_object_store "$url" "$listeners_json" "$client"
  else
    log 'user data does not hold a linkgate model; keeping the current one'
    return 0
  fi
  if [[ $image != "$(cat "$image_file" 2>/dev/null)" ]]; then
    printf '%s\\n' "$image" >"$image_file.new" && mv -f "$image_file.new" "$image_file"
    log "gateway image is now $image"
    restart=1
  fi
  if ((restart)) && [[ $mode == all ]] && [[ ! -e $marker ]]; then
    log 'the image, the listeners or the config source changed: restarting the gateway (it drains first)'
    systemctl restart --no-block ${GATEWAY_UNIT}
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
      systemctl start --no-block ${GATEWAY_UNIT}
    fi
    return 0
  fi
  if [[ ! -e $marker ]]; then
    log "scheduled event(s) \${ids//$'\\n'/ } for $vm: draining the gateway"
    mkdir -p "\${marker%/*}" && touch "$marker"
    systemctl stop ${GATEWAY_UNIT} # returns once docker stop has let the gateway drain
  fi
  body=$(python3 -c 'import json, sys; print(json.dumps({"StartRequests": [{"EventId": e} for e in sys.stdin.read().split()]}))' <<<"$ids")
  if curl -sf --max-time 5 -H Metadata:true -X POST -d "$body" "$imds/scheduledevents?api-version=2020-07-01" >/dev/null; then
    log 'acknowledged the scheduled event(s)'
  fi
}

case "\${1:-all}" in
  config) apply_model config ;;
  all)
    apply_model all
    drain_if_scheduled
    ;;
  *)
    echo "usage: $0 [config|all]" >&2
    exit 2
    ;;
esac
`;
}

/** Pulls and runs the image named in /etc/linkgate/image, which the agent keeps current. */
function gatewayScript(volumes: readonly string[]): string {
  for (const v of volumes) if (!/^\/[\w./-]+:\/[\w./-]+$/.test(v)) throw new Error(`volume ${v}: expected /host/dir:/container/dir`);
  return `#!/bin/bash
# Pulls or runs the gateway container from the image named in ${IMAGE_PATH}; read at each start,
# so a new image (written by the agent) takes effect at the next restart.
set -euo pipefail
image=$(cat ${IMAGE_PATH})
# The image's HEALTHCHECK probes the health listener, wherever the config puts it.
health_port() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["listeners"]["health"]["port"])' ${CONFIG_PATH} 2>/dev/null ||
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["health"]["port"])' ${LISTENERS_PATH} 2>/dev/null ||
    echo 8080
}
case "\${1:-}" in
  pull) exec /usr/bin/docker pull "$image" ;;
  run)
    # Object-store delivery when the agent wrote a URL: the gateway fetches and polls it with the
    # user-assigned identity; otherwise the file cloud-init and the agent keep current.
    if [[ -s ${CONFIG_URL_PATH} ]]; then
      source=(--env "LINKGATE_CONFIG_URL=$(cat ${CONFIG_URL_PATH})")
      if [[ -s ${CLIENT_ID_PATH} ]]; then source+=(--env "LINKGATE_AZURE_CLIENT_ID=$(cat ${CLIENT_ID_PATH})"); fi
    else
      source=(--env LINKGATE_CONFIG_FILE=${CONFIG_PATH})
    fi
    extra=()
    if [[ -s ${GATEWAY_ENV_PATH} ]]; then extra=(--env-file ${GATEWAY_ENV_PATH}); fi
    # Host networking: the listeners bind the NIC, where the NSG rules apply. The directory, not
    # the file, is mounted, so an atomic rename of config.json is visible in the container.
    # stdout/stderr go to syslog (journald keeps them too; docker logs still works).
    exec /usr/bin/docker run --rm --name ${CONTAINER_NAME} --network host \\
      --log-driver syslog --log-opt syslog-facility=${GATEWAY_SYSLOG_FACILITY} --log-opt tag=${CONTAINER_NAME} \\
      --ulimit nofile=1048576:1048576 \\
      --volume /etc/linkgate:/etc/linkgate:ro \\
${volumes.map((v) => `      --volume ${v}:ro \\\n`).join('')}      "\${source[@]}" \\
      --env LINKGATE_HEALTH_PORT="$(health_port)" \\
      "\${extra[@]}" \\
      "$image" serve
    ;;
  *)
    echo "usage: $0 pull|run" >&2
    exit 2
    ;;
esac
`;
}

/** Docker login to Azure Container Registry with the VM's system-assigned managed identity. */
function registryLoginScript(): string {
  return `#!/bin/bash
# Logs Docker in to the image's registry when it is an Azure Container Registry, with this VM's
# managed identity: the Instance Metadata Service issues a Microsoft Entra token, the registry
# exchanges it for a refresh token (the flow behind "az acr login"). Refresh tokens expire within
# hours, so the gateway unit runs this before every pull. Other registries: nothing to do.
set -euo pipefail
image=$(cat ${IMAGE_PATH})
registry=\${image%%/*}
[[ $registry =~ \\.azurecr\\.(io|cn|us)$ ]] || exit 0
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
aad=$(curl -sf --max-time 10 -H Metadata:true \\
  'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F' |
  json_field access_token)
# Tokens travel on stdin, never on a command line that other local users could read.
refresh=$(printf '%s' "$aad" | curl -sf --max-time 10 -X POST \\
  --data-urlencode grant_type=access_token \\
  --data-urlencode "service=$registry" \\
  --data-urlencode access_token@- \\
  "https://$registry/oauth2/exchange" | json_field refresh_token)
printf '%s' "$refresh" | docker login "$registry" --username 00000000-0000-0000-0000-000000000000 --password-stdin >/dev/null
`;
}
