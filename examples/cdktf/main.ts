/**
 * The CDK for Terraform app behind cdktf.json: one stack per cloud. `npx cdktf synth` writes
 * cdktf.out/stacks/linkgate-azure and cdktf.out/stacks/linkgate-gcp, offline.
 */
import { App } from 'cdktf';
import { AzureExampleStack } from '../azure/stack';
import { GcpExampleStack } from '../gcp/stack';

const app = new App();
new AzureExampleStack(app, 'linkgate-azure');
new GcpExampleStack(app, 'linkgate-gcp');
app.synth();
