/**
 * The VPC firewall rules the gateway VMs need, and nothing else: Google's health check probes to
 * the health port, the PSC NAT range(s) to the private-link ports at the internal load balancer's
 * address, and (with the public path) the public port at the external load balancer's address.
 *
 * They live in the network's project: the host project with Shared VPC. Teams whose network owners
 * keep the firewall (`manageFirewallRules: false`) get the same list as `FirewallRuleSpec`s to hand over.
 */
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
import type { Construct } from 'constructs';
import { resourceName } from './common';

/** One ingress rule, as the construct would create it. */
export interface FirewallRuleSpec {
  /** Construct ID of the rule (public API: `HealthCheckFirewall`, `PrivateLinkFirewall`, `PublicFirewall`). */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly sourceRanges: readonly string[];
  /** Undefined: any destination of the target VMs. */
  readonly destinationRanges?: readonly string[];
  /** TCP ports. */
  readonly ports: readonly number[];
}

export interface GatewayFirewallInput {
  readonly name: string;
  readonly healthSources: readonly string[];
  readonly healthPort: number;
  readonly privateLinkSources: readonly string[];
  readonly privateLinkAddress?: string;
  /** The frontend ports consumers connect to: the first private-link port and any additional ones. */
  readonly privateLinkPorts: readonly number[];
  readonly publicAccess: boolean;
  readonly publicSources: readonly string[];
  readonly publicAddress?: string;
  readonly publicPort?: number;
}

export function gatewayFirewallRules(f: GatewayFirewallInput): FirewallRuleSpec[] {
  const rules: FirewallRuleSpec[] = [
    {
      id: 'HealthCheckFirewall',
      name: resourceName(f.name, 'allow-health-checks'),
      description: 'Google health check probes to the linkgate health port',
      sourceRanges: [...f.healthSources].sort(),
      ports: [f.healthPort],
    },
    {
      id: 'PrivateLinkFirewall',
      name: resourceName(f.name, 'allow-private-link'),
      description: 'Private Service Connect NAT to the linkgate private-link port (PROXY v2 is trusted from here only)',
      sourceRanges: [...f.privateLinkSources],
      destinationRanges: f.privateLinkAddress !== undefined ? [`${f.privateLinkAddress}/32`] : undefined,
      ports: [...f.privateLinkPorts],
    },
  ];
  if (f.publicAccess && f.publicPort !== undefined) {
    rules.push({
      id: 'PublicFirewall',
      name: resourceName(f.name, 'allow-public'),
      description: 'Internet clients to the linkgate public port, at the external load balancer address only',
      sourceRanges: [...f.publicSources],
      // The destination keeps this rule from opening the same port on the internal LB address.
      destinationRanges: [`${f.publicAddress!}/32`],
      ports: [f.publicPort],
    });
  }
  return rules;
}

/** Creates the rules in `project` (the host project with Shared VPC), for the gateway's service account only. */
export function createFirewallRules(
  scope: Construct,
  rules: readonly FirewallRuleSpec[],
  target: { project: string; network: string; serviceAccountEmail: string },
): Record<string, ComputeFirewall> {
  const created: Record<string, ComputeFirewall> = {};
  for (const rule of rules) {
    created[rule.id] = new ComputeFirewall(scope, rule.id, {
      project: target.project,
      name: rule.name,
      description: rule.description,
      network: target.network,
      direction: 'INGRESS',
      sourceRanges: [...rule.sourceRanges],
      destinationRanges: rule.destinationRanges ? [...rule.destinationRanges] : undefined,
      targetServiceAccounts: [target.serviceAccountEmail],
      allow: [{ protocol: 'tcp', ports: rule.ports.map(String) }],
    });
  }
  return created;
}
