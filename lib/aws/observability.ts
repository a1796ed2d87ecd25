/**
 * What a platform team needs on day one: the gateway's per-tenant, per-reason counts as CloudWatch
 * metrics, alarms on what means an attack or an outage, and a dashboard per deployment.
 *
 * The metrics cost no sidecar: the gateway writes CloudWatch Embedded Metric Format lines on
 * stdout (`LINKGATE_METRICS_LOG_INTERVAL_SEC`), the awslogs driver ships them with the decision
 * logs, and CloudWatch Logs extracts the metrics from any event in that shape (the
 * `x-amzn-logs-format: json/emf` header "is not required":
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Generation_PutLogEvents.html).
 */
import { Annotations, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, type IConstruct } from 'constructs';
import { checkRange, fail, show } from './internal/validate';

/** The observability settings of `FilteringGateway` (and `LinkgateProvider`). */
export interface GatewayObservabilityOptions {
  /**
   * Metrics from the gateway's log stream, alarms and a dashboard. Off: none of them, and the
   * gateway writes no metric lines.
   *
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Where alarms notify, on ALARM and back to OK.
   *
   * @default - no notification: the alarms exist and show in the console and on the dashboard,
   * but page nobody (a synth-time info note says so)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The `Service` dimension of every metric: names this deployment in CloudWatch, so keep it stable
   * (changing it starts new metric series). Letters, digits, ".", "_" and "-".
   *
   * @default - the stack name and the construct path, e.g. `SaasPrivateLink-Linkgate-Gateway`
   */
  readonly serviceName?: string;
  /**
   * CloudWatch namespace of the gateway's metrics.
   *
   * @default "Linkgate"
   */
  readonly namespace?: string;
  /**
   * Seconds between the gateway's metric lines (one per tenant and outcome with a nonzero count,
   * plus one summary line, per process).
   *
   * @default 60
   */
  readonly metricsIntervalSec?: number;
  /**
   * Which counts carry a `Tenant` dimension: `drops` (every drop reason, per tenant) or `all`
   * (accepted connections per tenant too: one more custom metric per tenant).
   *
   * @default "drops"
   */
  readonly tenantMetrics?: 'drops' | 'all';
  /**
   * `link_id_not_allowed` drops of one tenant in 5 minutes that raise the per-tenant alarm (a
   * customer's endpoint missing from `allow.aws`, or someone probing a tenant's hostnames).
   *
   * @default 10
   */
  readonly linkIdNotAllowedThreshold?: number;
  /**
   * `tenant_over_capacity` drops in 5 minutes that raise their alarm (a tenant at its share of the
   * gateway's connections; the others are protected by design, so a few are not worth a page).
   *
   * @default 10
   */
  readonly tenantOverCapacityThreshold?: number;
  /**
   * With the config in S3: seconds since the last successful fetch (or unchanged answer) of any
   * gateway process beyond which the config-age alarm fires (the gateway polls every 30 s and keeps
   * its last good config, so this is how long a tenant change may fail to arrive unnoticed).
   *
   * @default 600
   */
  readonly maxConfigAgeSec?: number;
}

export interface GatewayObservabilityProps extends GatewayObservabilityOptions {
  readonly service: ecs.FargateService;
  readonly cluster: ecs.ICluster;
  readonly logGroup: logs.ILogGroup;
  /** The private-link target groups (the first, then one per additional port), and the public one. */
  readonly targetGroups: readonly { readonly name: string; readonly targetGroup: elbv2.NetworkTargetGroup }[];
  /** Fewest tasks autoscaling keeps: fewer running is an alarm. */
  readonly minCapacity: number;
  /** The config is fetched from S3: the fetch and age alarms apply. */
  readonly configFromObjectStore: boolean;
}

/** An alarm this construct creates and what it watches (also rendered into the README's table). */
export interface GatewayAlarm {
  readonly alarm: cloudwatch.Alarm;
  readonly why: string;
}

const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const NAMESPACE_PATTERN = /^[A-Za-z0-9._/#:-]{1,255}$/;
const FIVE_MINUTES = Duration.minutes(5);

/** The environment the gateway container needs to write metric lines. */
export function metricsEnvironment(o: { namespace: string; serviceName: string; intervalSec: number; tenantMetrics: string }): Record<string, string> {
  return {
    LINKGATE_METRICS_LOG_INTERVAL_SEC: String(o.intervalSec),
    LINKGATE_METRICS_LOG_NAMESPACE: o.namespace,
    LINKGATE_METRICS_LOG_SERVICE: o.serviceName,
    LINKGATE_METRICS_LOG_TENANTS: o.tenantMetrics,
  };
}

/** The default `serviceName`: stack name and construct path, as a CloudWatch-safe string. */
export function defaultServiceName(scope: IConstruct): string {
  const stack = Stack.of(scope);
  const stackName = Token.isUnresolved(stack.stackName) ? stack.node.id : stack.stackName;
  const path = scope.node.scopes.slice(scope.node.scopes.indexOf(stack) + 1).map((s) => s.node.id);
  return [stackName, ...path].join('-').replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100);
}

