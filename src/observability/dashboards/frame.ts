/**
 * What every genai-sidecar dashboard shares: tag, time range, refresh, the standard template
 * variables, Grafana's built-in annotations and a drop-down of links to its sibling dashboards.
 */
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  type Dashboard,
  type Panel,
  type VariableModel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { standardVariables } from './variables';

export const DASHBOARD_TAG = 'genai-sidecar';

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Variables after the standard ones. */
  extraVariables?: ReadonlyArray<Builder<VariableModel>>;
  /** Laid out left to right, wrapping every 24 columns. */
  panels: ReadonlyArray<Builder<Panel>>;
}

/** Grafana's own annotation source (alerts and manual annotations); the UI expects it. */
function builtInAnnotations(): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder()
    .name('Annotations & Alerts')
    .builtIn(1)
    .datasource({ type: 'grafana', uid: '-- Grafana --' })
    .enable(true)
    .hide(true)
    .iconColor('rgba(0, 211, 255, 1)')
    .type('dashboard');
}

function siblingLinks(): DashboardLinkBuilder {
  return new DashboardLinkBuilder('GenAI dashboards')
    .type(DashboardLinkType.Dashboards)
    .tags([DASHBOARD_TAG])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true)
    .targetBlank(false)
    .icon('external link')
    .tooltip('')
    .url('');
}

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .refresh('1m')
    .variables([...standardVariables(), ...(spec.extraVariables ?? [])])
    .annotation(builtInAnnotations())
    .link(siblingLinks());
  for (const panel of spec.panels) builder.withPanel(panel);
  return builder.build();
}
