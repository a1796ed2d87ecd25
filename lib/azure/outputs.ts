/**
 * Terraform outputs under fixed names. cdktf names an output after its construct path plus a hash
 * (`linkgate_PrivateLinkService_Alias_1A2B3C4D`), which changes when the construct moves and
 * cannot be guessed by `cdktf output` readers; ours are `service_alias`, `private_endpoint_id`,
 * ..., with an optional prefix for a stack that holds two of the construct.
 */
import { TerraformOutput, TerraformStack, type TerraformOutputConfig } from 'cdktf';
import type { Construct } from 'constructs';
import { showValue } from '../tenants';
import type { PropIssues } from './validation';

const PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function checkOutputPrefix(issues: PropIssues, prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  if (!PREFIX_PATTERN.test(prefix)) {
    issues.add('outputPrefix', `must be letters, digits, "_" and "-", starting with a letter (a Terraform output name), got ${showValue(prefix)}`);
  }
  return prefix;
}

/** An output named exactly `prefix + name` in the stack. */
export function stableOutput(scope: Construct, id: string, prefix: string, name: string, config: TerraformOutputConfig): TerraformOutput {
  const outputName = `${prefix}${name}`;
  const taken = TerraformStack.of(scope)
    .node.findAll()
    .some((c) => c instanceof TerraformOutput && c.friendlyUniqueId === outputName);
  if (taken) {
    throw new Error(`${scope.node.path}: the stack already has an output named ${outputName}; give each linkgate construct in a stack its own outputPrefix`);
  }
  const output = new TerraformOutput(scope, id, config);
  output.overrideLogicalId(outputName);
  return output;
}
