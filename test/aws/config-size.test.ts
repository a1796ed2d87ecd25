/**
 * The tenant list travels in the task definition ($LINKGATE_CONFIG, gzip+base64). ECS rejects a
 * task definition above 65,536 bytes (RegisterTaskDefinition: "Max allowed length is '65536'
 * bytes"; see lib/aws/defaults.ts for the sources), so the design target — 1,000 tenants — must
 * fit with room to spare. Beyond 32 KiB the config goes to S3 (configDelivery "auto"), and the task
 * definition only names it: 100,000 tenants keep it at a few KiB.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { ECS_TASK_DEFINITION_MAX_BYTES, MAX_INLINE_CONFIG_BYTES } from '../../lib/aws';
import { parseConfigText } from '../../lib/tenants';
import { filteringGateway, realisticTenants } from './support';

describe('GIVEN 1,000 realistic tenants (17-hex-digit endpoint IDs, two hostnames, a principal each)', () => {
  const build = () => filteringGateway({ tenants: realisticTenants(1000) });

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

describe('GIVEN 100,000 realistic tenants and the default configDelivery ("auto")', () => {
  test(
    'WHEN synthesized THEN the config goes to S3, the task definition stays a few KiB under its budget, and the staged object loads every tenant',
    () => {
      const started = Date.now();
      const { stack, gateway } = filteringGateway({ tenants: realisticTenants(100_000) });
      const assembly = (stack.node.root as unknown as { synth(): { directory: string } }).synth();
      const template = Template.fromStack(stack);
      const synthSeconds = (Date.now() - started) / 1000;

      expect(gateway.configDelivery).toBe('objectStore');
      const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as {
        Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] };
      }[];
      const size = Buffer.byteLength(JSON.stringify(taskDefinition!.Properties)) + 1024;
      expect(size).toBeLessThan(8 * 1024);
      expect(taskDefinition!.Properties.ContainerDefinitions[0]!.Environment.map((e) => e.Name)).not.toContain('LINKGATE_CONFIG');

      const staged = readFileSync(join(assembly.directory, gateway.configObject!.asset.assetPath), 'utf8');
      const loaded = parseConfigText(staged);
      expect(loaded.ok && loaded.value.tenants.length).toBe(100_000);
      const templateBytes = Buffer.byteLength(JSON.stringify(template.toJSON()));
      // One plain line with the figures the README states.
      process.stdout.write(
        `100k tenants: synth ${synthSeconds.toFixed(1)} s, config object ${staged.length} bytes, task definition ${size} bytes (with 1 KiB for ARNs), template ${templateBytes} bytes\n`,
      );
      expect(templateBytes).toBeLessThan(1_000_000);
    },
    300_000,
  );
});
