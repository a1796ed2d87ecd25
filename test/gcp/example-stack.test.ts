/** The example app's GCP stack (what `npx cdktf synth` writes as linkgate-gcp), built in process. */
import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeServiceAttachment } from '@cdktf/provider-google/lib/compute-service-attachment';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { Testing } from 'cdktf';
import { EXAMPLE_TENANTS, GcpExampleStack } from '../../examples/gcp/stack';
import { HOST_CONFIG_PATH } from '../../lib/gcp/cloud-init';
import { parseConfigText } from '../../lib/tenants';
import { file, resources, synthStack } from './helpers';

describe('examples/gcp GcpExampleStack', () => {
  const s = synthStack(new GcpExampleStack(Testing.app(), 'linkgate-gcp'));
  const { text, warnings } = s;

  test('THEN the stack, not a construct, configures the provider side and the consumer side', () => {
    expect(text).toHaveProviderWithProperties(GoogleProvider, { project: 'linkgate-provider-demo', region: 'europe-west1' });
    expect(text).toHaveProviderWithProperties(GoogleProvider, { alias: 'consumer', project: 'megacorp-prod' });
  });

  test('THEN it synthesizes without warnings', () => {
    expect(warnings).toEqual([]);
  });

  test('THEN the provider side publishes the attachment with the tenants’ projects and the public path', () => {
    expect(text).toHaveResourceWithProperties(ComputeServiceAttachment, {
      enable_proxy_protocol: true,
      consumer_accept_lists: [
        { project_id_or_num: 'initech-shared-vpc', connection_limit: 2 },
        { project_id_or_num: 'megacorp-prod', connection_limit: 5 },
      ],
    });
    expect(text).toHaveResourceWithProperties(ComputeForwardingRule, { load_balancing_scheme: 'EXTERNAL' });
  });

  test('THEN the consumer side runs under the consumer provider and outputs psc_connection_id', () => {
    expect(text).toHaveResourceWithProperties(ComputeForwardingRule, { provider: 'google.consumer', load_balancing_scheme: '' });
    expect(Object.keys(s.json.output ?? {}).sort()).toEqual(['doctor_command', 'psc_connection_id', 'public_ip', 'service_attachment']);
  });

  test('THEN the gateway config on the VMs keeps the example’s IDs exactly', () => {
    const loaded = parseConfigText(file(s, HOST_CONFIG_PATH).content);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.value.tenants.map((t) => t.allow?.gcp)).toEqual(EXAMPLE_TENANTS.map((t) => t.allow?.gcp));
    expect(loaded.value.tenants[0]!.allow!.gcp).toEqual(['18446744072646845442']);
  });

  test('THEN the consumer network is separate from the provider network', () => {
    expect(Object.keys(resources(s, 'google_compute_network')).sort()).toEqual(['ConsumerNetwork', 'Network']);
  });
});
