/**
 * The cloud-init documents the gateway VMs boot with, taken out of the synthesized Terraform
 * (Azure: the scale sets' custom data; GCP: the instance templates' `user-data`), checked with the
 * real tools: `cloud-init schema` on each document and `shellcheck` on every shell script in them
 * (write_files with a shell shebang, runcmd and bootcmd as cloud-init runs them).
 */
import { Testing } from 'cdktf';
import { AzureExampleStack } from '../examples/azure/stack';
import { GcpExampleStack } from '../examples/gcp/stack';
import { GatewayInstanceGroup } from '../lib/gcp';
import { gatewayScaleSet, synth as synthAzure } from './azure/fixtures';
import { cloudInitSchema, shellcheck, shellScriptsIn } from './helpers/cloud-init';
import { describeWithPeer } from './helpers/peers';
import { PUBLIC_ADDRESS, instanceGroupProps, synth as synthGcp } from './gcp/helpers';

jest.setTimeout(120_000);

type TerraformJson = { resource?: Record<string, Record<string, Record<string, unknown>>> };
const resourcesOf = (json: string, type: string) => Object.values((JSON.parse(json) as TerraformJson).resource?.[type] ?? {});

/** Each scale set's custom data, decoded as the VM decodes it. */
const azureDocuments = (json: string) =>
  resourcesOf(json, 'azurerm_linux_virtual_machine_scale_set').map((vmss) => Buffer.from(vmss.custom_data as string, 'base64').toString('utf8'));
/** Each instance template's `user-data`. */
const gcpDocuments = (json: string) =>
  resourcesOf(json, 'google_compute_instance_template').map((t) => (t.metadata as Record<string, string>)['user-data']!);

function only(documents: string[], what: string): string {
  if (documents.length !== 1) throw new Error(`${what}: expected one cloud-init document, found ${documents.length}`);
  return documents[0]!;
}

/** Every document the constructs render, in the shapes users deploy, and the example apps'. */
const DOCUMENTS: Record<string, string> = {
  'azure gateway (ACR image, managed-identity login)': only(azureDocuments(synthAzure((s) => gatewayScaleSet(s)).json), 'azure gateway'),
  'azure gateway (public registry image, Docker from the Ubuntu archive, NAT gateway, public load balancer)': only(
    azureDocuments(synthAzure((s) => gatewayScaleSet(s, { publicLb: { name: 'lg-plb' }, props: { image: 'ghcr.io/example/linkgate:0.1.0', acrId: undefined, sourceImageId: undefined, outboundAccess: 'natGateway' } })).json),
    'azure gateway with public path',
  ),
  'azure example stack': only(azureDocuments(Testing.synth(new AzureExampleStack(Testing.app(), 'linkgate-azure'))), 'azure example'),
  'gcp gateway (Artifact Registry image, private only)': only(
    gcpDocuments(synthGcp((s) => new GatewayInstanceGroup(s, 'Gateway', instanceGroupProps())).text),
    'gcp gateway',
  ),
  'gcp gateway (public image, public path, port redirects)': only(
    gcpDocuments(
      synthGcp(
        (s) =>
          new GatewayInstanceGroup(
            s,
            'Gateway',
            instanceGroupProps({
              image: 'ghcr.io/example/linkgate:0.1.0',
              privateLinkFrontendPort: 443,
              publicAccess: true,
              publicAddress: PUBLIC_ADDRESS,
              publicFrontendPort: 443,
              publicSourceRanges: ['198.51.100.0/24'],
            }),
          ),
      ).text,
    ),
    'gcp gateway with public path',
  ),
  'gcp example stack': only(gcpDocuments(Testing.synth(new GcpExampleStack(Testing.app(), 'linkgate-gcp'))), 'gcp example'),
  'gcp gateway (config from Cloud Storage, an additional private-link port)': only(
    gcpDocuments(
      synthGcp(
        (s) =>
          new GatewayInstanceGroup(
            s,
            'Gateway',
            instanceGroupProps({
              configDelivery: 'objectStore',
              upstreams: { default: { host: 'app.internal.example.com', port: 443 }, db: { host: 'db.internal.example.com', port: 5432 } },
              additionalPrivateLinkPorts: [{ name: 'postgres', port: 5432, upstream: 'db' }],
            }),
          ),
      ).text,
    ),
    'gcp gateway from Cloud Storage',
  ),
};

describeWithPeer('cloud-init', 'cloud-init schema on the gateway VMs’ cloud-config', () => {
  test('GIVEN a document with a wrong type and an unknown encoding WHEN validated THEN cloud-init rejects it (the check can fail)', async () => {
    const result = await cloudInitSchema('#cloud-config\nwrite_files:\n  - path: /x\n    encoding: gzip-please\n    content: a\nruncmd: 5\n');
    expect(result.status).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/runcmd: 5 is not of type 'array'/);
  });

  test.each(Object.keys(DOCUMENTS))('GIVEN the %s WHEN validated with cloud-init schema THEN it is valid', async (name) => {
    const result = await cloudInitSchema(DOCUMENTS[name]!);
    expect({ status: result.status, output: (result.stdout + result.stderr).trim() }).toEqual({
      status: 0,
      output: expect.stringMatching(/^Valid cloud-config: \S*\/user-data$/),
    });
  });
});

describeWithPeer('shellcheck', 'shellcheck on the shell scripts in the gateway VMs’ cloud-config', () => {
  test('GIVEN a script with an unquoted expansion WHEN checked THEN shellcheck reports it (the check can fail)', async () => {
    const findings = await shellcheck([{ origin: 'canary', text: '#!/bin/sh\nrm -f $1\n' }]);
    expect(findings).toEqual([expect.stringMatching(/^canary:2:7: .*\[SC2086\]$/)]);
  });

  test('GIVEN the documents WHEN their scripts are taken out THEN each cloud has the scripts it installs and runs', () => {
    const origins = (name: string) => shellScriptsIn(DOCUMENTS[name]!).map((s) => s.origin);
    expect(origins('azure gateway (ACR image, managed-identity login)')).toEqual([
      'write_files /usr/local/lib/linkgate/agent',
      'write_files /usr/local/lib/linkgate/gateway',
      'write_files /usr/local/lib/linkgate/registry-login',
      'runcmd',
    ]);
    expect(origins('gcp gateway (Artifact Registry image, private only)')).toEqual(['runcmd']);
  });

  test.each(Object.keys(DOCUMENTS))('GIVEN the %s WHEN its scripts are checked THEN shellcheck finds nothing', async (name) => {
    const scripts = shellScriptsIn(DOCUMENTS[name]!);
    expect(scripts.length).toBeGreaterThan(0);
    expect(await shellcheck(scripts)).toEqual([]);
  });
});
