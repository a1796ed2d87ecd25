/**
 * http mode on GCP: the provider's certificates from Secret Manager, and one shared hostname
 * published as the service attachment's `domain_names` (trailing dot).
 *
 * Container-Optimized OS has no agent that syncs secrets, so a oneshot unit fetches each secret
 * version with the VM service account's token from the metadata server and the Secret Manager
 * REST API (curl is on COS) into a tmpfs (`/run`, never on disk) before the gateway starts, and a
 * timer runs it again: when a fetched PEM differs, the files are replaced and the gateway gets
 * SIGHUP, which reloads the certificates (new connections get the new one, live ones keep theirs).
 * The gateway's service account gets `roles/secretmanager.secretAccessor` on exactly those secrets.
 */
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import type { Construct } from 'constructs';
import { checkHttpMode, renderHttpSettings, type GatewayConfigInput, type HttpModeCommonProps } from '../tenants';
import type { BootExtras } from './cloud-init';
import { isToken } from './common';

/** One certificate: two Secret Manager secrets, the PEM chain and its private key. */
export interface GcpHttpCertificate {
  /**
   * Secret holding the PEM certificate chain, leaf first: its ID in the gateway's project, or its
   * resource name `projects/P/secrets/S` (e.g. `secretManagerSecret.id`).
   */
  readonly certificateSecret: string;
  /** Secret holding the PEM private key (ID or resource name, as `certificateSecret`). */
  readonly privateKeySecret: string;
  /**
   * Secret version to fetch.
   *
   * @default 'latest': a new version reaches the gateways at their next refresh
   */
  readonly version?: string;
  /**
   * DNS names the certificate covers (its SANs), to check `sharedHostname` against at synth.
   *
   * @default - not checked (the gateway checks the certificate when it loads it)
   */
  readonly names?: string[];
}

/** `httpMode` of the GCP gateway: the private-link listener terminates TLS and decides per request. */
export interface GcpHttpModeProps extends HttpModeCommonProps {
  /** The certificates, chosen per connection by SNI (the first one when none covers it). */
  readonly certificates: GcpHttpCertificate[];
  /**
   * Minutes between fetches of the secrets on each VM (new versions, rotation).
   *
   * @default 60
   */
  readonly refreshIntervalMin?: number;
}

