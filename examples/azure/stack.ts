/** Placeholder until the azure constructs land: an empty stack so the cdktf app synthesizes. */
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';

export class AzureExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
  }
}
