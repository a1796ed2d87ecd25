/**
 * How the rendered gateway config reaches the tasks: inline in the task definition while it is
 * small, or as an S3 object (a file asset of this stack) that the gateway fetches with its task
 * role when the tenant list outgrows the task definition (contract A of issue 12).
 *
 * Why an asset and not a bucket of our own: the asset is already how `cdk deploy` ships files
 * (no extra bucket, Lambda or copy step), its key is the content hash, and a new tenant list is a
 * new key, hence a new task definition revision rolled out like an inline change — which keeps
 * the deployment circuit breaker's rollback, and keeps the endpoint service's acceptance of new
 * endpoints after the gateways run the list that allows them (CloudFormation waits for the new
 * tasks; it could not wait for a poll).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { fail, show } from './internal/validate';

/**
 * `inline`: `$LINKGATE_CONFIG` in the task definition. `objectStore`: an S3 object, named in
 * `$LINKGATE_CONFIG_URL`. `auto`: inline up to `AUTO_INLINE_MAX_BYTES`, S3 above.
 */
export type ConfigDelivery = 'auto' | 'inline' | 'objectStore';

/**
 * Largest encoded config `auto` keeps inline: 32 KiB, well under the 56 KiB the task definition
 * allows it, so that the other settings (and a growing list between two deploys) keep headroom.
 * About 1,150 tenants of two hostnames and one endpoint each.
 */
export const AUTO_INLINE_MAX_BYTES = 32 * 1024;

const DELIVERIES: readonly ConfigDelivery[] = ['auto', 'inline', 'objectStore'];

/** Picks the delivery for a rendered config; `deployTimeValues` when the config holds tokens. */
export function chooseConfigDelivery(
  scope: Construct,
  requested: ConfigDelivery | undefined,
  inlineBytes: number,
  deployTimeValues: boolean,
): 'inline' | 'objectStore' {
  const mode = requested ?? 'auto';
  if (!DELIVERIES.includes(mode)) {
    fail(scope, `configDelivery must be one of ${DELIVERIES.map((d) => show(d)).join(', ')}, got ${show(mode)}`);
  }
  if (mode === 'objectStore' && deployTimeValues) {
    fail(
      scope,
      'configDelivery "objectStore" needs a config known at synth time, but an upstream host or port is a deploy-time value ' +
        '(a token); use a literal value, or configDelivery "inline" (CloudFormation fills tokens in the task definition only)',
    );
  }
  if (mode === 'auto') return !deployTimeValues && inlineBytes > AUTO_INLINE_MAX_BYTES ? 'objectStore' : 'inline';
  return mode;
}

export interface GatewayConfigObjectProps {
  /** The rendered config (JSON text) the gateway loads. */
  readonly json: string;
  /** The gateway's identity: may read this one object, nothing else in the bucket. */
  readonly reader: iam.IRole;
  readonly vpc: ec2.IVpc;
  /** The tasks' subnets: their route tables get the S3 gateway endpoint route. */
  readonly taskSubnets: ec2.SubnetSelection;
  /**
   * Add an S3 gateway endpoint to the tasks' subnets, so the config (and the image layers, which
   * ECR serves from S3) never take a NAT or internet path.
   *
   * @default - when the VPC is defined in this app and has no S3 gateway endpoint; an imported VPC
   * is assumed to route to S3 already (an info note says so)
   */
  readonly s3GatewayEndpoint?: boolean;
}

/**
 * The rendered config as an S3 file asset: staged into `cdk.out` at synth, uploaded by
 * `cdk deploy` to the bootstrap assets bucket under its content hash, readable by the task role on
 * exactly that object.
 */
export class GatewayConfigObject extends Construct {
  readonly asset: s3assets.Asset;
  /** `s3://BUCKET/KEY`: what the gateway is given in `$LINKGATE_CONFIG_URL`. */
  readonly url: string;
  readonly bytes: number;
  readonly s3GatewayEndpoint?: ec2.GatewayVpcEndpoint;

  constructor(scope: Construct, id: string, props: GatewayConfigObjectProps) {
    super(scope, id);
    this.bytes = Buffer.byteLength(props.json);
    // The asset is staged (copied into the cloud assembly, hashed) while it is constructed, so the
    // temporary file can go right after.
    const dir = mkdtempSync(join(tmpdir(), 'linkgate-config-'));
    try {
      const file = join(dir, 'gateway-config.json');
      writeFileSync(file, props.json);
      this.asset = new s3assets.Asset(this, 'Asset', { path: file, displayName: 'linkgate gateway config' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    this.url = this.asset.s3ObjectUrl;

    // Exactly this object: not the bucket (asset.grantRead would open every asset of the account).
    props.reader.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.asset.bucket.arnForObjects(this.asset.s3ObjectKey)] }),
    );
    // A bootstrap with a customer-managed key (cdk bootstrap --bootstrap-customer-key).
    this.asset.bucket.encryptionKey?.grantDecrypt(props.reader);

    const hasEndpoint = props.vpc instanceof ec2.Vpc ? hasS3GatewayEndpoint(props.vpc) : undefined;
    const create = props.s3GatewayEndpoint ?? hasEndpoint === false;
    if (create) {
      this.s3GatewayEndpoint = new ec2.GatewayVpcEndpoint(this, 'S3Endpoint', {
        vpc: props.vpc,
        service: ec2.GatewayVpcEndpointAwsService.S3,
        subnets: [props.taskSubnets],
      });
    } else if (props.s3GatewayEndpoint === undefined && hasEndpoint === undefined) {
      Annotations.of(this).addInfo(
        'linkgate: the gateway reads its config from S3; the VPC is imported, so no S3 gateway endpoint is added: the task subnets ' +
          'need a route to S3 (a gateway endpoint, or the NAT they use for the image registry); s3GatewayEndpoint: true adds one',
      );
    }
  }
}

/** Whether a VPC defined in this app already has a gateway endpoint for S3. */
function hasS3GatewayEndpoint(vpc: ec2.Vpc): boolean {
  const stack = Stack.of(vpc);
  return stack.node
    .findAll()
    .some(
      (c) =>
        c instanceof ec2.CfnVPCEndpoint &&
        (c.vpcEndpointType ?? 'Gateway') === 'Gateway' &&
        JSON.stringify(stack.resolve(c.vpcId)) === JSON.stringify(stack.resolve(vpc.vpcId)) &&
        // `com.amazonaws.<region>.s3`, literal or joined with the region reference
        /\.s3"/.test(JSON.stringify(stack.resolve(c.serviceName))),
    );
}
