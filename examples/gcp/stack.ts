/** Placeholder until the gcp constructs land: an empty stack so the cdktf app synthesizes. */
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';

export class GcpExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
  }
}
