/**
 * http mode on Azure: the provider's certificates from Azure Key Vault, and one shared hostname
 * published as the Private Link Service's `fqdns`.
 *
 * The Key Vault VM extension for Linux (publisher Microsoft.Azure.KeyVault, type KeyVaultForLinux,
 * learn.microsoft.com/azure/virtual-machines/extensions/key-vault-linux) runs on every VM of the
 * scale set: it polls the observed certificates' versionless secret URLs and writes each one, its
 * full chain (version 2.0) and private key in one PEM file, into its store folder, which it keeps
 * mode 700 for root; the symlink `<vault name>.<certificate name>` names the latest version. The gateway container runs as uid 1000, so a
 * oneshot unit copies the files into a tmpfs (`/run`, never on disk) readable by that uid only,
 * triggered by a path unit on the store folder (and a timer, in case an event is missed): when a
 * file differs, it is replaced atomically and the gateway gets SIGHUP, which reloads the
 * certificates (new connections get the new one, live ones keep theirs; with object-store config
 * delivery SIGHUP fetches the config object again and applies it even when unchanged). The
 * combined PEM is both
 * certFile and keyFile: Node takes the CERTIFICATE blocks for `cert` and the PRIVATE KEY for `key`.
 *
 * The identity the extension uses (the scale set's system-assigned one; the config reader's
 * user-assigned one with object-store delivery, since the docs require naming an identity once
 * the VM has any user-assigned one) gets "Key Vault Secrets User" (the role the extension's docs
 * name) on exactly the vault, and reaches it through a private endpoint when the gateways
 * have no outbound access.
 */
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { VirtualMachineScaleSetExtensionA as VirtualMachineScaleSetExtension } from '@cdktf/provider-azurerm/lib/virtual-machine-scale-set-extension';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';
import { checkHttpMode, renderHttpSettings, type GatewayConfigInput, type HttpModeCommonProps } from '../tenants';
import { CONTAINER_NAME, type BootExtras } from './cloud-init';
import { ServicePrivateEndpoint, type PrivateDnsZones } from './private-endpoint';

/** One certificate of the vault (a Key Vault certificate, or a secret holding PEM or PKCS#12). */
export interface AzureHttpCertificate {
  /** Its name in the vault: the extension observes `https://<vault>/secrets/<name>` (versionless: renewals follow). */
  readonly name: string;
  /**
   * DNS names the certificate covers (its SANs), to check `sharedHostname` against at synth.
   *
   * @default - not checked (the gateway checks the certificate when it loads it)
   */
  readonly names?: string[];
}

/** The Key Vault holding the certificates (e.g. from a `KeyVault` resource or data source). */
export interface AzureHttpKeyVault {
  /** Resource ID: the scope of the "Key Vault Secrets User" grant (the vault must use Azure RBAC) and of the private endpoint. */
  readonly id: string;
  /** Vault name: the extension names its files `<name>.<certificate>`. */
  readonly name: string;
  /**
   * Vault URI.
   *
   * @default `https://<name>.vault.azure.net/` (Azure public cloud)
   */
  readonly vaultUri?: string;
}

/** `httpMode` of the Azure gateway: the private-link listener terminates TLS and decides per request. */
export interface AzureHttpModeProps extends HttpModeCommonProps {
  readonly keyVault: AzureHttpKeyVault;
  /** The certificates, chosen per connection by SNI (the first one when none covers it). */
  readonly certificates: AzureHttpCertificate[];
  /**
   * Seconds between the extension's polls of the vault (renewals reach the gateways within this).
   *
   * @default 3600
   */
  readonly pollingIntervalSec?: number;
  /**
   * Make a private endpoint (subresource `vault`, zone privatelink.vaultcore.azure.net) to the vault
   * in the gateways' private endpoint subnet. Without outbound access (`none`) the VMs reach the
   * vault only this way; set false when the VNet already resolves the vault to an endpoint of yours.
   *
   * @default - true with outboundAccess `none`, else false
   */
  readonly keyVaultPrivateEndpoint?: boolean;
}

