import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lazy, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AUTO_INLINE_MAX_BYTES, type FilteringGatewayProps } from '../../lib/aws';
import { parseConfigText } from '../../lib/tenants';
import { filteringGateway, importedVpc, logicalIdOf, newVpc, realisticTenants } from './support';

const given = (props: Partial<FilteringGatewayProps> = {}, vpc?: (stack: Stack) => ec2.IVpc) => filteringGateway(props, { vpc });

const envOf = (template: Template): Record<string, unknown> => {
  const [def] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as { Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] } }[];
  return Object.fromEntries(def!.Properties.ContainerDefinitions[0]!.Environment.map((e) => [e.Name, e.Value]));
};
const policiesOf = (template: Template) =>
  Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { Roles: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } } }[];

describe('FilteringGateway config delivery', () => {
  test('GIVEN a small tenant list and the default "auto" THEN the config stays inline and nothing in S3 is read', () => {
    const { gateway, template } = given();
    expect(gateway.configDelivery).toBe('inline');
    expect(gateway.configBytes).toBeLessThan(AUTO_INLINE_MAX_BYTES);
    expect(envOf(template())).toHaveProperty('LINKGATE_CONFIG');
    expect(envOf(template())).not.toHaveProperty('LINKGATE_CONFIG_URL');
    template().resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  describe('GIVEN configDelivery "objectStore"', () => {
    test('THEN the tasks get an s3:// URL of the asset, and the region, instead of the inline config', () => {
      const { gateway, template } = given({ configDelivery: 'objectStore' });
      const env = envOf(template());
      expect(env).not.toHaveProperty('LINKGATE_CONFIG');
      expect(env.AWS_REGION).toBe('eu-west-1');
      // the bootstrap assets bucket of the stack's account and Region, the key the content hash
      expect(env.LINKGATE_CONFIG_URL).toBe(`s3://cdk-hnb659fds-assets-111122223333-eu-west-1/${gateway.configObject!.asset.assetHash}.json`);
    });

    test('THEN the read-only container gets a writable volume for the last good document its workers read', () => {
      const { template } = given({ configDelivery: 'objectStore', workers: 2 });
      expect(envOf(template()).LINKGATE_CONFIG_CACHE_DIR).toBe('/var/cache/linkgate');
      template().hasResourceProperties('AWS::ECS::TaskDefinition', {
        Volumes: [{ Name: 'config-cache' }],
        ContainerDefinitions: [
          Match.objectLike({
            ReadonlyRootFilesystem: true,
            MountPoints: [{ SourceVolume: 'config-cache', ContainerPath: '/var/cache/linkgate', ReadOnly: false }],
          }),
        ],
      });
      // AND the image owns that path as the gateway's user and declares it a VOLUME, so Fargate's bind mount is writable
      const dockerfile = readFileSync(join(__dirname, '..', '..', 'Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/chown 1000:1000 \.\.\/var\/cache\/linkgate/); // 1000: the node image's node user
      expect(dockerfile).toContain('VOLUME ["/var/cache/linkgate"]');
    });

    test('THEN the staged object is the rendered config, which the gateway loads with every tenant', () => {
      const { gateway, stack } = given({ configDelivery: 'objectStore' });
      const assembly = (stack.node.root as unknown as { synth(): { directory: string } }).synth();
      const staged = join(assembly.directory, gateway.configObject!.asset.assetPath);
      expect(existsSync(staged)).toBe(true);
      const loaded = parseConfigText(readFileSync(staged, 'utf8'));
      expect(loaded.ok && loaded.value.tenants.map((t) => t.name)).toEqual(['megacorp', 'initech']);
    });

    test('THEN the task role may read exactly that object (not the bucket), and the execution role nothing of it', () => {
      const { gateway, template } = given({ configDelivery: 'objectStore' });
      const s3Statements = policiesOf(template()).flatMap((p) =>
        p.Properties.PolicyDocument.Statement.filter((s) => JSON.stringify(s.Action).includes('s3:')).map((s) => ({ roles: p.Properties.Roles, ...s })),
      );
      expect(s3Statements).toEqual([
        {
          roles: [{ Ref: logicalIdOf(gateway.taskDefinition.taskRole) }],
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::cdk-hnb659fds-assets-111122223333-eu-west-1/${gateway.configObject!.asset.assetHash}.json`,
        },
      ]);
    });

    test('THEN an S3 gateway endpoint routes the task subnets to S3 without NAT, and the config alarms watch fetches and age', () => {
      const { template, vpc, stack } = given({ configDelivery: 'objectStore' });
      template().hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
        RouteTableIds: vpc.privateSubnets.map((s) => stack.resolve(s.routeTable.routeTableId) as unknown),
      });
      const alarms = Object.entries(template().findResources('AWS::CloudWatch::Alarm')) as [string, { Properties: Record<string, unknown> }][];
      const byId = (id: string) => alarms.find(([k]) => k.startsWith(`GatewayObservability${id}`))![1].Properties;
      expect(byId('ConfigFetchFailures')).toMatchObject({ MetricName: 'ConfigFetchFailures', Statistic: 'Sum', Threshold: 5 });
      expect(byId('ConfigAge')).toMatchObject({ MetricName: 'ConfigAgeSeconds', Statistic: 'Maximum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 600 });
    });

    test('WHEN the VPC already has an S3 gateway endpoint THEN no second one is added', () => {
      const { template } = given({ configDelivery: 'objectStore' }, (stack) => {
        const vpc = newVpc(stack);
        vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
        return vpc;
      });
      template().resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    });

    test('WHEN the VPC is imported THEN no endpoint is added and an info note states the route to S3 it needs', () => {
      const { template, stack } = given({ configDelivery: 'objectStore' }, (s) =>
        importedVpc(s, 'Imported', ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']),
      );
      template().resourceCountIs('AWS::EC2::VPCEndpoint', 0);
      Annotations.fromStack(stack).hasInfo('/Provider/Gateway/Config', Match.stringLikeRegexp('the task subnets need a route to S3'));
    });
  });

  test('GIVEN a tenant list above the inline threshold and "auto" THEN it goes to S3; with "inline" synth fails with the size, the limit and the fix', () => {
    const tenants = realisticTenants(2500);
    expect(given({ tenants }).gateway.configDelivery).toBe('objectStore');
    expect(() => given({ tenants, configDelivery: 'inline' })).toThrow(/bytes in \$LINKGATE_CONFIG; at most 57344 fit .*configDelivery "objectStore" \(or "auto"\) puts it in S3/);
  });

  test('GIVEN a deploy-time upstream host WHEN "objectStore" THEN synth fails saying why; "auto" keeps it inline', () => {
    const upstreams = { default: { host: Lazy.string({ produce: () => 'app.internal.example.com' }), port: 443 } };
    expect(() => given({ upstreams, configDelivery: 'objectStore' })).toThrow(/configDelivery "objectStore" needs a config known at synth time/);
    expect(given({ upstreams }).gateway.configDelivery).toBe('inline');
  });

  test('GIVEN an unknown configDelivery THEN synth fails listing the allowed values', () => {
    expect(() => given({ configDelivery: 's3' as 'auto' })).toThrow(/configDelivery must be one of "auto", "inline", "objectStore", got "s3"/);
  });
});
