/**
 * The cloud-init `user-data` that runs the gateway container on Container-Optimized OS. COS runs
 * cloud-init and ships Docker; the COS container declaration (`gce-container-declaration`) is
 * deprecated, so the container is a plain systemd unit instead.
 *
 * What it does on every boot:
 *  - writes the gateway config (inline, `gzip+base64:`) to a file the container mounts read-only,
 *    or, with the object store, tells the gateway where to fetch and poll it (`LINKGATE_CONFIG_URL`);
 *  - opens the gateway's ports in the COS host firewall, which by default accepts only SSH
 *    (https://cloud.google.com/container-optimized-os/docs/how-to/firewall), and redirects the
 *    load balancers' frontend ports to the listeners: a passthrough load balancer does not
 *    translate ports, and the image's unprivileged user cannot bind ports below 1024;
 *  - runs the container with host networking, so packets keep the PSC NAT source address.
 *
 * Everything here is decided at synth time; the text is part of the instance template, so any
 * change (tenants, image, ports) makes a new template and a rolling replacement of the VMs.
 */
import YAML from 'yaml';

/** Where the config lands on the VM (COS: /var is writable and persistent, but mounted noexec). */
export const HOST_CONFIG_PATH = '/var/lib/linkgate/config.yaml';
/** Where the gateway reads it: the image's default `LINKGATE_CONFIG_FILE`. */
export const CONTAINER_CONFIG_PATH = '/etc/linkgate/config.yaml';
const GATEWAY_UNIT = 'linkgate.service';
const FIREWALL_UNIT = 'linkgate-firewall.service';
const CONTAINER_NAME = 'linkgate';

export interface PortRedirect {
  /** The load balancer's IP address: the destination of the packets to redirect. */
  readonly destination: string;
  /** Only packets from these sources are redirected; empty: any source. */
  readonly sources: readonly string[];
  readonly fromPort: number;
  readonly toPort: number;
}

export interface HostPortRule {
  readonly port: number;
  /** Empty (or containing 0.0.0.0/0): any source. */
  readonly sources: readonly string[];
}

export interface GatewayUserDataOptions {
  readonly image: string;
  /**
   * The gateway config as `linkgate` reads it (here `gzip+base64:...`), written to a file the
   * container mounts. Exactly one of `configText` and `configUrl`.
   */
  readonly configText?: string;
  /** Where the gateway fetches and polls its config instead (`gs://BUCKET/OBJECT`, `LINKGATE_CONFIG_URL`). */
  readonly configUrl?: string;
  /** More environment for the container (e.g. the metrics-line settings), in this order. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly healthPort: number;
  /** Listener ports to accept in the host firewall, with their allowed sources. */
  readonly openPorts: readonly HostPortRule[];
  readonly redirects: readonly PortRedirect[];
  /** `docker stop` grace: SIGTERM, then SIGKILL after this many seconds. */
  readonly stopTimeoutSec: number;
  /** Registry host to configure docker-credential-gcr for (Artifact Registry); none: public image. */
  readonly registryHost?: string;
  /** More boot steps from another file (http mode's certificate fetch): see `BootExtras`. */
  readonly extras?: BootExtras;
}

/** Files to write, units the gateway unit requires (and starts after), bind mounts for its container. */
export interface BootExtras {
  readonly writeFiles: readonly { path: string; permissions: string; owner: string; content: string }[];
  readonly gatewayRequires: readonly string[];
  /** Further units to start at boot (e.g. timers). */
  readonly startUnits: readonly string[];
  /** `docker run --mount` values. */
  readonly mounts: readonly string[];
}

export function renderGatewayUserData(options: GatewayUserDataOptions): string {
  if ((options.configText === undefined) === (options.configUrl === undefined)) {
    throw new Error('renderGatewayUserData: give exactly one of configText and configUrl');
  }
  const document = {
    write_files: [
      ...(options.configText !== undefined ? [{ path: HOST_CONFIG_PATH, permissions: '0644', owner: 'root', content: options.configText }] : []),
      { path: `/etc/systemd/system/${FIREWALL_UNIT}`, permissions: '0644', owner: 'root', content: firewallUnit(options) },
      { path: `/etc/systemd/system/${GATEWAY_UNIT}`, permissions: '0644', owner: 'root', content: gatewayUnit(options) },
      ...(options.extras?.writeFiles ?? []),
    ],
    runcmd: ['systemctl daemon-reload', `systemctl start ${[FIREWALL_UNIT, ...(options.extras?.startUnits ?? []), GATEWAY_UNIT].join(' ')}`],
  };
  // lineWidth 0: never fold a line (a folded token or unit line would break it).
  return `#cloud-config\n${YAML.stringify(document, { lineWidth: 0, blockQuote: 'literal' })}`;
}