/** Where the extension writes (its documented default store folder). */
export const KEY_VAULT_STORE_DIR = '/var/lib/waagent/Microsoft.Azure.KeyVault.Store';
/** The copies the container reads: a tmpfs directory only uid 1000 (the image's `node`) can read. */
export const HOST_CERT_DIR = '/run/linkgate/certs';
export const CONTAINER_CERT_DIR = '/run/linkgate/certs';
const COPY_SCRIPT = '/usr/local/lib/linkgate/copy-certificates';
const COPY_UNIT = 'linkgate-certificates.service';
const COPY_PATH_UNIT = 'linkgate-certificates.path';
const COPY_TIMER = 'linkgate-certificates.timer';
const CONTAINER_UID = 1000;
const KEY_VAULT_ZONE = 'privatelink.vaultcore.azure.net';
/** Key Vault object names: 1-127 alphanumerics and dashes; vault names: 3-24. */
const OBJECT_NAME = /^[A-Za-z0-9-]{1,127}$/;
const VAULT_NAME = /^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$/;

export interface AzureHttpMode {
  readonly http: NonNullable<GatewayConfigInput['http']>;
  readonly extras: BootExtras;
}

/** Checks `httpMode` (problems as `[path, message]`). */
export function checkAzureHttpMode(props: AzureHttpModeProps): [string, string][] {
  const isToken = (v: unknown) => typeof v === 'string' && Token.isUnresolved(v);
  const problems: [string, string][] = checkHttpMode(props, isToken).map((i) => [i.path, i.message]);
  const vault = props.keyVault;
  if (vault === undefined || typeof vault.id !== 'string' || typeof vault.name !== 'string') {
    problems.push(['httpMode.keyVault', 'must name the vault holding the certificates: { id, name } (e.g. a KeyVault resource)']);
  } else if (!isToken(vault.name) && !VAULT_NAME.test(vault.name)) {
    problems.push(['httpMode.keyVault.name', `must be a Key Vault name (3-24 letters, digits, dashes), got ${JSON.stringify(vault.name)}`]);
  }
  props.certificates?.forEach((c, i) => {
    if (typeof c.name !== 'string' || (!isToken(c.name) && !OBJECT_NAME.test(c.name))) {
      problems.push([`httpMode.certificates[${i}].name`, `must be a Key Vault certificate name (letters, digits, dashes), got ${JSON.stringify(c.name)}`]);
    }
  });
  const poll = props.pollingIntervalSec ?? 3600;
  if (!Number.isInteger(poll) || poll < 300 || poll > 86_400) {
    problems.push(['httpMode.pollingIntervalSec', `must be a whole number of seconds from 300 to 86400, got ${String(poll)}`]);
  }
  return problems;
}

/** The gateway config's `http` and the boot steps that copy the extension's files for the container. */
export function azureHttpMode(props: AzureHttpModeProps): AzureHttpMode {
  const files = props.certificates.map((c) => `${props.keyVault.name}.${c.name}`);
  const http = renderHttpSettings(
    props,
    files.map((f) => ({ certFile: `${CONTAINER_CERT_DIR}/${f}.pem`, keyFile: `${CONTAINER_CERT_DIR}/${f}.pem` })),
  );
  const poll = props.pollingIntervalSec ?? 3600;
  return {
    http,
    extras: {
      writeFiles: [
        { path: COPY_SCRIPT, permissions: '0700', content: copyScript(files) },
        { path: `/etc/systemd/system/${COPY_UNIT}`, permissions: '0644', content: copyUnit() },
        { path: `/etc/systemd/system/${COPY_PATH_UNIT}`, permissions: '0644', content: copyPathUnit() },
        { path: `/etc/systemd/system/${COPY_TIMER}`, permissions: '0644', content: copyTimer(poll) },
      ],
      enableUnits: [COPY_PATH_UNIT, COPY_TIMER],
      volumes: [`${HOST_CERT_DIR}:${CONTAINER_CERT_DIR}`],
    },
  };
}

