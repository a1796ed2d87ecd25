/**
 * Synth-time checks shared by the AWS constructs. Every message says what is wrong, shows the bad
 * value and the allowed values, and starts with the construct path so that an error in a large
 * app points at the construct that raised it. Unresolved tokens are never judged: their value is
 * only known at deploy time.
 */
import { Annotations, Token } from 'aws-cdk-lib';
import { CfnSubnet, Peer, type ISubnet, type IPeer } from 'aws-cdk-lib/aws-ec2';
import type { IConstruct } from 'constructs';
import { parseCidr } from '../../tenants';

/** A synth-time error raised by a linkgate construct; the message starts with the construct path. */
export class LinkgateValidationError extends Error {
  constructor(
    readonly constructPath: string,
    readonly problem: string,
  ) {
    super(`${constructPath}: ${problem}`);
    this.name = 'LinkgateValidationError';
  }
}

export function fail(scope: IConstruct, problem: string): never {
  throw new LinkgateValidationError(scope.node.path, problem);
}

export function warn(scope: IConstruct, id: string, message: string): void {
  Annotations.of(scope).addWarningV2(`linkgate:${id}`, message);
}

export const show = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

export function isUnresolved(value: unknown): boolean {
  return Token.isUnresolved(value);
}

/** A TCP port: a whole number from 1 to 65535. */
export function checkPort(scope: IConstruct, prop: string, port: number): number {
  if (isUnresolved(port)) return port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail(scope, `${prop} must be a whole number from 1 to 65535, got ${show(port)}`);
  }
  return port;
}

/** A whole number within [min, max]; `unit` is appended to the numbers in the message. */
export function checkRange(scope: IConstruct, prop: string, value: number, min: number, max: number, unit = ''): number {
  if (isUnresolved(value)) return value;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(scope, `${prop} must be a whole number from ${min}${unit} to ${max}${unit}, got ${show(value)}`);
  }
  return value;
}

/** Listeners of one process need distinct ports; names are the props that set them. */
export function checkDistinctPorts(scope: IConstruct, ports: Readonly<Record<string, number | undefined>>): void {
  const seen = new Map<number, string>();
  for (const [prop, port] of Object.entries(ports)) {
    if (port === undefined || isUnresolved(port)) continue;
    const other = seen.get(port);
    if (other !== undefined) {
      fail(
        scope,
        `${prop} and ${other} are both ${port}; each gateway listener needs its own port ` +
          `(in use: ${[...seen].map(([p, n]) => `${n}=${p}`).join(', ')})`,
      );
    }
    seen.set(port, prop);
  }
}

export interface SubnetPlacement {
  readonly subnets: ISubnet[];
  /** Availability Zone names in subnet order; unresolved names are left out. */
  readonly availabilityZones: string[];
}

/**
 * A load balancer or interface endpoint takes at most one subnet per Availability Zone. Two
 * selected subnets in the same zone is an error (pick one, e.g. `onePerAz: true`); fewer than two
 * zones is legal but loses the service with that zone, so it is a warning.
 */
export function checkOneSubnetPerAz(scope: IConstruct, prop: string, subnets: readonly ISubnet[]): SubnetPlacement {
  if (subnets.length === 0) {
    fail(scope, `${prop} selects no subnets; select at least one subnet (one per Availability Zone, two or more zones)`);
  }
  const byAz = new Map<string, string[]>();
  for (const subnet of subnets) {
    if (isUnresolved(subnet.availabilityZone)) continue;
    const ids = byAz.get(subnet.availabilityZone) ?? [];
    ids.push(isUnresolved(subnet.subnetId) ? subnet.node.path : subnet.subnetId);
    byAz.set(subnet.availabilityZone, ids);
  }
  for (const [az, ids] of byAz) {
    if (ids.length > 1) {
      fail(
        scope,
        `${prop} selects ${ids.length} subnets in Availability Zone ${az} (${ids.join(', ')}); ` +
          'a load balancer or endpoint takes at most one subnet per zone: narrow the selection ' +
          '(for example { subnetType, onePerAz: true })',
      );
    }
  }
  return { subnets: [...subnets], availabilityZones: [...byAz.keys()] };
}

export function warnIfSingleAz(scope: IConstruct, what: string, placement: SubnetPlacement): void {
  const known = placement.availabilityZones.length;
  // Only judge when every zone is known: imported subnets may carry unresolved zone names.
  if (known === placement.subnets.length && known < 2) {
    warn(
      scope,
      'singleAz',
      `${what} is in ${known} Availability Zone (${placement.availabilityZones.join(', ')}); consumers can only use ` +
        'zones they share with it, and an outage of that zone stops the service: use subnets in two or more zones',
    );
  }
}

/** A security group peer for a CIDR block; a bare address is refused (a rule needs the prefix). */
export function cidrPeer(scope: IConstruct, prop: string, cidr: string): IPeer {
  if (isUnresolved(cidr)) return Peer.ipv4(cidr);
  const parsed = parseCidr(cidr);
  if (!parsed || !cidr.includes('/')) {
    fail(scope, `${prop} has ${show(cidr)}, which is not a CIDR block; expected e.g. 203.0.113.0/24 or 2001:db8::/56`);
  }
  return parsed.family === 'ipv4' ? Peer.ipv4(cidr) : Peer.ipv6(cidr);
}

/**
 * A dual-stack load balancer needs an IPv6 CIDR block on each of its subnets. Subnets defined in
 * this app show it (their CfnSubnet has one); imported subnets cannot be judged at synth.
 */
export function checkIpv6Subnets(scope: IConstruct, prop: string, subnets: readonly ISubnet[]): void {
  const without = subnets.filter((subnet) => {
    const cfn = subnet.node.defaultChild;
    if (!(cfn instanceof CfnSubnet)) return false;
    return cfn.ipv6CidrBlock === undefined && cfn.ipv6IpamPoolId === undefined && !cfn.ipv6Native;
  });
  if (without.length > 0) {
    fail(
      scope,
      `ipAddressType "dualstack" needs an IPv6 CIDR block on every subnet of the load balancer, but ${prop} selects ` +
        `${without.map((s) => s.node.path).join(', ')} without one; give the VPC IPv6 (ec2.Vpc ipProtocol: ec2.IpProtocol.DUAL_STACK) or select dual-stack subnets`,
    );
  }
}
