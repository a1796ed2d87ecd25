/**
 * The example app's stacks: the provider (account 111122223333) and one customer (account
 * 222233334444), both in eu-west-1, with cdk-nag's AWS Solutions checks over both.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConsumerStack } from './consumer-stack';
import { acknowledgeNagFindings } from './nag';
import { ProviderStack } from './provider-stack';

export const PROVIDER_ENV = { account: '111122223333', region: 'eu-west-1' };
export const CONSUMER_ENV = { account: '222233334444', region: 'eu-west-1' };
/** Stand-in until the provider is deployed: override with -c linkgate:endpointServiceName=… */
export const PLACEHOLDER_SERVICE_NAME = 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0';

export interface ExampleApp {
  readonly provider: ProviderStack;
  readonly consumer: ConsumerStack;
}

export interface ExampleAppOptions {
  /**
   * Apply the acknowledgments in nag.ts. Off only in the test that proves each one is needed.
   *
   * @default true
   */
  readonly acknowledgeNagFindings?: boolean;
}

export function buildExampleApp(app: App, options: ExampleAppOptions = {}): ExampleApp {
  const provider = new ProviderStack(app, 'linkgate-provider', {
    env: PROVIDER_ENV,
    description: 'linkgate provider: PrivateLink endpoint service with per-tenant filtering gateway',
  });
  const serviceName = (app.node.tryGetContext('linkgate:endpointServiceName') as string | undefined) ?? PLACEHOLDER_SERVICE_NAME;
  const consumer = new ConsumerStack(app, 'linkgate-consumer', {
    env: CONSUMER_ENV,
    description: 'linkgate consumer: interface endpoint and private DNS for one tenant',
    serviceName,
  });
  if (options.acknowledgeNagFindings ?? true) acknowledgeNagFindings(provider, consumer);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { provider, consumer };
}
