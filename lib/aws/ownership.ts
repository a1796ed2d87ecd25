/**
 * Owner rules on AWS (`allow.awsAccounts`): the gateway reads DescribeVpcEndpointConnections for
 * the endpoint service (lib/gateway/ownership/aws.ts). This grants the task role exactly that, and
 * with acceptance on, Accept/RejectVpcEndpointConnections on this endpoint service only.
 * DescribeVpcEndpointConnections has no resource-level permissions (EC2 Describe* calls take no
 * resource ARNs, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html),
 * so it is granted on "*"; it reveals only connections to services of this account.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { usesOwnerRules, type GatewayConfigOptions, type OwnershipSettings, type TenantDeclaration } from '../tenants';
import { fail } from './internal/validate';

/** The endpoint service whose connections the gateway reads. */
export interface AwsOwnershipSource {
  /** `vpce-svc-…` (a token is fine: it is filled in at deploy). */
  readonly serviceId: string;
  /** @default - the stack's Region */
  readonly region?: string;
}

/** The gateway config's `ownership` for this source and settings. */
export function awsOwnershipConfig(scope: Construct, source: AwsOwnershipSource, settings: OwnershipSettings = {}): NonNullable<GatewayConfigOptions['ownership']> {
  return { ...settings, aws: { serviceId: source.serviceId, region: source.region ?? Stack.of(scope).region } };
}

/** Grants the gateway's role what the ownership reader calls, and nothing wider. */
export function grantOwnership(scope: Construct, role: iam.IRole, source: AwsOwnershipSource, settings: OwnershipSettings = {}): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'LinkgateReadEndpointOwners',
      actions: ['ec2:DescribeVpcEndpointConnections'],
      resources: ['*'], // no resource-level permissions exist for this call
    }),
  );
  if ((settings.accept ?? 'none') === 'none') return;
  const actions = ['ec2:AcceptVpcEndpointConnections'];
  if (settings.accept === 'matching-reject-others') actions.push('ec2:RejectVpcEndpointConnections');
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'LinkgateSettleEndpointConnections',
      actions,
      resources: [
        Stack.of(scope).formatArn({
          service: 'ec2',
          resource: 'vpc-endpoint-service',
          resourceName: source.serviceId,
          ...(source.region ? { region: source.region } : {}),
        }),
      ],
    }),
  );
}

/**
 * The `ownership` a gateway construct renders: when a tenant has `allow.awsAccounts` (or
 * `ownership` settings are given), read from `source`; undefined when owner rules are not used.
 */
export function resolveAwsOwnership(
  scope: Construct,
  tenants: readonly TenantDeclaration[],
  settings: OwnershipSettings | undefined,
  source: AwsOwnershipSource | undefined,
): NonNullable<GatewayConfigOptions['ownership']> | undefined {
  if (!usesOwnerRules(tenants, 'aws') && settings === undefined) return undefined;
  if (!source) {
    fail(
      scope,
      'tenants use allow.awsAccounts (or ownership is set) but no ownershipSource names the endpoint service to read: ' +
        'pass ownershipSource: { serviceId } (LinkgateProvider passes its own)',
    );
    return undefined;
  }
  return awsOwnershipConfig(scope, source, settings);
}
