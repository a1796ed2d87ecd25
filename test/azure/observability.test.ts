/**
 * Contract C on Azure: the metrics lines collected by the Azure Monitor Agent, each alert's query,
 * threshold and action, the probe-status alerts, the workbook, and the switch.
 */
import { ApplicationInsightsWorkbook } from '@cdktf/provider-azurerm/lib/application-insights-workbook';
import { MonitorDataCollectionRule } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule';
import { MonitorDataCollectionRuleAssociation } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule-association';
import { MonitorPrivateLinkScope } from '@cdktf/provider-azurerm/lib/monitor-private-link-scope';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { VirtualMachineScaleSetExtensionA } from '@cdktf/provider-azurerm/lib/virtual-machine-scale-set-extension';
import type { GatewayScaleSetProps } from '../../lib/azure';
import { ACTION_GROUP_ID, decodeCustomData, gatewayScaleSet, manyTenants, onlyResource, resources, synth, warningsOf, writeFile } from './fixtures';

const build = (props: Partial<GatewayScaleSetProps> = {}) => synth((scope) => gatewayScaleSet(scope, { props: { name: 'lg-gw', ...props } }));
type Alert = Record<string, unknown> & { criteria: Array<Record<string, unknown>> };

describe('GIVEN the defaults (observability on, outboundAccess none, an action group)', () => {
  const { json, doc, value } = build();
  const vmss = Object.keys(doc.resource.azurerm_linux_virtual_machine_scale_set!)[0]!;
  const workspace = Object.keys(doc.resource.azurerm_log_analytics_workspace!)[0]!;
  const alerts = resources(doc, 'azurerm_monitor_scheduled_query_rules_alert_v2') as Alert[];
  const alert = (name: string) => alerts.find((a) => a.name === `lg-gw-${name}`)!;

  it('THEN the container writes the metrics lines every 60 s, named after the scale set, drops per tenant', () => {
    const env = writeFile(decodeCustomData(onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set').custom_data as string).config, '/etc/linkgate/gateway.env').content;
    expect(env).toBe('LINKGATE_METRICS_LOG_INTERVAL_SEC=60\nLINKGATE_METRICS_LOG_SERVICE=lg-gw\nLINKGATE_METRICS_LOG_TENANTS=drops\n');
  });

  it('THEN the Azure Monitor Agent runs on the scale set, and a data collection rule sends syslog local0 to the workspace', () => {
    expect(json).toHaveResourceWithProperties(VirtualMachineScaleSetExtensionA, {
      publisher: 'Microsoft.Azure.Monitor',
      type: 'AzureMonitorLinuxAgent',
      virtual_machine_scale_set_id: `\${azurerm_linux_virtual_machine_scale_set.${vmss}.id}`,
      automatic_upgrade_enabled: true,
    });
    expect(json).toHaveResourceWithProperties(MonitorDataCollectionRule, {
      kind: 'Linux',
      data_sources: { syslog: [{ name: 'linkgate', facility_names: ['local0'], log_levels: ['*'], streams: ['Microsoft-Syslog'] }] },
      destinations: { log_analytics: [{ name: 'workspace', workspace_resource_id: `\${azurerm_log_analytics_workspace.${workspace}.id}` }] },
      data_flow: [{ streams: ['Microsoft-Syslog'], destinations: ['workspace'] }],
    });
    expect(json).toHaveResourceWithProperties(MonitorDataCollectionRuleAssociation, { target_resource_id: `\${azurerm_linux_virtual_machine_scale_set.${vmss}.id}` });
  });

  it('THEN without internet the agent reaches Azure Monitor through a Private Link Scope (endpoint, config endpoint association, zones)', () => {
    expect(json).toHaveResourceWithProperties(MonitorPrivateLinkScope, { ingestion_access_mode: 'PrivateOnly' });
    expect(json).toHaveResourceWithProperties(MonitorDataCollectionRuleAssociation, { name: 'configurationAccessEndpoint' });
    expect(json).toHaveResourceWithProperties(PrivateEndpoint, { name: 'lg-gw-monitor', private_service_connection: expect.objectContaining({ subresource_names: ['azuremonitor'] }) });
    expect(resources(doc, 'azurerm_private_dns_zone').map((z) => z.name).sort()).toEqual([
      'privatelink.agentsvc.azure-automation.net',
      'privatelink.azurecr.io',
      'privatelink.blob.core.windows.net',
      'privatelink.monitor.azure.com',
      'privatelink.ods.opinsights.azure.com',
      'privatelink.oms.opinsights.azure.com',
    ]);
    expect(onlyResource(doc, 'azurerm_log_analytics_workspace').internet_ingestion_enabled).toBe(false);
  });

  it('THEN every alert notifies the action group and reads this gateway\'s metrics lines from the workspace', () => {
    expect(alerts.map((a) => a.name).sort()).toEqual(['lg-gw-config-failures', 'lg-gw-link-id-not-allowed', 'lg-gw-over-capacity', 'lg-gw-spoofed-header']);
    for (const a of alerts) {
      expect(a.action).toEqual({ action_groups: [ACTION_GROUP_ID] });
      expect(a.scopes).toEqual([`\${azurerm_log_analytics_workspace.${workspace}.id}`]);
      expect(a.criteria[0]!.query).toMatch(/^Syslog\n\| where Facility == "local0" and ProcessName == "linkgate"[^\n]*\n.*\n\| where tostring\(m\.msg\) == "metrics" and tostring\(m\.Service\) == "lg-gw"/);
    }
  });

  it.each([
    ['spoofed-header', /in \("spoofed_proxy_header", "bad_crc"\)/, 'Connections', 'GreaterThanOrEqual', 1, 'PT5M', ['Outcome'], 1],
    ['link-id-not-allowed', /== "link_id_not_allowed" and tostring\(m\.Tenant\) != "-"/, 'Connections', 'GreaterThanOrEqual', 10, 'PT15M', ['Tenant'], 2],
    ['over-capacity', /in \("over_capacity", "tenant_over_capacity"\)/, 'Connections', 'GreaterThanOrEqual', 1, 'PT5M', ['Outcome'], 2],
    ['config-failures', /sum\(tolong\(m\.ConfigReloadFailures\)\) \+ sum\(tolong\(m\.ConfigFetchFailures\)\)/, 'Failures', 'GreaterThanOrEqual', 1, 'PT15M', [], 2],
  ])('THEN alert %s matches %s, threshold %s %s %s over %s, split by %j, severity %s', (name, query, measure, operator, threshold, window, dims, severity) => {
    const a = alert(name);
    expect(a).toMatchObject({ severity, window_duration: window, evaluation_frequency: 'PT5M' });
    expect(a.criteria[0]).toMatchObject({ metric_measure_column: measure, operator, threshold });
    expect(a.criteria[0]!.query).toMatch(query);
    expect((a.criteria[0]!.dimension as Array<{ name: string }>).map((d) => d.name)).toEqual(dims);
  });

  it('THEN the private-link load balancer\'s probe status pages: some gateways unhealthy, none healthy, frontend degraded', () => {
    const metric = resources(doc, 'azurerm_monitor_metric_alert') as Alert[];
    const summary = metric.map((m) => [m.name, m.severity, m.criteria[0]!.metric_name, m.criteria[0]!.aggregation, m.criteria[0]!.operator, m.criteria[0]!.threshold]);
    expect(summary.sort()).toEqual([
      ['lg-gw-frontend-unavailable', 1, 'VipAvailability', 'Average', 'LessThan', 90],
      ['lg-gw-no-healthy-gateway', 0, 'DipAvailability', 'Average', 'LessThan', 1],
      ['lg-gw-unhealthy-gateways', 2, 'DipAvailability', 'Average', 'LessThan', 100],
    ]);
    for (const m of metric) {
      expect(m.scopes).toEqual([expect.stringMatching(/^\$\{azurerm_lb\.LoadBalancer_[0-9A-F]+\.id\}$/)]);
      expect(m.action).toEqual([{ action_group_id: ACTION_GROUP_ID }]);
    }
  });

  it('THEN a workbook charts accepted vs dropped by outcome, drops by tenant, active connections and reloads', () => {
    expect(json).toHaveResourceWithProperties(ApplicationInsightsWorkbook, { display_name: 'linkgate lg-gw', category: 'workbook' });
    const data = JSON.parse(onlyResource(doc, 'azurerm_application_insights_workbook').data_json as string) as { items: Array<{ content: { title?: string; query?: string } }> };
    expect(data.items.map((i) => i.content.title).filter(Boolean)).toEqual([
      'Accepted vs dropped, by outcome',
      'Drops by tenant',
      'Accepted by tenant (with metricsLogTenants all)',
      'Active connections (all gateways)',
      'Config reloads, failures and age',
    ]);
    expect(data.items[4]!.content.query).toMatch(/sum\(tolong\(m\.ActiveConnections\)\)/);
  });

  it('THEN it warns about nothing', () => {
    expect(warningsOf(value)).toEqual([]);
  });
});

describe('GIVEN object-store delivery', () => {
  const { doc } = build({ tenants: manyTenants(1000) });

  it('THEN a stale-config alert fires when a gateway has not fetched for 300 s', () => {
    const stale = (resources(doc, 'azurerm_monitor_scheduled_query_rules_alert_v2') as Alert[]).find((a) => a.name === 'lg-gw-config-stale')!;
    expect(stale.criteria[0]).toMatchObject({ metric_measure_column: 'AgeSeconds', time_aggregation_method: 'Maximum', operator: 'GreaterThan', threshold: 300 });
  });
});

describe('GIVEN outboundAccess natGateway, your workspace and no action group', () => {
  const workspace = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ops/providers/Microsoft.OperationalInsights/workspaces/central';
  const { doc, value } = build({ outboundAccess: 'natGateway', observability: { logAnalyticsWorkspaceId: workspace } });

  it('THEN no workspace or Private Link Scope is created, the rule writes to yours, and a warning says nobody is notified', () => {
    expect(resources(doc, 'azurerm_log_analytics_workspace')).toHaveLength(0);
    expect(resources(doc, 'azurerm_monitor_private_link_scope')).toHaveLength(0);
    expect(onlyResource(doc, 'azurerm_monitor_data_collection_rule').destinations).toEqual({ log_analytics: [{ name: 'workspace', workspace_resource_id: workspace }] });
    expect(warningsOf(value)).toContainEqual(expect.stringMatching(/observability has no actionGroupId: the alert rules fire in Azure Monitor but notify no one/));
  });
});

describe('GIVEN observability switched off', () => {
  const { doc } = build({ observability: { enabled: false } });

  it('THEN no agent, rule, alert or workbook exists, and the container writes no metrics lines', () => {
    for (const type of ['azurerm_virtual_machine_scale_set_extension', 'azurerm_monitor_data_collection_rule', 'azurerm_monitor_scheduled_query_rules_alert_v2', 'azurerm_monitor_metric_alert', 'azurerm_application_insights_workbook']) {
      expect(resources(doc, type)).toHaveLength(0);
    }
    const files = decodeCustomData(onlyResource(doc, 'azurerm_linux_virtual_machine_scale_set').custom_data as string).config.write_files;
    expect(files.map((f) => f.path)).not.toContain('/etc/linkgate/gateway.env');
  });
});

describe('GIVEN invalid observability props', () => {
  it.each<[string, Partial<GatewayScaleSetProps>, RegExp]>([
    ['an action group name instead of its ID', { observability: { actionGroupId: 'oncall' } }, /observability\.actionGroupId: must be a resource ID like .*Microsoft\.Insights\/actionGroups/],
    ['a zero threshold', { observability: { linkIdNotAllowedThreshold: 0 } }, /observability\.linkIdNotAllowedThreshold: must be a whole number from 1/],
  ])('GIVEN %s THEN synth fails naming it', (_what, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
