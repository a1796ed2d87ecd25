/**
 * http mode on AWS: the provider's certificates from Secrets Manager, and one shared hostname
 * published as the endpoint service's private DNS name.
 *
 * Fargate cannot mount a secret as a file, so ECS injects each certificate's PEM chain and key into
 * environment variables of the gateway container (`secrets` in the container definition, read by
 * the task's *execution* role when a task starts) and the gateway reads them with
 * `certEnv` / `keyEnv`. The gateway process itself gets no Secrets Manager permission, and no other
 * task or container sees the variables. A rotated secret reaches the gateway with the next task:
 * `cdk deploy` of a changed version, or `aws ecs update-service --force-new-deployment`.
 */
import { Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import { Secret as EcsSecret } from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { checkHttpMode, renderHttpSettings, type GatewayConfigInput, type HttpModeCommonProps } from '../tenants';
import { fail, isUnresolved, show } from './internal/validate';

/** One certificate: a Secrets Manager secret whose JSON value holds the PEM chain and its key. */
export interface AwsHttpCertificate {
  /**
   * The secret, e.g. `secretsmanager.Secret.fromSecretCompleteArn(...)`. Its value is JSON:
   * `{"certificate": "-----BEGIN CERTIFICATE-----…", "privateKey": "-----BEGIN PRIVATE KEY-----…"}`
   * (an ACM exportable certificate, once exported, is stored this way). With a customer managed
   * KMS key, import the secret with `encryptionKey` so the execution role may decrypt it.
   */
  readonly secret: secretsmanager.ISecret;
  /**
   * JSON field holding the PEM certificate chain, leaf first.
   *
   * @default 'certificate'
   */
  readonly certificateField?: string;
  /**
   * JSON field holding the PEM private key.
   *
   * @default 'privateKey'
   */
  readonly privateKeyField?: string;
  /**
   * DNS names the certificate covers (its SANs), to check `sharedHostname` against at synth.
   *
   * @default - not checked (the gateway checks the certificate when the task starts)
   */
  readonly names?: string[];
}

/** `httpMode` of the AWS gateway: the private-link listener terminates TLS and decides per request. */
export interface AwsHttpModeProps extends HttpModeCommonProps {
  /** The certificates, chosen per connection by SNI (the first one when none covers it). */
  readonly certificates: AwsHttpCertificate[];
}

/** Environment variables a certificate reaches the gateway container in. */
export function httpCertificateEnv(index: number): { certEnv: string; keyEnv: string } {
  return { certEnv: `LINKGATE_HTTP_CERT_${index}`, keyEnv: `LINKGATE_HTTP_KEY_${index}` };
}

/** Checks `httpMode` and returns the gateway config's `http` section (certificates by variable). */
export function awsHttpSettings(scope: Construct, props: AwsHttpModeProps): NonNullable<GatewayConfigInput['http']> {
  const issues = checkHttpMode(props, isUnresolved);
  if (issues.length > 0) fail(scope, issues.map((i) => `${i.path} ${i.message}`).join('; '));
  props.certificates.forEach((c, i) => {
    if (!c?.secret) fail(scope, `httpMode.certificates[${i}].secret is required: the Secrets Manager secret holding the PEM pair, got ${show(c?.secret)}`);
  });
  return renderHttpSettings(props, props.certificates.map((_, i) => httpCertificateEnv(i)));
}

/**
 * Puts each certificate's secret fields into the container's environment. `addSecret` grants the
 * task's execution role `secretsmanager:GetSecretValue` (and `DescribeSecret`) on exactly that
 * secret's ARN, plus `kms:Decrypt` through Secrets Manager when the secret names its KMS key.
 */
export function addHttpCertificateSecrets(container: ecs.ContainerDefinition, props: AwsHttpModeProps): void {
  const executionRole = container.taskDefinition.obtainExecutionRole();
  props.certificates.forEach((c, i) => {
    const env = httpCertificateEnv(i);
    container.addSecret(env.certEnv, EcsSecret.fromSecretsManager(c.secret, c.certificateField ?? 'certificate'));
    container.addSecret(env.keyEnv, EcsSecret.fromSecretsManager(c.secret, c.privateKeyField ?? 'privateKey'));
    // grantRead puts an imported key's permission on the key policy, which CDK cannot change:
    // the role's own policy must allow the decrypt, and only as Secrets Manager's caller.
    if (c.secret.encryptionKey) {
      executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [c.secret.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(container).region}.amazonaws.com` } },
        }),
      );
    }
  });
}

/**
 * The provider's private DNS name: `sharedHostname` is published as the endpoint service's
 * private DNS name, so consumers who enable private DNS on their endpoint resolve it with no
 * record of their own. Given both, they must be the same name.
 */
export function withSharedHostname<P extends { readonly privateDnsName?: string; readonly httpMode?: AwsHttpModeProps }>(
  scope: Construct,
  props: P,
): P {
  const shared = props.httpMode?.sharedHostname;
  if (shared === undefined) return props;
  if (props.privateDnsName !== undefined && !isUnresolved(props.privateDnsName) && !isUnresolved(shared) &&
    props.privateDnsName.toLowerCase().replace(/\.$/, '') !== shared.toLowerCase().replace(/\.$/, '')) {
    fail(
      scope,
      `httpMode.sharedHostname ${show(shared)} differs from privateDnsName ${show(props.privateDnsName)}: an endpoint service has ` +
        'one private DNS name, and the shared hostname is it; set one of them',
    );
  }
  return { ...props, privateDnsName: props.privateDnsName ?? shared };
}
