/**
 * Template variables every dashboard carries, and the label filters ("scopes") built from them.
 * Each filter variable is multi-valued with "All" (`.*`), and is used as `label=~"$var"`, so
 * "All" also matches series that lack the label.
 */
import {
  CustomVariableBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
  type VariableModel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { LABEL, READ } from '../../telemetry/prometheusNames';
import { DATASOURCE_NAME, DATASOURCE_REF, DATASOURCE_TYPE, DATASOURCE_UID, DATASOURCE_VARIABLE } from './datasource';
import { matchesVariable, selector, type Matcher } from './promql';

export const VAR = {
  datasource: DATASOURCE_VARIABLE,
  namespace: 'namespace',
  workload: 'workload',
  provider: 'provider',
  model: 'model',
  headerLabel: 'header_label',
} as const;

/**
 * Label names users commonly map request headers to with `--header-attribute` (the attribute
 * name is theirs to choose; the dashboard's variable accepts any other value too).
 */
export const HEADER_LABEL_CHOICES = ['tenant', 'team', 'feature'] as const;

/** Label filters, from the widest to the narrowest. Pick the one whose labels a series has. */
const workloadScope: Matcher[] = [matchesVariable(LABEL.namespace, VAR.namespace), matchesVariable(LABEL.workload, VAR.workload)];
const providerScope: Matcher[] = [...workloadScope, matchesVariable(LABEL.provider, VAR.provider)];
const callScope: Matcher[] = [...providerScope, matchesVariable(LABEL.requestModel, VAR.model)];

export const SCOPE = {
  /** Series with only resource labels (e.g. telemetry errors). */
  workload: workloadScope,
  /** Series without a model (e.g. rate-limit gauges). */
  provider: providerScope,
  /** Per-call series: histograms, token detail, cost. */
  call: callScope,
} as const;

/** Every sidecar call is counted here, so it knows every namespace, workload, provider, model. */
const CALL_SERIES = READ.calls;

function labelValues(label: string, matchers: readonly Matcher[]): string {
  return `label_values(${selector(CALL_SERIES, matchers)}, ${label})`;
}

function filterVariable(name: string, query: string, description: string): Builder<VariableModel> {
  return new QueryVariableBuilder(name)
    .label(name.charAt(0).toUpperCase() + name.slice(1))
    .description(description)
    .datasource(DATASOURCE_REF)
    .query(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' })
    .allowCustomValue(true);
}

function datasourceVariable(): Builder<VariableModel> {
  return new DatasourceVariableBuilder(VAR.datasource)
    .label('Data source')
    .description('Prometheus with the sidecars\' metrics (remote-written by the OpenTelemetry Collector, or scraped from the sidecars).')
    .type(DATASOURCE_TYPE)
    .current({ text: DATASOURCE_NAME, value: DATASOURCE_UID });
}

/** datasource, namespace, workload, provider, model: on every dashboard, in this order. */
export function standardVariables(): Array<Builder<VariableModel>> {
  return [
    datasourceVariable(),
    filterVariable(VAR.namespace, labelValues(LABEL.namespace, []), 'Kubernetes namespace of the pods running the sidecar.'),
    filterVariable(
      VAR.workload,
      labelValues(LABEL.workload, [matchesVariable(LABEL.namespace, VAR.namespace)]),
      'Owning Deployment, StatefulSet, DaemonSet, Job or CronJob of the pods.',
    ),
    filterVariable(VAR.provider, labelValues(LABEL.provider, workloadScope), 'LLM provider (gen_ai.provider.name).'),
    filterVariable(VAR.model, labelValues(LABEL.requestModel, providerScope), 'Model the application asked for (gen_ai.request.model).'),
  ];
}

/** Which mapped request-header label the tenant panels group by; free text is allowed. */
export function headerLabelVariable(): Builder<VariableModel> {
  const [first] = HEADER_LABEL_CHOICES;
  return new CustomVariableBuilder(VAR.headerLabel)
    .label('Header label')
    .description('Metric label a request header is mapped to with --header-attribute (e.g. x-tenant-id=tenant). Type another label name if yours differs.')
    .values(HEADER_LABEL_CHOICES.join(','))
    .current({ text: first, value: first })
    .allowCustomValue(true)
    .multi(false)
    .includeAll(false);
}
