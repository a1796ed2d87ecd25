/**
 * Stack outputs under fixed names. CDK names an output after its construct path plus a hash
 * (`LinkgateServiceNameC8049548`), which changes when the construct moves and cannot be guessed
 * by the scripts and people that read `cdk deploy`'s outputs; ours are `ServiceName`,
 * `EndpointId`, ..., with an optional prefix for a stack that holds two of the construct.
 */
import { CfnOutput, Stack, type CfnOutputProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { fail, show } from './validate';

const PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9]*$/;

export function checkOutputPrefix(scope: Construct, prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  if (!PREFIX_PATTERN.test(prefix)) {
    fail(scope, `outputPrefix ${show(prefix)} must be letters and digits, starting with a letter (CloudFormation output names are alphanumeric)`);
  }
  return prefix;
}

/** An output whose name in the stack is exactly `prefix + name`. */
export function stableOutput(scope: Construct, prefix: string, name: string, props: CfnOutputProps): CfnOutput {
  const logicalId = `${prefix}${name}`;
  const stack = Stack.of(scope);
  const taken = stack.node
    .findAll()
    .some((c) => c instanceof CfnOutput && stack.resolve(c.logicalId) === logicalId);
  if (taken) {
    fail(scope, `the stack already has an output named ${logicalId}; give each linkgate construct in a stack its own outputPrefix`);
  }
  const output = new CfnOutput(scope, name, props);
  output.overrideLogicalId(logicalId);
  return output;
}