export interface AzureHttpResourcesProps {
  readonly resourceGroupName: string;
  readonly location: string;
  readonly name: string;
  readonly scaleSetId: string;
  /** The scale set's system-assigned identity. */
  readonly principalId: string;
  /**
   * The scale set's user-assigned identity (the config reader, with object-store delivery). The
   * extension must then be told which identity to use, and this one is the one it gets.
   */
  readonly userAssigned?: { readonly clientId: string; readonly principalId: string };
  /** Set: a private endpoint to the vault goes into this subnet. */
  readonly privateEndpoint?: { readonly subnetId: string; readonly zones: PrivateDnsZones };
  readonly tags?: Record<string, string>;
}

export interface AzureHttpResources {
  readonly secretsUser: RoleAssignment;
  readonly extension: VirtualMachineScaleSetExtension;
  readonly keyVaultEndpoint?: ServicePrivateEndpoint;
}

/** The grant on the vault, the endpoint to it if asked, and the Key Vault extension on the scale set. */
export function addAzureHttpResources(scope: Construct, props: AzureHttpModeProps, r: AzureHttpResourcesProps): AzureHttpResources {
  // The built-in role the extension's docs name: reads the secret part (chain + key) of a
  // certificate. At vault scope, not the subscription's: the gateways read nothing else.
  const secretsUser = new RoleAssignment(scope, 'KeyVaultSecretsUser', {
    scope: props.keyVault.id,
    roleDefinitionName: 'Key Vault Secrets User',
    principalId: r.userAssigned?.principalId ?? r.principalId,
    principalType: 'ServicePrincipal',
  });
  const keyVaultEndpoint = r.privateEndpoint
    ? new ServicePrivateEndpoint(scope, 'KeyVaultEndpoint', {
        resourceGroupName: r.resourceGroupName,
        location: r.location,
        name: `${r.name}-kv-pe`,
        subnetId: r.privateEndpoint.subnetId,
        resourceId: props.keyVault.id,
        subresource: 'vault',
        zoneNames: [KEY_VAULT_ZONE],
        zones: r.privateEndpoint.zones,
        tags: r.tags,
      })
    : undefined;
  const vaultUri = (props.keyVault.vaultUri ?? `https://${props.keyVault.name}.vault.azure.net/`).replace(/\/+$/, '');
  const extension = new VirtualMachineScaleSetExtension(scope, 'KeyVaultExtension', {
    name: 'KeyVaultForLinux',
    virtualMachineScaleSetId: r.scaleSetId,
    publisher: 'Microsoft.Azure.KeyVault',
    type: 'KeyVaultForLinux',
    // 2.0: the full chain (leaf, then issuers) with the key in one PEM, in certificateStoreLocation.
    typeHandlerVersion: '2.0',
    autoUpgradeMinorVersion: true,
    automaticUpgradeEnabled: true,
    // `/secrets/` URLs: that path returns the certificate with its private key, `/certificates/`
    // does not. No `requireInitialSync`: with a system-assigned identity granted after the scale set
    // exists, the docs warn it deadlocks; the copy unit waits for the files instead.
    settings: JSON.stringify({
      secretsManagementSettings: {
        pollingIntervalInS: String(props.pollingIntervalSec ?? 3600),
        certificateStoreLocation: KEY_VAULT_STORE_DIR,
        observedCertificates: props.certificates.map((c) => `${vaultUri}/secrets/${c.name}`),
      },
      // Required once the VM has any user-assigned identity, even to use the system-assigned one;
      // without, the system-assigned identity is the one the Instance Metadata Service hands out.
      ...(r.userAssigned
        ? { authenticationSettings: { msiEndpoint: 'http://169.254.169.254/metadata/identity', msiClientId: r.userAssigned.clientId } }
        : {}),
    }),
    // The grant (and the endpoint's DNS) in place before the first poll.
    dependsOn: [secretsUser, ...(keyVaultEndpoint ? [keyVaultEndpoint.resource] : [])],
  });
  return { secretsUser, extension, keyVaultEndpoint };
}

