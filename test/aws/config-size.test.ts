/**
 * The tenant list travels in the task definition ($LINKGATE_CONFIG, gzip+base64). ECS rejects a
 * task definition above 65,536 bytes (RegisterTaskDefinition: "Max allowed length is '65536'
 * bytes"; see lib/aws/defaults.ts for the sources), so the design target — 1,000 tenants — must
 * fit with room to spare.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { ECS_TASK_DEFINITION_MAX_BYTES, FilteringGateway, MAX_INLINE_CONFIG_BYTES, PrivateLinkLoadBalancer } from '../../lib/aws';
import { parseConfigText } from '../../lib/tenants';
import { UPSTREAMS, newStack, newVpc, realisticTenants, testImage } from './support';

describe('GIVEN 1,000 realistic tenants (17-hex-digit endpoint IDs, two hostnames, a principal each)', () => {
  const build = () => {
    const stack = newStack();
    const vpc = newVpc(stack);
    const gateway = new FilteringGateway(stack, 'Gateway', {
      vpc,
      loadBalancer: new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc }),
      tenants: realisticTenants(1000),
      upstreams: UPSTREAMS,
      image: testImage(),
    });
    return { stack, gateway };
  };

  test('WHEN rendered THEN the compressed config is about 28 KB of the 56 KiB it may use, from about 165 KB of JSON', () => {
    const { gateway } = build();
    const raw = Buffer.byteLength(JSON.stringify(gateway.config));
    // The figures the README states (measured: 165,488 bytes raw, 27,644 encoded).
    expect(raw).toBeGreaterThan(160_000);
    expect(raw).toBeLessThan(170_000);
    expect(gateway.configBytes).toBeLessThan(29_000);
    expect(gateway.configBytes).toBeLessThan(MAX_INLINE_CONFIG_BYTES / 2);
  });

  test('WHEN synthesized THEN the whole task definition stays under the ECS limit, and the config decodes to every tenant', () => {
    const { stack } = build();
    const [taskDefinition] = Object.values(Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition')) as {
      Properties: { ContainerDefinitions: { Environment: { Name: string; Value: string }[] }[] };
    }[];
    // References (role ARNs, image URI, log group) are still intrinsics here; allow 1 KiB for
    // them to grow into real ARNs at deploy time.
    const size = Buffer.byteLength(JSON.stringify(taskDefinition!.Properties)) + 1024;
    expect(size).toBeLessThan(ECS_TASK_DEFINITION_MAX_BYTES);

    const value = taskDefinition!.Properties.ContainerDefinitions[0]!.Environment.find((e) => e.Name === 'LINKGATE_CONFIG')!.Value;
    const loaded = parseConfigText(value);
    expect(loaded.ok && loaded.value.tenants.length).toBe(1000);
  });
});
