/** Shared fixtures and readers for the GCP construct tests. */
import { Testing, type TerraformStack } from 'cdktf';
// Declares the matchers Testing.setupJest() adds (toHaveResourceWithProperties, ...) for tsc.
import type {} from 'cdktf/lib/testing/adapters/jest';
import type { Construct } from 'constructs';
import YAML from 'yaml';
import { PrivateServiceConnectGateway, type GatewayInstanceGroupProps, type PrivateServiceConnectGatewayProps } from '../../lib/gcp';
import type { TenantDeclarations } from '../../lib/tenants';

Testing.setupJest();

/** A PSC connection ID above 2^53: `Number(GCP_ID)` would round it to 18446744072646846000. */
export const GCP_ID = '18446744072646845442';
export const GCP_ID_2 = '9007199254740993';

export const PROJECT = 'saas-provider-prod';
export const REGION = 'europe-west1';
export const NETWORK = 'projects/saas-provider-prod/global/networks/linkgate';
export const SUBNETWORK = 'projects/saas-provider-prod/regions/europe-west1/subnetworks/gateway';
export const NAT_CIDR = '10.100.0.0/24';
export const IMAGE = `europe-west1-docker.pkg.dev/saas-provider-prod/linkgate/gateway@sha256:${'ab'.repeat(32)}`;
export const CHANNEL = 'projects/saas-provider-prod/notificationChannels/1234567890';
export const UPSTREAMS = { default: { host: 'app.internal.example.com', port: 443 } };

export const TENANTS: TenantDeclarations = [
  {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    allow: { gcp: [GCP_ID] },
    consumers: { gcp: { projects: [{ id: 'megacorp-prod', connectionLimit: 5 }] } },
  },
  {
    name: 'initech',
    hostnames: ['initech.api.example.com'],
    allow: { gcp: [GCP_ID_2], cidrs: ['198.51.100.0/24'] },
    consumers: { gcp: { projects: [{ id: 'initech-shared', connectionLimit: 2 }] } },
  },
];

/** The internal load balancer's and the public path's addresses the gateway VMs are told about. */
export const ILB_ADDRESS = '10.10.0.50';
export const PUBLIC_ADDRESS = '203.0.113.10';

/** A gateway instance group's props with every required value filled in. */
export function instanceGroupProps(overrides: Partial<GatewayInstanceGroupProps> = {}): GatewayInstanceGroupProps {
  return {
    project: PROJECT,
    region: REGION,
    network: NETWORK,
    subnetwork: SUBNETWORK,
    image: IMAGE,
    tenants: TENANTS,
    upstreams: UPSTREAMS,
    privateLinkSourceRanges: [NAT_CIDR],
    privateLinkAddress: ILB_ADDRESS,
    ...overrides,
  };
}

/** A PrivateServiceConnectGateway's props with every required value filled in; a test passes the ones it is about. */
export function pscGatewayProps(overrides: Partial<PrivateServiceConnectGatewayProps> = {}): PrivateServiceConnectGatewayProps {
  return {
    project: PROJECT,
    region: REGION,
    network: NETWORK,
    subnetwork: SUBNETWORK,
    pscNatSubnetCidr: NAT_CIDR,
    image: IMAGE,
    tenants: TENANTS,
    upstreams: UPSTREAMS,
    ...overrides,
  };
}

/** Builds a PrivateServiceConnectGateway `Linkgate` from `pscGatewayProps(overrides)`: pass it to `synth` or `errorOf`. */
export const pscGateway =
  (overrides: Partial<PrivateServiceConnectGatewayProps> = {}) =>
  (scope: Construct): PrivateServiceConnectGateway =>
    new PrivateServiceConnectGateway(scope, 'Linkgate', pscGatewayProps(overrides));

export interface Synthesized<T = unknown> {
  /** The stack as cdktf synthesizes it (for the cdktf matchers and snapshots). */
  readonly text: string;
  readonly json: { resource?: Record<string, Record<string, Record<string, unknown>>>; output?: Record<string, { value: unknown }> };
  /** Warnings (cdktf annotations) added anywhere in the stack. */
  readonly warnings: string[];
  /** Whatever the build function returned (usually the construct under test). */
  readonly value: T;
}

/** Builds into a test stack and synthesizes it. */
export function synth<T>(build: (scope: Construct) => T): Synthesized<T> {
  let stack: Construct | undefined;
  let value: T | undefined;
  const text = Testing.synthScope((scope) => {
    stack = scope;
    value = build(scope);
  });
  return synthesized(text, stack!, value as T);
}

/** Synthesizes a whole stack (an example app's), read like `synth`'s; `value` is the stack. */
export function synthStack<S extends TerraformStack>(stack: S): Synthesized<S> {
  return synthesized(Testing.synth(stack), stack, stack);
}

function synthesized<T>(text: string, stack: Construct, value: T): Synthesized<T> {
  const warnings = stack.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data)));
  return { text, json: JSON.parse(text) as Synthesized['json'], warnings, value };
}

/** Every resource of one Terraform type, by logical ID. */
export function resources(s: Synthesized, type: string): Record<string, Record<string, unknown>> {
  return s.json.resource?.[type] ?? {};
}

/** The one resource of a type (fails the test if there is not exactly one). */
export function single(s: Synthesized, type: string): Record<string, unknown> {
  const all = Object.values(resources(s, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0]!;
}

export interface CloudInitFile {
  readonly path: string;
  readonly permissions?: string;
  readonly content: string;
}

/** The cloud-init document in an instance template's `user-data`. */
export function cloudInit(s: Synthesized): { text: string; files: CloudInitFile[]; runcmd: string[] } {
  const template = single(s, 'google_compute_instance_template');
  const text = (template.metadata as Record<string, string>)['user-data']!;
  if (!text.startsWith('#cloud-config\n')) throw new Error('user-data is not a cloud-config document');
  const doc = YAML.parse(text) as { write_files: CloudInitFile[]; runcmd: string[] };
  return { text, files: doc.write_files, runcmd: doc.runcmd };
}

export function file(s: Synthesized, path: string): CloudInitFile {
  const found = cloudInit(s).files.find((f) => f.path === path);
  if (!found) throw new Error(`cloud-init writes no ${path}`);
  return found;
}

/** Runs `build` expecting it to throw; returns the message. */
export function errorOf(build: (scope: Construct) => void): string {
  try {
    synth(build);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the construct to throw, it did not');
}

/** Deterministic 64-bit IDs above 2^62, so that they exceed 2^53 and do not compress away. */
export function* gcpIds(seed = 0x9e3779b97f4a7c15n): Generator<string> {
  let s = seed;
  for (;;) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    yield ((s >> 1n) | (1n << 62n)).toString();
  }
}

/** `count` realistic tenants: two hostnames, one PSC connection ID, one consumer project each. */
export function manyTenants(count: number, idsPerTenant = 1): TenantDeclarations {
  const ids = gcpIds();
  return Array.from({ length: count }, (_, i) => ({
    name: `tenant-${i}`,
    hostnames: [`tenant-${i}.api.example.com`, `*.tenant-${i}.example.com`],
    allow: { gcp: Array.from({ length: idsPerTenant }, () => ids.next().value as string) },
    consumers: { gcp: { projects: [{ id: `customer-${i}-prod`, connectionLimit: 10 }] } },
  }));
}
