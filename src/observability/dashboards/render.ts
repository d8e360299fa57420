/**
 * Renders the committed Grafana files: one JSON file per dashboard plus the provisioning YAML.
 * `make generate` (src/observability/generate.ts) writes them; a unit test fails when the
 * committed files drift from what this renders.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { modelsProvidersDashboard } from './modelsProviders';
import { overviewDashboard } from './overview';
import { pipelineHealthDashboard } from './pipelineHealth';
import { dashboardProvisioning, datasourceProvisioning } from './provisioning';
import { rateLimitsErrorsDashboard } from './rateLimitsErrors';
import { workloadsTenantsDashboard } from './workloadsTenants';

export const DASHBOARDS_DIR = 'grafana/dashboards';
export const DATASOURCE_PROVISIONING_PATH = 'grafana/provisioning/datasources/prometheus.yaml';
export const DASHBOARD_PROVISIONING_PATH = 'grafana/provisioning/dashboards/genai-sidecar.yaml';

/** Every dashboard, in menu order. */
export function buildDashboards(): Dashboard[] {
  return [overviewDashboard(), modelsProvidersDashboard(), workloadsTenantsDashboard(), rateLimitsErrorsDashboard(), pipelineHealthDashboard()];
}

export function dashboardPath(uid: string): string {
  return `${DASHBOARDS_DIR}/${uid}.json`;
}

/** Objects with their keys sorted, so the JSON does not change when the SDK reorders fields. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

export function renderDashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(sortKeys(dashboard), null, 2)}\n`;
}

/** Repository-relative path -> file content. */
export function renderDashboardFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dashboard of buildDashboards()) {
    if (!dashboard.uid) throw new Error(`dashboard "${dashboard.title}" has no uid`);
    files[dashboardPath(dashboard.uid)] = renderDashboardJson(dashboard);
  }
  files[DATASOURCE_PROVISIONING_PATH] = datasourceProvisioning();
  files[DASHBOARD_PROVISIONING_PATH] = dashboardProvisioning();
  return files;
}

export interface DashboardQuery {
  /** Dashboard uid. */
  dashboard: string;
  panel: string;
  expr: string;
}

/** Every Prometheus target expression of every panel, with Grafana variables left in. */
export function dashboardQueries(): DashboardQuery[] {
  return buildDashboards().flatMap((dashboard) => {
    const uid = dashboard.uid ?? '';
    return (dashboard.panels ?? []).flatMap((panel) =>
      ('targets' in panel ? (panel.targets ?? []) : []).flatMap((target) => {
        const expr = (target as { expr?: unknown }).expr;
        return typeof expr === 'string' ? [{ dashboard: uid, panel: panel.title ?? '', expr }] : [];
      }),
    );
  });
}
