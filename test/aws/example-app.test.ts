/**
 * The example app (examples/aws, the app of cdk.json) with cdk-nag's AWS Solutions checks: no
 * finding may be left unacknowledged, every acknowledgment carries a reason, and each one is needed
 * (without them, exactly the acknowledged findings come back).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildExampleApp } from '../../examples/aws/build';
import { cdkContext } from './support';

interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
  acknowledgedId?: string;
  reason?: string;
}
interface Report {
  pluginReports: { pluginName: string; conclusion: string; violations: Violation[]; suppressedViolations?: Violation[] }[];
}

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;
const findings = (violations: readonly Violation[]) =>
  violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`)).sort();

describe('example app', () => {
  test('GIVEN the acknowledgments WHEN synthesized THEN both stacks are written and cdk-nag reports no open finding', () => {
    const app = new App({ context: cdkContext(), analyticsReporting: false });
    const { provider, consumer } = buildExampleApp(app);
    const assembly = app.synth();

    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['linkgate-consumer', 'linkgate-provider']);
    Template.fromStack(provider).resourceCountIs('AWS::EC2::VPCEndpointService', 1);
    Template.fromStack(consumer).resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    for (const stack of assembly.stacks) {
      const open = stack.messages.filter((m) => m.level === 'error' || m.level === 'warning');
      expect(open.map((m) => `${m.id}: ${String(m.entry.data)}`)).toEqual([]);
    }

    const nag = readReport(join(assembly.directory, 'validation-report.json')).pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.conclusion).toBe('success');
    expect(nag.violations).toEqual([]);
    expect(nag.suppressedViolations!.length).toBeGreaterThan(0);
    for (const acknowledged of nag.suppressedViolations!) {
      // A reason is a sentence, not a placeholder.
      expect(acknowledged.reason?.length ?? 0).toBeGreaterThan(40);
    }
  });

  test('GIVEN no acknowledgments WHEN synthesized THEN synth fails with exactly the findings the acknowledgments cover', () => {
    const acknowledgedApp = new App({ context: cdkContext(), analyticsReporting: false });
    buildExampleApp(acknowledgedApp);
    const acknowledged = readReport(join(acknowledgedApp.synth().directory, 'validation-report.json')).pluginReports.find(
      (r) => r.pluginName === 'AwsSolutions',
    )!.suppressedViolations!;

    const app = new App({ context: cdkContext(), analyticsReporting: false });
    buildExampleApp(app, { acknowledgeNagFindings: false });
    let message = '';
    try {
      app.synth();
    } catch (err) {
      message = (err as Error).message;
    }
    const reportFile = /found in: (\S+validation-report\.json)/.exec(message)?.[1];
    expect(reportFile).toBeDefined();
    const nag = readReport(reportFile!).pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.conclusion).toBe('failure');
    expect(findings(nag.violations)).toEqual(findings(acknowledged));
  });
});
