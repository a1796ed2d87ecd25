/**
 * Shared fixtures for the Azure construct tests: literal subnet references (so snapshots hold only
 * the constructs' own resources), tenants, and helpers to read synthesized Terraform JSON.
 */
import { Testing } from 'cdktf';
// Types only: the jest matchers cdktf adds (toHaveResourceWithProperties, ...) via Testing.setupJest().
import type {} from 'cdktf/lib/testing/adapters/jest';
import type { Construct, IConstruct } from 'constructs';
import YAML from 'yaml';
import {
  GatewayPublicLoadBalancer,
  GatewayScaleSet,
  PrivateLinkGateway,
  PrivateLinkLoadBalancer,
  type GatewayPublicLoadBalancerProps,
  type GatewayScaleSetProps,
  type PrivateLinkGatewayProps,
  type PrivateLinkLoadBalancerProps,
  type SubnetReference,
} from '../../lib/azure';
import type { TenantDeclarations } from '../../lib/tenants';

// Every Azure test file imports this one, so the matchers are set up here once.
Testing.setupJest();

export const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
export const RG = 'linkgate-test';
export const LOCATION = 'westeurope';

const subnetId = (name: string) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/network/providers/Microsoft.Network/virtualNetworks/provider/subnets/${name}`;

export const FRONTEND_SUBNET: SubnetReference = { id: subnetId('frontend'), addressPrefixes: ['10.20.1.0/24'] };
export const GATEWAY_SUBNET: SubnetReference = { id: subnetId('gateways'), addressPrefixes: ['10.20.2.0/24'] };
export const NAT_SUBNET: SubnetReference = {
  id: subnetId('private-link-nat'),
  addressPrefixes: ['10.20.3.0/27'],
  privateLinkServiceNetworkPoliciesEnabled: false,
};

export const IMAGE = 'linkgatetest.azurecr.io/linkgate:0.1.0';
export const ACR_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/images/providers/Microsoft.ContainerRegistry/registries/linkgatetest`;
/** A gallery image definition that ships Docker (outboundAccess 'none' needs one); automatic OS upgrades follow its versions. */
export const SOURCE_IMAGE_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/images/providers/Microsoft.Compute/galleries/linkgate/images/ubuntu-docker`;
export const ACTION_GROUP_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/ops/providers/Microsoft.Insights/actionGroups/oncall`;
export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDG85aPbZhhzwfW4DPNqKhoQFQTKmFo05hB2yAE+qmJa test';
export const UPSTREAMS = { default: { host: 'app.internal.example.com', port: 443 } };

export const MEGACORP_SUB = '11111111-2222-3333-4444-555555555555';
export const INITECH_SUB = '66666666-7777-8888-9999-AAAAAAAAAAAA';

export const TENANTS: TenantDeclarations = [
  {
    name: 'megacorp',
    hostnames: ['megacorp.api.example.com', '*.megacorp.example.com'],
    allow: { azure: ['553665985'] },
    consumers: { azure: { subscriptions: [MEGACORP_SUB] } },
  },
  {
    name: 'initech',
    hostnames: ['initech.api.example.com'],
    allow: { azure: ['1203456789'], cidrs: ['203.0.113.0/24'] },
    consumers: { azure: { subscriptions: [INITECH_SUB], autoApprove: true } },
  },
];

export interface GatewayFixture {
  /** Overrides of the private-link load balancer's props. */
  readonly lb?: Partial<PrivateLinkLoadBalancerProps>;
  /** Props of a public load balancer to add. @default - none */
  readonly publicLb?: Partial<GatewayPublicLoadBalancerProps>;
  /** Overrides of the gateway's props. */
  readonly props?: Partial<GatewayScaleSetProps>;
}

/** A GatewayScaleSet behind a private-link load balancer (and a public one if asked), every required value filled in. */
export function gatewayScaleSet(scope: Construct, fixture: GatewayFixture = {}): GatewayScaleSet {
  const privateLinkLoadBalancer = new PrivateLinkLoadBalancer(scope, 'LoadBalancer', {
    resourceGroupName: RG,
    location: LOCATION,
    frontendSubnet: FRONTEND_SUBNET,
    ...fixture.lb,
  });
  const publicLoadBalancer = fixture.publicLb
    ? new GatewayPublicLoadBalancer(scope, 'PublicLoadBalancer', { resourceGroupName: RG, location: LOCATION, ...fixture.publicLb })
    : undefined;
  return new GatewayScaleSet(scope, 'Gateway', {
    resourceGroupName: RG,
    location: LOCATION,
    subnet: GATEWAY_SUBNET,
    privateLinkLoadBalancer,
    natSubnets: [NAT_SUBNET],
    publicLoadBalancer,
    tenants: TENANTS,
    upstreams: UPSTREAMS,
    image: IMAGE,
    acrId: ACR_ID,
    sourceImageId: SOURCE_IMAGE_ID,
    adminSshPublicKey: SSH_KEY,
    observability: { actionGroupId: ACTION_GROUP_ID },
    ...fixture.props,
  });
}

