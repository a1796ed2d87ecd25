/**
 * linkgate/upstream: for the Node.js service behind the gateway. Reads the gateway's PROXY v2
 * header (upstream `proxyProtocol: true`) before TLS, exposes what the gateway decided per
 * connection and request (`linkgateInfo`), and answers 421 Misdirected Request to requests for
 * hostnames of other tenants (domain fronting, HTTP/2 connection coalescing). Imports neither
 * aws-cdk-lib nor cdktf.
 */
export {
  LinkgateUpstream,
  linkgateUpstream,
  linkgateInfo,
  authorityHostname,
  type LinkgateInfo,
  type LinkgateUpstreamOptions,
  type GuardedServer,
  type Refusal,
  type RefusalReason,
  type Misdirected,
} from './upstream';
export { TenantHostnames } from './tenant-hostnames';