/** On the VM: a tmpfs directory only the container's user (node, uid 1000) can read. */
export const HOST_CERT_DIR = '/run/linkgate/certs';
export const CONTAINER_CERT_DIR = '/etc/linkgate/certs';
const FETCH_SCRIPT = '/var/lib/linkgate/fetch-certificates.sh';
const FETCH_UNIT = 'linkgate-certificates.service';
const FETCH_TIMER = 'linkgate-certificates.timer';
/** The image runs as `node`; the files must be readable by it and by nobody else. */
const CONTAINER_UID = 1000;
const SECRET_ID = /^(?:projects\/[^/]+\/secrets\/)?[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^(?:latest|[1-9][0-9]*)$/;

export interface GcpHttpMode {
  readonly http: NonNullable<GatewayConfigInput['http']>;
  readonly extras: BootExtras;
}

/** Checks `httpMode`; throws naming the construct. Returns the config's `http` and the boot steps. */
export function gcpHttpMode(scope: Construct, project: string, props: GcpHttpModeProps): GcpHttpMode {
  const problems = checkHttpMode(props, isToken).map((i) => `${i.path} ${i.message}`);
  props.certificates?.forEach((c, i) => {
    for (const field of ['certificateSecret', 'privateKeySecret'] as const) {
      const v = c[field];
      if (typeof v !== 'string' || (!isToken(v) && !SECRET_ID.test(v))) {
        problems.push(`httpMode.certificates[${i}].${field} must be a Secret Manager secret ID or projects/P/secrets/S, got ${JSON.stringify(v)}`);
      }
    }
    if (c.version !== undefined && !VERSION.test(c.version)) {
      problems.push(`httpMode.certificates[${i}].version must be "latest" or a version number, got ${JSON.stringify(c.version)}`);
    }
  });
  const refresh = props.refreshIntervalMin ?? 60;
  if (!Number.isInteger(refresh) || refresh < 5 || refresh > 1440) {
    problems.push(`httpMode.refreshIntervalMin must be a whole number of minutes from 5 to 1440, got ${String(refresh)}`);
  }
  if (problems.length > 0) throw new Error(`GatewayInstanceGroup at ${scope.node.path}: ${problems.join('; ')}`);

  const resource = (secret: string, version = 'latest') =>
    `${secret.startsWith('projects/') || isToken(secret) ? secret : `projects/${project}/secrets/${secret}`}/versions/${version}`;
  const fetches = props.certificates.flatMap((c, i) => [
    { resource: resource(c.certificateSecret, c.version), file: `cert-${i}.pem` },
    { resource: resource(c.privateKeySecret, c.version), file: `key-${i}.pem` },
  ]);
  const http = renderHttpSettings(
    props,
    props.certificates.map((_, i) => ({ certFile: `${CONTAINER_CERT_DIR}/cert-${i}.pem`, keyFile: `${CONTAINER_CERT_DIR}/key-${i}.pem` })),
  );
  return {
    http,
    extras: {
      writeFiles: [
        { path: FETCH_SCRIPT, permissions: '0700', owner: 'root', content: fetchScript(fetches) },
        { path: `/etc/systemd/system/${FETCH_UNIT}`, permissions: '0644', owner: 'root', content: fetchUnit() },
        { path: `/etc/systemd/system/${FETCH_TIMER}`, permissions: '0644', owner: 'root', content: fetchTimer(refresh) },
      ],
      gatewayRequires: [FETCH_UNIT],
      startUnits: [FETCH_TIMER],
      mounts: [`type=bind,source=${HOST_CERT_DIR},target=${CONTAINER_CERT_DIR},readonly`],
    },
  };
}

/** `roles/secretmanager.secretAccessor` for the gateway's service account on exactly its secrets. */
export function grantHttpCertificateSecrets(scope: Construct, project: string, member: string, props: GcpHttpModeProps): void {
  const secrets = [...new Set(props.certificates.flatMap((c) => [c.certificateSecret, c.privateKeySecret]))];
  secrets.forEach((secretId, i) => {
    new SecretManagerSecretIamMember(scope, `HttpCertificateSecretAccess${i}`, {
      project,
      secretId,
      role: 'roles/secretmanager.secretAccessor',
      member,
    });
  });
}

function fetchScript(fetches: readonly { resource: string; file: string }[]): string {
  return `#!/bin/bash
# linkgate http mode: fetch the certificates from Secret Manager into a tmpfs the gateway mounts.
set -euo pipefail
dir=${HOST_CERT_DIR}
install -d -m 0700 -o ${CONTAINER_UID} -g ${CONTAINER_UID} "$dir"
token=$(curl -sSf --retry 5 -H 'Metadata-Flavor: Google' \\
  'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token' |
  sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p')
if [ -z "$token" ]; then
  echo 'linkgate: no access token from the metadata server' >&2
  exit 1
fi
changed=0
# fetch RESOURCE FILE: replace FILE only when the secret's value differs (atomically, by rename).
fetch() {
  local tmp
  tmp=$(mktemp "$dir/.fetch.XXXXXX")
  curl -sSf --retry 5 -H "Authorization: Bearer $token" "https://secretmanager.googleapis.com/v1/$1:access" |
    sed -n 's/.*"data" *: *"\\([A-Za-z0-9+/=]*\\)".*/\\1/p' | base64 -d >"$tmp"
  if [ ! -s "$tmp" ]; then
    rm -f "$tmp"
    echo "linkgate: secret $1 is empty or unreadable" >&2
    exit 1
  fi
  if cmp -s "$tmp" "$dir/$2"; then
    rm -f "$tmp"
  else
    chown ${CONTAINER_UID}:${CONTAINER_UID} "$tmp"
    chmod 0400 "$tmp"
    mv -f "$tmp" "$dir/$2"
    changed=1
  fi
}
${fetches.map((f) => `fetch '${f.resource}' '${f.file}'`).join('\n')}
# Both files of a pair are in place: the gateway re-reads them on SIGHUP.
if [ "$changed" = 1 ] && docker inspect linkgate >/dev/null 2>&1; then
  docker kill --signal=HUP linkgate >/dev/null || true
fi
`;
}

function fetchUnit(): string {
  return [
    '[Unit]',
    'Description=linkgate: fetch the http certificates from Secret Manager',
    'Wants=network-online.target',
    'After=network-online.target docker.service',
    '',
    '[Service]',
    'Type=oneshot',
    // /var is mounted noexec on COS: run the script through bash.
    `ExecStart=/bin/bash ${FETCH_SCRIPT}`,
    'Restart=on-failure',
    'RestartSec=10',
    '',
  ].join('\n');
}

function fetchTimer(minutes: number): string {
  return ['[Unit]', 'Description=linkgate: refresh the http certificates', '', '[Timer]', `OnUnitActiveSec=${minutes}min`, 'RandomizedDelaySec=60', `Unit=${FETCH_UNIT}`, '', '[Install]', 'WantedBy=timers.target', ''].join('\n');
}

/**
 * The service attachment's domain name: `httpMode.sharedHostname` with its trailing dot, so
 * consumers' PSC endpoints get the record from the attachment's `domain_names`. Given both,
 * `domainName` must name the same host.
 */
export function sharedDomainName(scope: Construct, props: { readonly domainName?: string; readonly httpMode?: GcpHttpModeProps }): string | undefined {
  const shared = props.httpMode?.sharedHostname;
  if (shared === undefined || isToken(shared)) return props.domainName;
  const fqdn = `${shared.toLowerCase().replace(/\.$/, '')}.`;
  if (props.domainName !== undefined && !isToken(props.domainName) && props.domainName.toLowerCase() !== fqdn) {
    throw new Error(
      `PrivateServiceConnectGateway at ${scope.node.path}: httpMode.sharedHostname ${JSON.stringify(shared)} differs from domainName ` +
        `${JSON.stringify(props.domainName)}: a service attachment has one domain name, and the shared hostname is it; set one of them`,
    );
  }
  return props.domainName ?? fqdn;
}