/** Resolves and checks the options once (the gateway needs them for its environment too). */
export function resolveObservability(scope: IConstruct, o: GatewayObservabilityOptions | undefined) {
  const serviceName = o?.serviceName ?? defaultServiceName(scope);
  if (!Token.isUnresolved(serviceName) && !SERVICE_NAME_PATTERN.test(serviceName)) {
    fail(scope, `observability.serviceName ${show(serviceName)} must be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  const namespace = o?.namespace ?? 'Linkgate';
  if (!Token.isUnresolved(namespace) && (!NAMESPACE_PATTERN.test(namespace) || namespace.startsWith('AWS/'))) {
    fail(scope, `observability.namespace ${show(namespace)} must be 1 to 255 letters, digits or . _ / # : - and must not start with "AWS/"`);
  }
  const tenantMetrics = o?.tenantMetrics ?? 'drops';
  if (tenantMetrics !== 'drops' && tenantMetrics !== 'all') {
    fail(scope, `observability.tenantMetrics must be "drops" or "all", got ${show(tenantMetrics)}`);
  }
  return {
    enabled: o?.enabled ?? true,
    serviceName,
    namespace,
    tenantMetrics,
    intervalSec: checkRange(scope, 'observability.metricsIntervalSec', o?.metricsIntervalSec ?? 60, 10, 300, ' s'),
  };
}

/**
 * Alarms and a dashboard for one gateway deployment, on the metrics its EMF lines produce and on
 * the NLB's and ECS's own. Children: one alarm per concern (IDs below), `LinkIdNotAllowedRule`
 * (a Contributor Insights rule), `Dashboard`.
 */
export class GatewayObservability extends Construct {
  readonly serviceName: string;
  readonly namespace: string;
  readonly alarms: Record<string, GatewayAlarm> = {};
  readonly dashboard: cloudwatch.Dashboard;
  /** Ranks tenants by `link_id_not_allowed` drops from the log group (the per-tenant alarm's source). */
  readonly linkIdNotAllowedRule: cloudwatch.CfnInsightRule;
  readonly alarmTopic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: GatewayObservabilityProps) {
    super(scope, id);
    const resolved = resolveObservability(scope, props);
    this.serviceName = resolved.serviceName;
    this.namespace = resolved.namespace;
    this.alarmTopic = props.alarmTopic;
    const linkIdThreshold = checkRange(this, 'observability.linkIdNotAllowedThreshold', props.linkIdNotAllowedThreshold ?? 10, 1, 1_000_000);
    const tenantCapThreshold = checkRange(this, 'observability.tenantOverCapacityThreshold', props.tenantOverCapacityThreshold ?? 10, 1, 1_000_000);
    const maxConfigAgeSec = checkRange(this, 'observability.maxConfigAgeSec', props.maxConfigAgeSec ?? 600, 60, 86_400, ' s');

    const gatewayMetric = (metricName: string, dimensions: Record<string, string>, statistic = cloudwatch.Stats.SUM, period = FIVE_MINUTES) =>
      new cloudwatch.Metric({ namespace: this.namespace, metricName, dimensionsMap: { Service: this.serviceName, ...dimensions }, statistic, period });
    const connections = (outcome: string) => gatewayMetric('Connections', { Outcome: outcome });

    // ---- per reason: any one is worth a look
    this.addAlarm('SpoofedProxyHeader', connections('spoofed_proxy_header'), 1, {
      why: 'A PROXY header inside the stream after the NLB’s own: a client tried to forge its endpoint ID, or something other than the NLB reaches the private-link port.',
    });
    this.addAlarm('BadCrc', connections('bad_crc'), 1, {
      why: 'A PROXY header whose CRC32C does not match: forged or corrupted, never written by the NLB.',
    });
    this.addAlarm('OverCapacity', connections('over_capacity'), 1, {
      why: 'A gateway process at its connection limit refused connections of every tenant: scale out or raise limits.',
    });
    this.addAlarm('TenantOverCapacity', connections('tenant_over_capacity'), tenantCapThreshold, {
      why: 'A tenant at its share of the connections had some refused (the others are protected).',
    });

    // ---- a rise for one tenant, without one alarm per tenant: a Contributor Insights rule over the
    // metric lines ranks tenants by their link_id_not_allowed count, and the alarm watches the top one.
    const ruleName = `${this.serviceName}-link-id-not-allowed`;
    this.linkIdNotAllowedRule = new cloudwatch.CfnInsightRule(this, 'LinkIdNotAllowedRule', {
      ruleName,
      ruleState: 'ENABLED',
      ruleBody: Stack.of(this).toJsonString({
        Schema: { Name: 'CloudWatchLogRule', Version: 1 },
        LogGroupNames: [props.logGroup.logGroupName],
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
      }),
    });
    const topTenant = new cloudwatch.MathExpression({
      expression: `INSIGHT_RULE_METRIC('${ruleName}', 'MaxContributorValue')`,
      period: FIVE_MINUTES,
      label: 'link_id_not_allowed of the top tenant',
    });
    const perTenant = this.addAlarm('LinkIdNotAllowedPerTenant', topTenant, linkIdThreshold, {
      why: 'One tenant’s hostnames reached through endpoints it does not allow: its new endpoint is missing from allow.aws, or someone is probing it. The rule’s top contributors name the tenant.',
    });
    perTenant.node.addDependency(this.linkIdNotAllowedRule);

    // ---- config
    this.addAlarm('ConfigReloadFailures', gatewayMetric('ConfigReloadFailures', {}), 1, {
      why: 'A new config was refused (invalid, or it would open a tenant that had rules); the gateway keeps the last good one.',
    });
    if (props.configFromObjectStore) {
      this.addAlarm('ConfigFetchFailures', gatewayMetric('ConfigFetchFailures', {}), 5, {
        why: 'Fetching the config from S3 keeps failing (permissions, route to S3): tenant changes do not arrive.',
      });
      this.addAlarm('ConfigAge', gatewayMetric('ConfigAgeSeconds', {}, cloudwatch.Stats.MAXIMUM, Duration.minutes(1)), maxConfigAgeSec, {
        why: `A gateway process has not confirmed its config against S3 for ${maxConfigAgeSec} s: it may run an old tenant list.`,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }

    // ---- the load balancer's view: unhealthy targets, and no healthy gateway at all
    for (const { name, targetGroup } of props.targetGroups) {
      this.addAlarm(`${name}UnhealthyTargets`, targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) }), 1, {
        why: `Targets of the ${name} target group fail their /readyz health check (a draining task fails it on purpose, but only briefly).`,
        evaluationPeriods: 3,
      });
      this.addAlarm(`${name}NoHealthyGateway`, targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.minutes(1) }), 1, {
        why: `No healthy gateway behind the ${name} target group: its connections fail.`,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        // No data from the target group is no healthy target.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }

    // ---- ECS: fewer tasks than autoscaling's floor (Container Insights publishes the count)
    const runningTasks = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: props.cluster.clusterName, ServiceName: props.service.serviceName },
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(1),
    });
    this.addAlarm('RunningTasks', runningTasks, props.minCapacity, {
      why: `Fewer gateway tasks run than the ${props.minCapacity} autoscaling keeps, for 5 minutes: tasks fail to start or keep stopping.`,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });

    if (!props.alarmTopic) {
      Annotations.of(this).addInfo(
        `linkgate: ${Object.keys(this.alarms).length} alarms are created without a notification target; pass observability.alarmTopic (an SNS topic) to be paged`,
      );
    }

    this.dashboard = this.buildDashboard(props, gatewayMetric, runningTasks);
  }

  private addAlarm(
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    o: {
      why: string;
      comparison?: cloudwatch.ComparisonOperator;
      evaluationPeriods?: number;
      treatMissingData?: cloudwatch.TreatMissingData;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      comparisonOperator: o.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: o.evaluationPeriods ?? 1,
      // The gateway writes a line only for a nonzero count: no data is nothing to report.
      treatMissingData: o.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `linkgate ${this.serviceName}: ${o.why}`,
    });
    if (this.alarmTopic) {
      const action = new actions.SnsAction(this.alarmTopic);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms[id] = { alarm, why: o.why };
    return alarm;
  }

  private buildDashboard(
    props: GatewayObservabilityProps,
    gatewayMetric: (name: string, dims: Record<string, string>, stat?: string, period?: Duration) => cloudwatch.Metric,
    runningTasks: cloudwatch.Metric,
  ): cloudwatch.Dashboard {
    const search = (dimensions: string, filter: string, period: Duration) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${this.namespace},${dimensions}} MetricName="Connections" Service="${this.serviceName}"${filter}', 'Sum', ${period.toSeconds()})`,
        period,
      });
    const minute = Duration.minutes(1);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# linkgate ${this.serviceName}\nConnections per outcome (\`accepted\` or the drop reason), per tenant, and the gateway's health. Alarms below.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Connections: accepted vs dropped, by reason',
        left: [search('Service,Outcome', '', minute)],
        width: 12,
        stacked: true,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drops by tenant and reason (5 min)',
        left: [search('Service,Tenant,Outcome', ' NOT Outcome="accepted"', FIVE_MINUTES)],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Active connections (all tasks)',
        left: [gatewayMetric('ActiveConnections', {}, cloudwatch.Stats.SUM, minute)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Config reloads and failures',
        left: ['ConfigReloads', 'ConfigReloadFailures', 'ConfigFetchFailures'].map((m) => gatewayMetric(m, {}, cloudwatch.Stats.SUM, minute)),
        right: [gatewayMetric('ConfigAgeSeconds', {}, cloudwatch.Stats.MAXIMUM, minute)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Healthy / unhealthy targets, running tasks',
        left: props.targetGroups.flatMap(({ name, targetGroup }) => [
          targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: minute, label: `${name} healthy` }),
          targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: minute, label: `${name} unhealthy` }),
        ]),
        right: [runningTasks.with({ label: 'running tasks' })],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms).map((a) => a.alarm), width: 24 }),
    );
    return dashboard;
  }
}