/** A PrivateLinkGateway's props with every required value filled in; a test passes the ones it is about. */
export function privateLinkGatewayProps(overrides: Partial<PrivateLinkGatewayProps> = {}): PrivateLinkGatewayProps {
  return {
    resourceGroupName: RG,
    location: LOCATION,
    frontendSubnet: FRONTEND_SUBNET,
    gatewaySubnet: GATEWAY_SUBNET,
    natSubnet: NAT_SUBNET,
    tenants: TENANTS,
    upstreams: UPSTREAMS,
    image: IMAGE,
    acrId: ACR_ID,
    sourceImageId: SOURCE_IMAGE_ID,
    observability: { actionGroupId: ACTION_GROUP_ID },
    adminSshPublicKey: SSH_KEY,
    ...overrides,
  };
}

/** A PrivateLinkGateway (construct ID `linkgate` unless given) from `privateLinkGatewayProps(overrides)`. */
export function privateLinkGateway(scope: Construct, overrides: Partial<PrivateLinkGatewayProps> = {}, id = 'linkgate'): PrivateLinkGateway {
  return new PrivateLinkGateway(scope, id, privateLinkGatewayProps(overrides));
}

/**
 * `count` realistic tenants: a uint32 LinkID, two hostnames and one subscription each. A seeded
 * generator keeps the figures (and any failure) reproducible.
 */
export function manyTenants(count: number, seed = 42): TenantDeclarations {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const hex = (n: number) => Array.from({ length: n }, () => (next() % 16).toString(16)).join('');
  return Array.from({ length: count }, (_, i) => {
    const name = `customer-${String(i).padStart(4, '0')}`;
    return {
      name,
      hostnames: [`${name}.api.saas-provider.example.com`, `*.${name}.saas-provider.example.com`],
      allow: { azure: [String(next())] },
      consumers: { azure: { subscriptions: [`${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`] } },
    };
  });
}

export interface Synthesized<T> {
  /** The synthesized Terraform JSON, as the cdktf matchers take it. */
  readonly json: string;
  readonly doc: { resource: Record<string, Record<string, Record<string, unknown>>>; output?: Record<string, { value: unknown }> };
  /** Whatever the build function returned (usually the construct under test). */
  readonly value: T;
}

export function synth<T>(build: (scope: Construct) => T): Synthesized<T> {
  let value: T | undefined;
  const json = Testing.synthScope((scope) => {
    value = build(scope);
  });
  return { json, doc: JSON.parse(json), value: value as T };
}

/** Every resource of one Terraform type, in synthesis order. */
export function resources(doc: Synthesized<unknown>['doc'], type: string): Record<string, unknown>[] {
  return Object.values(doc.resource[type] ?? {});
}

export function onlyResource(doc: Synthesized<unknown>['doc'], type: string): Record<string, unknown> {
  const all = resources(doc, type);
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0]!;
}

/** Warnings added with Annotations on the construct or its children. */
export function warningsOf(construct: IConstruct): string[] {
  return construct.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === '@cdktf/warn')
    .map((m) => String(m.data));
}

export interface WriteFile {
  path: string;
  content: string;
  encoding?: string;
  permissions?: string;
  owner?: string;
}

export interface CloudConfig {
  package_update?: boolean;
  packages?: string[];
  write_files: WriteFile[];
  runcmd: string[][];
}

/** base64 custom data → the cloud-config document, checking its first line as cloud-init does. */
export function decodeCustomData(customData: string): { text: string; config: CloudConfig } {
  const text = Buffer.from(customData, 'base64').toString('utf8');
  if (!text.startsWith('#cloud-config\n')) throw new Error(`custom data does not start with #cloud-config: ${text.slice(0, 40)}`);
  return { text, config: YAML.parse(text) as CloudConfig };
}

export function writeFile(config: CloudConfig, path: string): WriteFile {
  const file = config.write_files.find((f) => f.path === path);
  if (!file) throw new Error(`cloud-init writes no ${path} (it writes ${config.write_files.map((f) => f.path).join(', ')})`);
  return file;
}
