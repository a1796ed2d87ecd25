/**
 * What a platform team watches (contract C): the gateway's metrics lines (contract B, one JSON line
 * per tenant and outcome per minute on stdout) reach a Log Analytics workspace through the Azure
 * Monitor Agent and a data collection rule; scheduled query alerts page on attacks, missing
 * LinkIDs, capacity and config trouble; metric alerts on the private-link load balancer's probe
 * status page on unhealthy or no healthy gateways; a workbook shows it all.
 *
 * Why syslog: the container logs through Docker's syslog driver (facility local0, tag linkgate);
 * journald keeps it (docker logs and journalctl still work) and forwards it to rsyslog, the path the
 * agent's syslog data source reads. No sidecar, no custom table, no log file to rotate.
 *
 * Without internet access (outboundAccess 'none') the agent reaches Azure Monitor through an Azure
 * Monitor Private Link Scope: a data collection endpoint (configuration and ingestion) and the
 * workspace in the scope, one private endpoint (subresource azuremonitor) with its five zones.
 */
import { ApplicationInsightsWorkbook } from '@cdktf/provider-azurerm/lib/application-insights-workbook';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { MonitorDataCollectionEndpoint } from '@cdktf/provider-azurerm/lib/monitor-data-collection-endpoint';
import { MonitorDataCollectionRule } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule';
import { MonitorDataCollectionRuleAssociation } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule-association';
import { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
import { MonitorPrivateLinkScope } from '@cdktf/provider-azurerm/lib/monitor-private-link-scope';
import { MonitorPrivateLinkScopedService } from '@cdktf/provider-azurerm/lib/monitor-private-link-scoped-service';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { VirtualMachineScaleSetExtensionA as VirtualMachineScaleSetExtension } from '@cdktf/provider-azurerm/lib/virtual-machine-scale-set-extension';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { GATEWAY_SYSLOG_FACILITY } from './cloud-init';
import { PRIVATE_DNS_ZONE, ServicePrivateEndpoint, type PrivateDnsZones } from './private-endpoint';

/** Observability settings of the gateway scale set (on by default). */
export interface GatewayObservabilityProps {
  /**
   * Collect the metrics lines, create the alerts and the workbook.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Resource ID of the action group every alert notifies.
   * @default - alerts fire (visible in Azure Monitor) but notify no one; a warning says so
   */
  readonly actionGroupId?: string;
  /**
   * Resource ID of your Log Analytics workspace.
   * @default - a workspace `<name>-logs` (30 days retention)
   */
  readonly logAnalyticsWorkspaceId?: string;
  /**
   * `link_id_not_allowed` drops per tenant in 15 minutes that raise an alert for that tenant (a
   * customer's endpoint missing from its allow list, or one probing another tenant's hostnames).
   * @default 10
   */
  readonly linkIdNotAllowedThreshold?: number;
  /**
   * Seconds since the last successful config fetch (object-store delivery) above which an alert fires.
   * @default 300 (ten polls)
   */
  readonly configAgeAlertSec?: number;
  /**
   * Which accepted lines carry the tenant (`LINKGATE_METRICS_LOG_TENANTS`): `drops` (drops per
   * tenant, accepted totals only) or `all`.
   * @default 'drops'
   */
  readonly metricsLogTenants?: 'drops' | 'all';
}

/** Contract B settings the constructs give the container. */
export const METRICS_LOG_INTERVAL_SEC = 60;

export interface QueryAlertSpec {
  /** Suffix of the rule's name. */
  readonly id: string;
  readonly description: string;
  readonly severity: number;
  readonly query: string;
  /** Column the threshold applies to. */
  readonly measure: string;
  readonly aggregation: 'Total' | 'Maximum';
  readonly operator: 'GreaterThanOrEqual' | 'GreaterThan';
  readonly threshold: number;
  readonly windowMin: number;
  /** Columns that split the alert (one alert per value). */
  readonly dimensions: string[];
}

/** The KQL prefix: this gateway's metrics lines (contract B) out of the Syslog table. */
export function metricsLines(service: string): string {
  return [
    'Syslog',
    `| where Facility == "${GATEWAY_SYSLOG_FACILITY}" and ProcessName == "linkgate" and SyslogMessage has "metrics"`,
    '| extend m = parse_json(trim_start(@"\\s+", SyslogMessage))',
    `| where tostring(m.msg) == "metrics" and tostring(m.Service) == "${service}"`,
  ].join('\n');
}

export function queryAlertSpecs(service: string, options: { linkIdNotAllowedThreshold: number; configAgeAlertSec?: number }): QueryAlertSpec[] {
  const lines = metricsLines(service);
  const connections = (outcomes: string[], by: string) =>
    `${lines}\n| where tostring(m.Outcome) in (${outcomes.map((o) => `"${o}"`).join(', ')})\n| summarize Connections = sum(tolong(m.Connections)) by ${by}`;
  const specs: QueryAlertSpec[] = [
    {
      id: 'spoofed-header',
      description: 'A PROXY header not written by Azure, or one with a bad checksum: an attack, or a listener reachable from something other than the Private Link Service',
      severity: 1,
      query: connections(['spoofed_proxy_header', 'bad_crc'], 'Outcome = tostring(m.Outcome)'),
      measure: 'Connections',
      aggregation: 'Total',
      operator: 'GreaterThanOrEqual',
      threshold: 1,
      windowMin: 5,
      dimensions: ['Outcome'],
    },
    {
      id: 'link-id-not-allowed',
      description: 'A tenant\'s hostnames reached through a private endpoint whose LinkID is not in its allow list: a customer endpoint missing from the list, or probing',
      severity: 2,
      query: `${lines}\n| where tostring(m.Outcome) == "link_id_not_allowed" and tostring(m.Tenant) != "-"\n| summarize Connections = sum(tolong(m.Connections)) by Tenant = tostring(m.Tenant)`,
      measure: 'Connections',
      aggregation: 'Total',
      operator: 'GreaterThanOrEqual',
      threshold: options.linkIdNotAllowedThreshold,
      windowMin: 15,
      dimensions: ['Tenant'],
    },
    {
      id: 'over-capacity',
      description: 'Connections refused for capacity (gateway-wide or per tenant): scale out or raise the limits',
      severity: 2,
      query: connections(['over_capacity', 'tenant_over_capacity'], 'Outcome = tostring(m.Outcome)'),
      measure: 'Connections',
      aggregation: 'Total',
      operator: 'GreaterThanOrEqual',
      threshold: 1,
      windowMin: 5,
      dimensions: ['Outcome'],
    },
    {
      id: 'config-failures',
      description: 'Config reloads refused or config fetches failed: the gateways keep the last good config',
      severity: 2,
      query: `${lines}\n| where isnotnull(m.ConfigReloadFailures)\n| summarize Failures = sum(tolong(m.ConfigReloadFailures)) + sum(tolong(m.ConfigFetchFailures))`,
      measure: 'Failures',
      aggregation: 'Total',
      operator: 'GreaterThanOrEqual',
      threshold: 1,
      windowMin: 15,
      dimensions: [],
    },
  ];
  if (options.configAgeAlertSec !== undefined) {
    specs.push({
      id: 'config-stale',
      description: 'A gateway has not fetched its config for too long (object-store delivery): tenant changes are not reaching it',
      severity: 2,
      query: `${lines}\n| where isnotnull(m.ConfigAgeSeconds)\n| summarize AgeSeconds = max(tolong(m.ConfigAgeSeconds)) by Computer`,
      measure: 'AgeSeconds',
      aggregation: 'Maximum',
      operator: 'GreaterThan',
      threshold: options.configAgeAlertSec,
      windowMin: 15,
      dimensions: ['Computer'],
    });
  }
  return specs;
}

export interface GatewayObservabilityResourcesProps {
  readonly resourceGroupName: string;
  readonly location: string;
  /** The scale set's name: prefix of every resource, and the metrics lines' Service. */
  readonly name: string;
  readonly scaleSetId: string;
  /** The private-link load balancer (probe status metrics). */
  readonly loadBalancerId: string;
  readonly objectStore: boolean;
  /** With outboundAccess 'none': reach Azure Monitor through a Private Link Scope. */
  readonly privateLink?: { readonly subnetId: string; readonly zones: PrivateDnsZones };
  readonly settings: GatewayObservabilityProps;
  readonly tags?: Record<string, string>;
}

export class GatewayObservability extends Construct {
  readonly workspaceId: string;
  readonly workspace?: LogAnalyticsWorkspace;
  readonly agent: VirtualMachineScaleSetExtension;
  readonly rule: MonitorDataCollectionRule;
  readonly endpoint?: MonitorDataCollectionEndpoint;
  readonly scope?: MonitorPrivateLinkScope;
  readonly queryAlerts: MonitorScheduledQueryRulesAlertV2[] = [];
  readonly metricAlerts: MonitorMetricAlert[] = [];
  readonly workbook: ApplicationInsightsWorkbook;

  constructor(scope: Construct, id: string, props: GatewayObservabilityResourcesProps) {
    super(scope, id);
    const s = props.settings;
    const base = { resourceGroupName: props.resourceGroupName, location: props.location, tags: props.tags };
    const actionGroups = s.actionGroupId !== undefined ? [s.actionGroupId] : undefined;

    if (s.logAnalyticsWorkspaceId === undefined) {
      this.workspace = new LogAnalyticsWorkspace(this, 'Workspace', {
        ...base,
        name: `${props.name}-logs`,
        sku: 'PerGB2018',
        retentionInDays: 30,
        // Without internet access, ingestion comes through the Private Link Scope only.
        internetIngestionEnabled: props.privateLink ? false : undefined,
      });
    }
    this.workspaceId = s.logAnalyticsWorkspaceId ?? this.workspace!.id;

    if (props.privateLink) {
      this.endpoint = new MonitorDataCollectionEndpoint(this, 'CollectionEndpoint', {
        ...base,
        name: `${props.name}-dce`,
        kind: 'Linux',
        publicNetworkAccessEnabled: false,
      });
      this.scope = new MonitorPrivateLinkScope(this, 'PrivateLinkScope', {
        name: `${props.name}-ampls`,
        resourceGroupName: props.resourceGroupName,
        ingestionAccessMode: 'PrivateOnly',
        queryAccessMode: 'Open',
        tags: props.tags,
      });
      new MonitorPrivateLinkScopedService(this, 'ScopedWorkspace', {
        name: `${props.name}-logs`,
        resourceGroupName: props.resourceGroupName,
        scopeName: this.scope.name,
        linkedResourceId: this.workspaceId,
      });
      new MonitorPrivateLinkScopedService(this, 'ScopedCollectionEndpoint', {
        name: `${props.name}-dce`,
        resourceGroupName: props.resourceGroupName,
        scopeName: this.scope.name,
        linkedResourceId: this.endpoint.id,
      });
      new ServicePrivateEndpoint(this, 'PrivateEndpoint', {
        ...base,
        name: `${props.name}-monitor`,
        subnetId: props.privateLink.subnetId,
        resourceId: this.scope.id,
        subresource: 'azuremonitor',
        zoneNames: [...PRIVATE_DNS_ZONE.azureMonitor, PRIVATE_DNS_ZONE.blob],
        zones: props.privateLink.zones,
      });
    }

    this.rule = new MonitorDataCollectionRule(this, 'CollectionRule', {
      ...base,
      name: `${props.name}-dcr`,
      kind: 'Linux',
      dataCollectionEndpointId: this.endpoint?.id,
      dataSources: {
        syslog: [{ name: 'linkgate', facilityNames: [GATEWAY_SYSLOG_FACILITY], logLevels: ['*'], streams: ['Microsoft-Syslog'] }],
      },
      destinations: { logAnalytics: [{ name: 'workspace', workspaceResourceId: this.workspaceId }] },
      dataFlow: [{ streams: ['Microsoft-Syslog'], destinations: ['workspace'] }],
    });
    new MonitorDataCollectionRuleAssociation(this, 'CollectionRuleAssociation', {
      name: `${props.name}-dcr`,
      targetResourceId: props.scaleSetId,
      dataCollectionRuleId: this.rule.id,
    });
    if (this.endpoint) {
      // The agent's configuration comes from this endpoint (Azure's fixed association name).
      new MonitorDataCollectionRuleAssociation(this, 'CollectionEndpointAssociation', {
        name: 'configurationAccessEndpoint',
        targetResourceId: props.scaleSetId,
        dataCollectionEndpointId: this.endpoint.id,
      });
    }
    this.agent = new VirtualMachineScaleSetExtension(this, 'Agent', {
      name: 'AzureMonitorLinuxAgent',
      virtualMachineScaleSetId: props.scaleSetId,
      publisher: 'Microsoft.Azure.Monitor',
      type: 'AzureMonitorLinuxAgent',
      typeHandlerVersion: '1.0',
      autoUpgradeMinorVersion: true,
      automaticUpgradeEnabled: true,
    });

    for (const spec of queryAlertSpecs(props.name, {
      linkIdNotAllowedThreshold: s.linkIdNotAllowedThreshold ?? 10,
      configAgeAlertSec: props.objectStore ? (s.configAgeAlertSec ?? 300) : undefined,
    })) {
      this.queryAlerts.push(
        new MonitorScheduledQueryRulesAlertV2(this, `Alert-${spec.id}`, {
          ...base,
          name: `${props.name}-${spec.id}`,
          description: spec.description,
          severity: spec.severity,
          scopes: [this.workspaceId],
          evaluationFrequency: 'PT5M',
          windowDuration: `PT${spec.windowMin}M`,
          criteria: [
            {
              query: spec.query,
              metricMeasureColumn: spec.measure,
              timeAggregationMethod: spec.aggregation,
              operator: spec.operator,
              threshold: spec.threshold,
              dimension: spec.dimensions.map((name) => ({ name, operator: 'Include', values: ['*'] })),
              failingPeriods: { minimumFailingPeriodsToTriggerAlert: 1, numberOfEvaluationPeriods: 1 },
            },
          ],
          autoMitigationEnabled: true,
          action: actionGroups ? { actionGroups } : undefined,
          // The Syslog table exists only once the first line arrives.
          skipQueryValidation: true,
        }),
      );
    }

    const probe = (alertId: string, description: string, severity: number, metricName: string, threshold: number) =>
      new MonitorMetricAlert(this, `Alert-${alertId}`, {
        name: `${props.name}-${alertId}`,
        resourceGroupName: props.resourceGroupName,
        scopes: [props.loadBalancerId],
        description,
        severity,
        frequency: 'PT1M',
        windowSize: 'PT5M',
        criteria: [
          { metricNamespace: 'Microsoft.Network/loadBalancers', metricName, aggregation: 'Average', operator: 'LessThan', threshold },
        ],
        action: s.actionGroupId !== undefined ? [{ actionGroupId: s.actionGroupId }] : undefined,
        tags: props.tags,
      });
    this.metricAlerts.push(
      probe('unhealthy-gateways', 'Some gateways fail the private-link load balancer\'s probe of /readyz (health probe status below 100 %)', 2, 'DipAvailability', 100),
      probe('no-healthy-gateway', 'No gateway passes the probe: every Private Link connection fails', 0, 'DipAvailability', 1),
      probe('frontend-unavailable', 'The private-link frontend\'s data path availability dropped below 90 %', 1, 'VipAvailability', 90),
    );

    this.workbook = new ApplicationInsightsWorkbook(this, 'Workbook', {
      ...base,
      // Workbook names are GUIDs; derived from the construct path, so stable across synths.
      name: guidOf(this.node.addr),
      displayName: `linkgate ${props.name}`,
      sourceId: this.workspaceId,
      category: 'workbook',
      dataJson: JSON.stringify(workbook(props.name, this.workspaceId)),
    });
  }
}

/** The workbook: accepted vs dropped by reason, drops by tenant, active connections, reloads. */
export function workbook(service: string, workspaceId: string): object {
  const lines = metricsLines(service);
  const chart = (title: string, query: string) => ({
    type: 3,
    content: {
      version: 'KqlItem/1.0',
      title,
      query,
      size: 0,
      timeContext: { durationMs: 86_400_000 },
      queryType: 0,
      resourceType: 'microsoft.operationalinsights/workspaces',
      crossComponentResources: [workspaceId],
      visualization: 'timechart',
    },
  });
  return {
    version: 'Notebook/1.0',
    items: [
      { type: 1, content: { json: `## linkgate ${service}\nMetrics lines of the gateways (one per tenant and outcome per minute).` } },
      chart('Accepted vs dropped, by outcome', `${lines}\n| where isnotempty(tostring(m.Outcome))\n| summarize Connections = sum(tolong(m.Connections)) by Outcome = tostring(m.Outcome), bin(TimeGenerated, 5m)`),
      chart('Drops by tenant', `${lines}\n| where tostring(m.Outcome) != "accepted" and isnotempty(tostring(m.Outcome))\n| summarize Connections = sum(tolong(m.Connections)) by Tenant = tostring(m.Tenant), bin(TimeGenerated, 5m)`),
      chart('Accepted by tenant (with metricsLogTenants all)', `${lines}\n| where tostring(m.Outcome) == "accepted" and tostring(m.Tenant) != "-"\n| summarize Connections = sum(tolong(m.Connections)) by Tenant = tostring(m.Tenant), bin(TimeGenerated, 5m)`),
      chart('Active connections (all gateways)', `${lines}\n| where isnotnull(m.ActiveConnections)\n| summarize ActiveConnections = sum(tolong(m.ActiveConnections)) by bin(TimeGenerated, 1m)`),
      chart(
        'Config reloads, failures and age',
        `${lines}\n| where isnotnull(m.ConfigReloads)\n| summarize Reloads = sum(tolong(m.ConfigReloads)), ReloadFailures = sum(tolong(m.ConfigReloadFailures)), FetchFailures = sum(tolong(m.ConfigFetchFailures)), MaxAgeSeconds = max(tolong(m.ConfigAgeSeconds)) by bin(TimeGenerated, 5m)`,
      ),
    ],
    isLocked: false,
  };
}

function guidOf(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
