/**
 * Workloads & tenants: who spends what. Spend and tokens by namespace/workload, and by a label
 * mapped from a request header (`--header-attribute x-tenant-id=tenant`), chosen with the
 * `$header_label` variable.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { LABEL, PROM, READ } from '../../telemetry/prometheusNames';
import { buildDashboard } from './frame';
import { barGaugePanel, timeSeriesPanel, UNIT } from './panels';
import { increase, perHour, rate, sum, tokens, topk } from './promql';
import { headerLabelVariable, SCOPE, VAR } from './variables';

export const WORKLOADS_TENANTS_UID = 'genai-workloads-tenants';

const scope = SCOPE.call;
const TOP = 15;
const byWorkload = [LABEL.namespace, LABEL.workload];
const workloadLegend = `{{${LABEL.namespace}}}/{{${LABEL.workload}}}`;
/** Grafana substitutes the variable before the query runs, label name and legend alike. */
const headerLabel = `$${VAR.headerLabel}`;
const byHeader = [headerLabel];
const headerLegend = `{{${headerLabel}}}`;

export function workloadsTenantsDashboard(): Dashboard {
  return buildDashboard({
    uid: WORKLOADS_TENANTS_UID,
    title: 'GenAI sidecar / Workloads & tenants',
    description: 'Estimated spend and tokens per namespace and workload, and per mapped request-header label (tenant, team, feature).',
    extraVariables: [headerLabelVariable()],
    panels: [
      timeSeriesPanel({
        title: 'Cost per hour by namespace',
        description: 'Estimated spend rate in USD per hour, per Kubernetes namespace.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: perHour(sum(rate(PROM.cost, scope), [LABEL.namespace])), legend: `{{${LABEL.namespace}}}` }],
      }),
      barGaugePanel({
        title: `Top ${TOP} workloads by cost in range`,
        description: 'Workloads with the highest estimated spend in USD over the selected time range.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: topk(TOP, sum(increase(PROM.cost, scope), byWorkload)), legend: workloadLegend }],
      }),
      timeSeriesPanel({
        title: 'Tokens / s by workload',
        description: 'Input plus output tokens per second, per workload.',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: sum(tokens(rate, scope), byWorkload), legend: workloadLegend }],
      }),
      timeSeriesPanel({
        title: 'Request rate by workload',
        description: 'Calls per second, per workload.',
        unit: UNIT.requestsPerSecond,
        width: 12,
        targets: [{ expr: sum(rate(READ.calls, scope), byWorkload), legend: workloadLegend }],
      }),
      timeSeriesPanel({
        title: `Cost per hour by ${headerLabel}`,
        description:
          'Estimated spend rate in USD per hour, per value of the chosen header label. ' +
          'Calls without the header have an empty value; values beyond the sidecar\'s cap show as _OTHER.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: perHour(sum(rate(PROM.cost, scope), byHeader)), legend: headerLegend }],
      }),
      barGaugePanel({
        title: `Top ${TOP} ${headerLabel} values by cost in range`,
        description: 'Values of the chosen header label with the highest estimated spend in USD over the selected time range.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: topk(TOP, sum(increase(PROM.cost, scope), byHeader)), legend: headerLegend }],
      }),
      timeSeriesPanel({
        title: `Tokens / s by ${headerLabel} and token type`,
        description: 'Input and output tokens per second, per value of the chosen header label.',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: sum(tokens(rate, scope), [headerLabel, LABEL.tokenType]), legend: `${headerLegend} {{${LABEL.tokenType}}}` }],
      }),
      timeSeriesPanel({
        title: `Request rate by ${headerLabel}`,
        description: 'Calls per second, per value of the chosen header label.',
        unit: UNIT.requestsPerSecond,
        width: 12,
        targets: [{ expr: sum(rate(READ.calls, scope), byHeader), legend: headerLegend }],
      }),
    ],
  });
}