function firewallUnit(o: GatewayUserDataOptions): string {
  const lines = [
    '[Unit]',
    "Description=linkgate: open the gateway's ports in the host firewall",
    `Before=${GATEWAY_UNIT}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
  ];
  for (const rule of o.openPorts) {
    const anySource = rule.sources.length === 0 || rule.sources.includes('0.0.0.0/0');
    for (const source of anySource ? [undefined] : rule.sources) {
      lines.push(`ExecStart=/sbin/iptables -w -A INPUT -p tcp${source ? ` -s ${source}` : ''} --dport ${rule.port} -j ACCEPT`);
    }
  }
  for (const r of o.redirects) {
    for (const source of r.sources.length ? r.sources : [undefined]) {
      lines.push(
        `ExecStart=/sbin/iptables -w -t nat -A PREROUTING -p tcp${source ? ` -s ${source}` : ''} -d ${r.destination} --dport ${r.fromPort} -j REDIRECT --to-ports ${r.toPort}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function gatewayUnit(o: GatewayUserDataOptions): string {
  const run = [
    '/usr/bin/docker run --rm',
    `--name ${CONTAINER_NAME}`,
    // Host networking: the gateway sees the PSC NAT source address and the LB's destination.
    '--network host',
    // json-file: the COS logging agent (google-logging-enabled) ships Docker containers' json-file
    // logs to Cloud Logging, each JSON line as a structured entry; rotated so the disk never fills.
    '--log-driver json-file --log-opt max-size=10m --log-opt max-file=5',
    '--ulimit nofile=1048576:1048576',
    ...(o.configUrl !== undefined ? [`--env LINKGATE_CONFIG_URL=${o.configUrl}`] : [`--env LINKGATE_CONFIG_FILE=${CONTAINER_CONFIG_PATH}`]),
    // The image's HEALTHCHECK probes this port.
    `--env LINKGATE_HEALTH_PORT=${o.healthPort}`,
    ...Object.entries(o.environment ?? {}).map(([k, v]) => `--env ${k}=${v}`),
    ...(o.configText !== undefined ? [`--mount type=bind,source=${HOST_CONFIG_PATH},target=${CONTAINER_CONFIG_PATH},readonly`] : []),
    ...(o.extras?.mounts ?? []).map((m) => `--mount ${m}`),
    o.image,
    'serve',
  ].join(' ');
  const lines = [
    '[Unit]',
    'Description=linkgate filtering gateway',
    'Wants=network-online.target',
    // Stopped before docker at shutdown, so the gateway drains while docker still runs.
    `After=network-online.target docker.service ${[FIREWALL_UNIT, ...(o.extras?.gatewayRequires ?? [])].join(' ')}`,
    `Requires=docker.service ${[FIREWALL_UNIT, ...(o.extras?.gatewayRequires ?? [])].join(' ')}`,
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    // docker-credential-gcr writes ~/.docker/config.json; root's home is read-only on COS.
    'Environment=HOME=/var/lib/linkgate',
    ...(o.registryHost ? [`ExecStartPre=/usr/bin/docker-credential-gcr configure-docker --registries=${o.registryHost}`] : []),
    `ExecStartPre=-/usr/bin/docker rm --force ${CONTAINER_NAME}`,
    `ExecStartPre=/usr/bin/docker pull ${o.image}`,
    `ExecStart=${run}`,
    // SIGTERM: /readyz fails, listeners drain (shutdown.drainDelayMs + drainTimeoutMs), then exit.
    `ExecStop=/usr/bin/docker stop --time ${o.stopTimeoutSec} ${CONTAINER_NAME}`,
    'TimeoutStartSec=600',
    `TimeoutStopSec=${o.stopTimeoutSec + 10}`,
    'Restart=always',
    'RestartSec=5',
  ];
  return `${lines.join('\n')}\n`;
}
