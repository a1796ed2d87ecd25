/**
 * Shared VPC: the network, its subnets and firewall rules belong to a host project; the gateway's
 * VMs, load balancer, addresses and service attachment to a service project. These helpers decide
 * which project each resource goes to and check that the network URLs name the host project.
 *
 * Google documents the split for Private Service Connect: "If you're using Shared VPC, you can
 * create the Private Service Connect subnet in the host project, and create the service attachment
 * in a service project" (https://cloud.google.com/vpc/docs/configure-private-service-connect-producer).
 */
import { isToken, type PropValidator } from './common';

export interface SharedVpcOptions {
  /**
   * Host project of a Shared VPC: `network` and `subnetwork` belong to it, and the firewall rules
   * and the PSC NAT subnet are created in it; everything else stays in `project` (the service
   * project). Give `network` and `subnetwork` as IDs or self links naming this project.
   *
   * The identity that deploys then needs, in the host project, `roles/compute.securityAdmin`
   * (firewall rules; or set `manageFirewallRules: false`), `roles/compute.networkAdmin` or a
   * narrower role with `compute.subnetworks.create` (the NAT subnet; or pass existing `natSubnets`),
   * and `roles/compute.networkUser` on the gateway and NAT subnets. The service project's Google
   * APIs service agent (`PROJECT_NUMBER@cloudservices.gserviceaccount.com`), which creates the
   * managed instance group's VMs, needs `roles/compute.networkUser` on the gateway subnet.
   *
   * @default - the network is in `project` (no Shared VPC)
   */
  readonly networkProject?: string;
  /**
   * Create the VPC firewall rules the gateway needs (health checks, PSC NAT to the private-link
   * ports, the public port). Set false when the network's owners keep the firewall rules: the
   * construct then lists the rules it would have made in `requiredFirewallRules`.
   * @default true
   */
  readonly manageFirewallRules?: boolean;
}

/** `projects/P/...` in an ID or a self link (`https://www.googleapis.com/compute/v1/projects/P/...`). */
const RESOURCE_PROJECT = /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/(?:v1|beta)\/)?projects\/([^/]+)\//;

/** The project a resource ID or self link names; undefined for a bare name or a token. */
export function projectOfResource(url: string): string | undefined {
  if (isToken(url)) return undefined;
  return RESOURCE_PROJECT.exec(url)?.[1];
}

/** Where the network-owned resources go: the host project with Shared VPC, else `project`. */
export function networkProjectOf(props: { project: string } & SharedVpcOptions): string {
  return props.networkProject ?? props.project;
}

/**
 * With `networkProject`, each given network URL must name it: a bare name would be looked up in
 * the service project, and a URL of a third project is a mistake the API reports only at deploy.
 */
export function validateSharedVpc(
  v: PropValidator,
  props: { project: string } & SharedVpcOptions,
  urls: Readonly<Record<string, string | undefined>>,
): void {
  const host = props.networkProject;
  if (host === undefined) return;
  v.pattern('networkProject', host, /^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project ID');
  if (!isToken(host) && !isToken(props.project) && host === props.project) {
    v.fail('networkProject', `names the service project itself (${JSON.stringify(host)}): leave it out when the network is in "project"`);
  }
  for (const [prop, url] of Object.entries(urls)) {
    if (url === undefined || isToken(url) || isToken(host)) continue;
    const named = projectOfResource(url);
    if (named === undefined) {
      v.fail(prop, `must be an ID or self link naming the host project (projects/${host}/...) with networkProject, got ${JSON.stringify(url)}`);
    } else if (named !== host) {
      v.fail(prop, `names project ${JSON.stringify(named)} but networkProject is ${JSON.stringify(host)}, got ${JSON.stringify(url)}`);
    }
  }
}