/**
 * The Private Link Service's `fqdns`: `httpMode.sharedHostname` (consumers' private DNS
 * integration makes the record from it). Given both, `fqdns` must include it.
 */
export function sharedFqdns(props: { readonly fqdns?: string[]; readonly httpMode?: AzureHttpModeProps }): { fqdns?: string[]; problem?: string } {
  const shared = props.httpMode?.sharedHostname;
  if (shared === undefined || Token.isUnresolved(shared)) return { fqdns: props.fqdns };
  const host = shared.toLowerCase().replace(/\.$/, '');
  if (props.fqdns === undefined) return { fqdns: [host] };
  if (props.fqdns.some((f) => !Token.isUnresolved(f) && f.toLowerCase().replace(/\.$/, '') === host)) return { fqdns: props.fqdns };
  return {
    problem: `httpMode.sharedHostname ${JSON.stringify(shared)} is not among fqdns (${props.fqdns.map((f) => JSON.stringify(f)).join(', ')}): the shared hostname is what the Private Link Service publishes; add it or leave fqdns unset`,
  };
}

function copyScript(files: readonly string[]): string {
  return `#!/bin/bash
# linkgate http mode: copy the certificates the Key Vault extension keeps in ${KEY_VAULT_STORE_DIR}
# (root only) into a tmpfs the gateway container's user reads, and reload the gateway on a change.
set -euo pipefail
src=${KEY_VAULT_STORE_DIR}
dir=${HOST_CERT_DIR}
install -d -m 0700 -o ${CONTAINER_UID} -g ${CONTAINER_UID} "$dir"
names=(${files.map((f) => `'${f}'`).join(' ')})
changed=0
for name in "\${names[@]}"; do
  if [[ ! -s $src/$name ]]; then
    # Not fetched yet (first boot, or the grant is still propagating): the path unit runs us again.
    echo "linkgate: $src/$name is not there yet (Key Vault extension)" >&2
    exit 1
  fi
  if ! cmp -s "$src/$name" "$dir/$name.pem"; then
    tmp=$(mktemp "$dir/.copy.XXXXXX")
    cat "$src/$name" >"$tmp"
    chown ${CONTAINER_UID}:${CONTAINER_UID} "$tmp"
    chmod 0400 "$tmp"
    mv -f "$tmp" "$dir/$name.pem"
    changed=1
  fi
done
# The gateway re-reads the files on SIGHUP (before its first start, Restart=always retries).
if [[ $changed = 1 ]] && docker inspect ${CONTAINER_NAME} >/dev/null 2>&1; then
  docker kill --signal=HUP ${CONTAINER_NAME} >/dev/null || true
fi
`;
}

function copyUnit(): string {
  return [
    '[Unit]',
    'Description=linkgate: copy the http certificates from the Key Vault extension',
    'After=docker.service',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${COPY_SCRIPT}`,
    '',
  ].join('\n');
}

function copyPathUnit(): string {
  return [
    '[Unit]',
    'Description=linkgate: watch the Key Vault extension store',
    '',
    '[Path]',
    // A directory that does not exist yet is watched through its parent until it appears.
    `PathChanged=${KEY_VAULT_STORE_DIR}`,
    `Unit=${COPY_UNIT}`,
    '',
    '[Install]',
    'WantedBy=paths.target',
    '',
  ].join('\n');
}

function copyTimer(pollSec: number): string {
  return [
    '[Unit]',
    'Description=linkgate: copy the http certificates again (a missed change, a failed first copy)',
    '',
    '[Timer]',
    'OnActiveSec=30s',
    `OnUnitActiveSec=${Math.max(60, Math.floor(pollSec / 4))}s`,
    `Unit=${COPY_UNIT}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}
