/**
 * AWS: who owns each VPC endpoint connected to our endpoint service.
 *
 * DescribeVpcEndpointConnections with the filter service-id
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointConnections.html)
 * returns per connection VpcEndpointId (the ID the 0xEA TLV carries), VpcEndpointOwner (the
 * consumer's account ID) and VpcEndpointState (pendingAcceptance, pending, available, deleting,
 * deleted, rejected, failed, expired; only `available` admits). Accept/RejectVpcEndpointConnections
 * act on them.
 *
 * AWS SDK v3's EC2 client (the maintained client; its one package is already in the image for
 * nothing else to load), loaded only when ownership.aws is configured so other gateways do not pay
 * its start time. The SDK reads credentials from the task role as usual.
 */
import { PollError, type HttpLimits, type PollFailureReason } from './http';
import type { EndpointConnection } from './map';
import type { CloudPoller } from './scheduler';

export interface AwsPollerOptions {
  readonly serviceId: string;
  readonly region: string;
  readonly limits: HttpLimits;
  /** EC2 endpoint URL. Default: the Region's (tests point it at a stand-in). */
  readonly endpoint?: string;
}

/** Pages of 1,000 (the API's largest); more than this many pages is refused as a runaway. */
const MAX_PAGES = 50;

/** The fields this module reads of the SDK's VpcEndpointConnection. */
export interface AwsConnectionRecord {
  readonly VpcEndpointId?: string;
  readonly VpcEndpointOwner?: string;
  readonly VpcEndpointState?: string;
}

const VPCE = /^vpce-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const ACCOUNT = /^[0-9]{12}$/;

/** Pure: the SDK's records as connections; records that make no sense are skipped and counted. */
export function fromAwsRecords(records: readonly AwsConnectionRecord[]): { connections: EndpointConnection[]; skipped: number } {
  const connections: EndpointConnection[] = [];
  let skipped = 0;
  for (const r of records) {
    const id = r.VpcEndpointId;
    const owner = r.VpcEndpointOwner;
    const state = r.VpcEndpointState;
    if (!id || !VPCE.test(id) || !owner || !ACCOUNT.test(owner) || !state) {
      skipped++;
      continue;
    }
    // The API documents lowerCamel values (pendingAcceptance) and the shape page PascalCase ones.
    const s = state.toLowerCase();
    connections.push({
      cloud: 'aws',
      linkId: id,
      owners: { awsAccounts: owner },
      state,
      status: s === 'available' ? 'accepted' : s === 'pendingacceptance' ? 'pending' : 'other',
      ref: id,
    });
  }
  return { connections, skipped };
}

type Ec2Module = typeof import('@aws-sdk/client-ec2');

export class AwsPoller implements CloudPoller {
  readonly cloud = 'aws' as const;
  private client: InstanceType<Ec2Module['EC2Client']> | undefined;
  private sdk: Ec2Module | undefined;

  constructor(private readonly options: AwsPollerOptions) {}

  private ec2(): Promise<{ sdk: Ec2Module; client: InstanceType<Ec2Module['EC2Client']> }> {
    if (!this.sdk || !this.client) {
      // Loaded here, not at the top: only gateways with ownership.aws pay its load time. require,
      // not import(): the package is CommonJS and so is this build.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      this.sdk = require('@aws-sdk/client-ec2') as Ec2Module;
      const { timeoutMs } = this.options.limits;
      this.client = new this.sdk.EC2Client({
        region: this.options.region,
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        // The scheduler retries at the next interval: one attempt keeps a poll within its bound.
        maxAttempts: 1,
        requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
      });
    }
    return Promise.resolve({ sdk: this.sdk, client: this.client });
  }

  async poll(): Promise<{ connections: EndpointConnection[]; skipped: number }> {
    const { sdk, client } = await this.ec2();
    const records: AwsConnectionRecord[] = [];
    let token: string | undefined;
    for (let page = 0; ; page++) {
      if (page === MAX_PAGES) throw new PollError('too_large', `DescribeVpcEndpointConnections: more than ${MAX_PAGES} pages`);
      const out = await this.call('DescribeVpcEndpointConnections', () =>
        client.send(
          new sdk.DescribeVpcEndpointConnectionsCommand({
            Filters: [{ Name: 'service-id', Values: [this.options.serviceId] }],
            MaxResults: 1000,
            NextToken: token,
          }),
          { abortSignal: AbortSignal.timeout(this.options.limits.timeoutMs) },
        ),
      );
      // The documented answer always has the set (empty when there is nothing): without it this is
      // not that answer (a proxy's page, say), and reading it as "no endpoints" would cut everyone.
      if (!Array.isArray(out.VpcEndpointConnections)) {
        throw new PollError('bad_response', 'DescribeVpcEndpointConnections: the answer has no vpcEndpointConnectionSet');
      }
      records.push(...out.VpcEndpointConnections);
      token = out.NextToken;
      if (!token) break;
    }
    return fromAwsRecords(records);
  }

  async setState(connections: readonly EndpointConnection[], action: 'accept' | 'reject'): Promise<void> {
    const { sdk, client } = await this.ec2();
    const ids = connections.map((c) => c.ref);
    for (let i = 0; i < ids.length; i += 100) {
      const input = { ServiceId: this.options.serviceId, VpcEndpointIds: ids.slice(i, i + 100) };
      const command = action === 'accept' ? new sdk.AcceptVpcEndpointConnectionsCommand(input) : new sdk.RejectVpcEndpointConnectionsCommand(input);
      const out = await this.call(`${action === 'accept' ? 'Accept' : 'Reject'}VpcEndpointConnections`, () =>
        client.send(command as never, { abortSignal: AbortSignal.timeout(this.options.limits.timeoutMs) }),
      );
      const failed = (out as { Unsuccessful?: { ResourceId?: string; Error?: { Code?: string } }[] }).Unsuccessful ?? [];
      if (failed.length) {
        throw new PollError('http_error', `${action}: ${failed.map((f) => `${f.ResourceId}: ${f.Error?.Code}`).join(', ')}`);
      }
    }
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw new PollError(awsReason(err), `${what}: ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
}

function awsReason(err: unknown): PollFailureReason {
  const e = err as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  const name = e.name ?? '';
  // The SDK reports a reset connection as a TimeoutError "socket hang up": it never answered.
  if (/ECONNREFUSED|ENOTFOUND|ECONNRESET|EHOSTUNREACH|EAI_AGAIN|socket hang up/.test(`${e.code} ${e.message}`)) return 'unreachable';
  if (name === 'TimeoutError' || name === 'AbortError' || e.code === 'ETIMEDOUT') return 'timeout';
  if (/Throttl|RequestLimitExceeded/i.test(name)) return 'throttled';
  if (/UnauthorizedOperation|AuthFailure|AccessDenied|CredentialsProvider|InvalidClientTokenId/i.test(name)) return 'denied';
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return 'bad_response';
  return status === 429 || status === 503 ? 'throttled' : 'http_error';
}
