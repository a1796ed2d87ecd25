import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { FilteringGateway, PrivateLinkLoadBalancer, type FilteringGatewayProps } from '../../lib/aws';
import { TENANTS, UPSTREAMS, filteringGateway, logicalIdOf, newStack, newVpc, testImage } from './support';

function given(props: Partial<FilteringGatewayProps> = {}) {
  const { stack, lb, gateway, template } = filteringGateway(props);
  return { stack, lb, gateway, template: template() };
}

type Alarm = { Properties: Record<string, unknown> };
const alarmsOf = (template: Template) => template.findResources('AWS::CloudWatch::Alarm') as Record<string, Alarm>;
const alarm = (template: Template, id: string): Record<string, unknown> => {
  const found = Object.entries(alarmsOf(template)).filter(([logicalId]) => logicalId.startsWith(`GatewayObservability${id}`));
  expect(found.map(([k]) => k)).toHaveLength(1);
  return found[0]![1].Properties;
};
const env = (template: Template) => {
  const [def] = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as { Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] } }[];
  return Object.fromEntries(def!.Properties.ContainerDefinitions[0]!.Environment.map((e) => [e.Name, e.Value]));
};
/** A Fn::Join of literal parts and references, as text with `<Ref X>` for each reference. */
const joined = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const [sep, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p)}>`)).join(sep);
};

describe('FilteringGateway observability', () => {
  describe('GIVEN the defaults', () => {
    test('THEN the gateway writes EMF metric lines every 60 s under a stable service name', () => {
      const { template } = given();
      expect(env(template)).toMatchObject({
        LINKGATE_METRICS_LOG_INTERVAL_SEC: '60',
        LINKGATE_METRICS_LOG_NAMESPACE: 'Linkgate',
        LINKGATE_METRICS_LOG_SERVICE: 'Provider-Gateway',
        LINKGATE_METRICS_LOG_TENANTS: 'drops',
      });
    });

    test.each([
      ['SpoofedProxyHeader', 'spoofed_proxy_header', 1],
      ['BadCrc', 'bad_crc', 1],
      ['OverCapacity', 'over_capacity', 1],
      ['TenantOverCapacity', 'tenant_over_capacity', 10],
    ])('THEN alarm %s fires on Connections{Outcome=%s} Sum >= %d in 5 minutes', (id, outcome, threshold) => {
      expect(alarm(given().template, id)).toMatchObject({
        Namespace: 'Linkgate',
        MetricName: 'Connections',
        Dimensions: [
          { Name: 'Outcome', Value: outcome },
          { Name: 'Service', Value: 'Provider-Gateway' },
        ],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: threshold,
        TreatMissingData: 'notBreaching',
      });
    });

    test('THEN a Contributor Insights rule ranks tenants by link_id_not_allowed in the metric lines, and one alarm watches the top tenant', () => {
      const { template, gateway } = given();
      const [rule] = Object.values(template.findResources('AWS::CloudWatch::InsightRule')) as { Properties: { RuleBody: unknown; RuleName: string; RuleState: string } }[];
      expect(rule!.Properties).toMatchObject({ RuleName: 'Provider-Gateway-link-id-not-allowed', RuleState: 'ENABLED' });
      const body = JSON.parse(joined(rule!.Properties.RuleBody).replace(/<\{"Ref":"(\w+)"\}>/g, '<Ref $1>')) as Record<string, unknown>;
      expect(body).toEqual({
        Schema: { Name: 'CloudWatchLogRule', Version: 1 },
        LogGroupNames: [`<Ref ${logicalIdOf(gateway.logGroup)}>`],
        LogFormat: 'JSON',
        Contribution: {
          Keys: ['$.Tenant'],
          ValueOf: '$.Connections',
          Filters: [
            { Match: '$.msg', In: ['metrics'] },
            { Match: '$.Outcome', In: ['link_id_not_allowed'] },
          ],
        },
        AggregateOn: 'Sum',
      });
      expect(alarm(template, 'LinkIdNotAllowedPerTenant')).toMatchObject({
        Metrics: [{ Expression: "INSIGHT_RULE_METRIC('Provider-Gateway-link-id-not-allowed', 'MaxContributorValue')", Period: 300, ReturnData: true, Id: expect.any(String) }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 10,
      });
    });

    test('THEN failed config reloads alarm at 1, and with an inline config there is no fetch or age alarm', () => {
      const { template } = given();
      expect(alarm(template, 'ConfigReloadFailures')).toMatchObject({
        MetricName: 'ConfigReloadFailures',
        Dimensions: [{ Name: 'Service', Value: 'Provider-Gateway' }],
        Statistic: 'Sum',
        Threshold: 1,
      });
      const ids = Object.keys(alarmsOf(template));
      expect(ids.filter((id) => /ConfigFetch|ConfigAge/.test(id))).toEqual([]);
    });

    test('THEN unhealthy targets (3 minutes) and no healthy gateway (2 minutes, missing data counts) alarm on the target group', () => {
      const { template, lb } = given();
      const tgDimension = { Name: 'TargetGroup', Value: { 'Fn::GetAtt': [logicalIdOf(lb.targetGroup), 'TargetGroupFullName'] } };
      expect(alarm(template, 'PrivateLinkUnhealthyTargets')).toMatchObject({
        Namespace: 'AWS/NetworkELB',
        MetricName: 'UnHealthyHostCount',
        Dimensions: expect.arrayContaining([tgDimension]),
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
      });
      expect(alarm(template, 'PrivateLinkNoHealthyGateway')).toMatchObject({
        Namespace: 'AWS/NetworkELB',
        MetricName: 'HealthyHostCount',
        Dimensions: expect.arrayContaining([tgDimension]),
        Statistic: 'Minimum',
        EvaluationPeriods: 2,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
      });
    });

    test('THEN fewer running tasks than minCapacity for 5 minutes alarms (Container Insights count)', () => {
      expect(alarm(given().template, 'RunningTasks')).toMatchObject({
        Namespace: 'ECS/ContainerInsights',
        MetricName: 'RunningTaskCount',
        Statistic: 'Minimum',
        EvaluationPeriods: 5,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 2,
      });
    });

    test('THEN the alarms notify nobody, and an info note says how to be paged', () => {
      const { template, stack } = given();
      for (const a of Object.values(alarmsOf(template))) {
        expect(a.Properties.AlarmActions).toBeUndefined();
        expect(a.Properties.OKActions).toBeUndefined();
      }
      Annotations.fromStack(stack).hasInfo('/Provider/Gateway/Observability', Match.stringLikeRegexp('without a notification target; pass observability.alarmTopic'));
    });

    test('THEN a dashboard shows outcomes by reason and tenant, active connections, reloads, healthy hosts and the alarms', () => {
      const { template } = given();
      const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
      const body = joined(dashboard!.Properties.DashboardBody);
      expect(body).toContain(String.raw`SEARCH('{Linkgate,Service,Outcome} MetricName=\"Connections\" Service=\"Provider-Gateway\"', 'Sum', 60)`);
      expect(body).toContain(String.raw`SEARCH('{Linkgate,Service,Tenant,Outcome} MetricName=\"Connections\" Service=\"Provider-Gateway\" NOT Outcome=\"accepted\"', 'Sum', 300)`);
      for (const metric of ['ActiveConnections', 'ConfigReloads', 'ConfigReloadFailures', 'HealthyHostCount', 'UnHealthyHostCount', 'RunningTaskCount']) {
        expect(body).toContain(`"${metric}"`);
      }
      expect(body).toContain('"type":"alarm"');
    });
  });

  test('GIVEN an SNS topic WHEN created THEN every alarm notifies it on ALARM and on OK', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Pager');
    const vpc = newVpc(stack);
    const lb = new PrivateLinkLoadBalancer(stack, 'LoadBalancer', { vpc });
    new FilteringGateway(stack, 'Gateway', { vpc, loadBalancer: lb, tenants: TENANTS, upstreams: UPSTREAMS, image: testImage(), observability: { alarmTopic: topic } });
    const alarms = Object.values(alarmsOf(Template.fromStack(stack)));
    expect(alarms.length).toBe(9);
    for (const a of alarms) {
      expect(a.Properties).toMatchObject({ AlarmActions: [{ Ref: logicalIdOf(topic) }], OKActions: [{ Ref: logicalIdOf(topic) }] });
    }
    Annotations.fromStack(stack).hasNoInfo('/Provider/Gateway/Observability', Match.anyValue());
  });

  test('GIVEN the public path WHEN created THEN its target group has its own health alarms', () => {
    const { template } = given({ publicPath: true });
    expect(alarm(template, 'PublicNoHealthyGateway')).toMatchObject({ MetricName: 'HealthyHostCount' });
    expect(alarm(template, 'PublicUnhealthyTargets')).toMatchObject({ MetricName: 'UnHealthyHostCount' });
  });

  test('GIVEN a service name and thresholds WHEN created THEN the environment, dimensions, rule and thresholds use them', () => {
    const { template } = given({ observability: { serviceName: 'prod-gw', namespace: 'Acme/Linkgate', linkIdNotAllowedThreshold: 3, tenantMetrics: 'all', metricsIntervalSec: 30 } });
    expect(env(template)).toMatchObject({
      LINKGATE_METRICS_LOG_SERVICE: 'prod-gw',
      LINKGATE_METRICS_LOG_NAMESPACE: 'Acme/Linkgate',
      LINKGATE_METRICS_LOG_TENANTS: 'all',
      LINKGATE_METRICS_LOG_INTERVAL_SEC: '30',
    });
    expect(alarm(template, 'BadCrc')).toMatchObject({ Namespace: 'Acme/Linkgate', Dimensions: expect.arrayContaining([{ Name: 'Service', Value: 'prod-gw' }]) });
    expect(alarm(template, 'LinkIdNotAllowedPerTenant')).toMatchObject({
      Metrics: [expect.objectContaining({ Expression: "INSIGHT_RULE_METRIC('prod-gw-link-id-not-allowed', 'MaxContributorValue')" })],
      Threshold: 3,
    });
  });

  test('GIVEN observability off WHEN created THEN there are no alarms, rule or dashboard, and no metric lines', () => {
    const { template, gateway } = given({ observability: { enabled: false } });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::CloudWatch::InsightRule', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(env(template)).filter((k) => k.startsWith('LINKGATE_METRICS'))).toEqual([]);
    expect(gateway.observability).toBeUndefined();
  });

  test.each([
    [{ serviceName: 'prod gw' }, /observability.serviceName "prod gw" must be 1 to 100 letters, digits/],
    [{ namespace: 'AWS/NetworkELB' }, /observability.namespace "AWS\/NetworkELB" .* must not start with "AWS\/"/],
    [{ metricsIntervalSec: 5 }, /observability.metricsIntervalSec must be a whole number from 10 s to 300 s, got 5/],
    [{ tenantMetrics: 'none' as 'all' }, /observability.tenantMetrics must be "drops" or "all", got "none"/],
  ])('GIVEN %j THEN synth fails naming the prop and the allowed values', (observability, message) => {
    expect(() => given({ observability })).toThrow(message);
  });
});
