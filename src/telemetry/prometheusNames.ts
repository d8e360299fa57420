/**
 * Prometheus names of what the sidecar emits, derived in this one place from the metric
 * definitions, the way the Collector's `prometheusremotewrite` exporter translates OTLP with its
 * default `UnderscoreEscapingWithSuffixes` strategy:
 * - characters other than [a-zA-Z0-9_:] become `_` (so dots become underscores);
 * - the unit adds a suffix (`s` -> `_seconds`), units in braces (`{token}`) add nothing;
 * - monotonic sums (counters) add `_total`; gauges with unit `1` add `_ratio`;
 * - histograms are read through `_bucket`, `_sum` and `_count` series;
 * - resource `service.name` becomes `job`, `service.instance.id` becomes `instance`.
 * Dashboards, alert rules and docs take their names from here.
 */
import { ATTR, LATEST_METRICS, METRICS, type MetricDefinition, type MetricKey } from './names';

const UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  min: 'minutes',
  h: 'hours',
  d: 'days',
  By: 'bytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  '%': 'percent',
};

/** Escape one OTLP name or attribute key to a Prometheus name. */
export function escapeName(name: string): string {
  const escaped = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(escaped) ? `_${escaped}` : escaped;
}

/** Attribute key -> label name (labels may not contain ':' either). */
export function labelName(attributeKey: string): string {
  const escaped = attributeKey.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(escaped) ? `key_${escaped}` : escaped;
}

/** The word a unit adds to a name (`s` -> `seconds`), if any. */
export function unitSuffix(unit: string): string | undefined {
  if (unit === '' || unit.startsWith('{')) return undefined;
  const [main, per] = unit.split('/');
  const mainWord = main ? (UNIT_WORDS[main] ?? escapeName(main)) : undefined;
  const perWord = per ? (UNIT_WORDS[per] ?? escapeName(per)).replace(/s$/, '') : undefined;
  if (main === '1') return undefined;
  return perWord ? `${mainWord}_per_${perWord}` : mainWord;
}

/** Base Prometheus name of one metric (for histograms, add `_bucket`/`_sum`/`_count`). */
export function prometheusName(definition: Pick<MetricDefinition, 'name' | 'unit' | 'kind'>): string {
  let name = escapeName(definition.name);
  const suffix = unitSuffix(definition.unit);
  if (suffix && !name.endsWith(`_${suffix}`)) name = `${name}_${suffix}`;
  if (definition.kind === 'gauge' && definition.unit === '1' && !name.endsWith('_ratio')) name = `${name}_ratio`;
  if (definition.kind === 'counter' && !name.endsWith('_total')) name = `${name}_total`;
  return name;
}

export interface HistogramSeries {
  bucket: string;
  sum: string;
  count: string;
}

function histogramSeriesOf(definition: MetricDefinition): HistogramSeries {
  const base = prometheusName(definition);
  return { bucket: `${base}_bucket`, sum: `${base}_sum`, count: `${base}_count` };
}

function histogramSeries(key: MetricKey): HistogramSeries {
  return histogramSeriesOf(METRICS[key]);
}

/** Every series name the sidecar produces, by meaning. */
export const PROM = {
  tokenUsage: histogramSeries('tokenUsage'),
  operationDuration: histogramSeries('operationDuration'),
  timeToFirstChunk: histogramSeries('timeToFirstChunk'),
  timePerOutputChunk: histogramSeries('timePerOutputChunk'),
  tokenDetail: prometheusName(METRICS.tokenDetail),
  cost: prometheusName(METRICS.cost),
  rateLimitRemaining: prometheusName(METRICS.rateLimitRemaining),
  rateLimitLimit: prometheusName(METRICS.rateLimitLimit),
  rateLimitReset: prometheusName(METRICS.rateLimitResetSeconds),
  telemetryErrors: prometheusName(METRICS.telemetryErrors),
} as const;

/** The series of the newer GenAI client metrics (names.ts LATEST_METRICS), recorded on opt-in. */
export const PROM_LATEST = {
  inferenceDuration: histogramSeriesOf(LATEST_METRICS.inferenceDuration),
  inferenceTimeToFirstChunk: histogramSeriesOf(LATEST_METRICS.inferenceTimeToFirstChunk),
  inferenceTimePerOutputChunk: histogramSeriesOf(LATEST_METRICS.inferenceTimePerOutputChunk),
  operationInputTokens: histogramSeriesOf(LATEST_METRICS.operationInputTokens),
  operationOutputTokens: histogramSeriesOf(LATEST_METRICS.operationOutputTokens),
  usageInputTokens: prometheusName(LATEST_METRICS.usageInputTokens),
  usageOutputTokens: prometheusName(LATEST_METRICS.usageOutputTokens),
  usageCacheReadInputTokens: prometheusName(LATEST_METRICS.usageCacheReadInputTokens),
  usageCacheWriteInputTokens: prometheusName(LATEST_METRICS.usageCacheWriteInputTokens),
  usageReasoningOutputTokens: prometheusName(LATEST_METRICS.usageReasoningOutputTokens),
} as const;

/** One meaning written under either set's name: a selector matches both (a fleet may run both). */
export interface SeriesSet {
  readonly names: readonly string[];
}

/**
 * What dashboards and alerts read, whichever set of GenAI client metrics the sidecars record:
 * the v1.41 series and the newer ones of the same meaning. Each sidecar records one set, so a
 * selector over both never counts a call twice. Token counts differ in shape between the sets
 * (one histogram with gen_ai.token.type, or a counter per kind of token) and are read through
 * the dashboards' token helpers instead.
 */
export const READ = {
  calls: { names: [PROM.operationDuration.count, PROM_LATEST.inferenceDuration.count] },
  durationBuckets: { names: [PROM.operationDuration.bucket, PROM_LATEST.inferenceDuration.bucket] },
  firstChunks: { names: [PROM.timeToFirstChunk.count, PROM_LATEST.inferenceTimeToFirstChunk.count] },
  timeToFirstChunkBuckets: { names: [PROM.timeToFirstChunk.bucket, PROM_LATEST.inferenceTimeToFirstChunk.bucket] },
  timePerOutputChunkBuckets: { names: [PROM.timePerOutputChunk.bucket, PROM_LATEST.inferenceTimePerOutputChunk.bucket] },
} as const satisfies Record<string, SeriesSet>;

/** `name{matchers}`, or `{__name__=~"a|b", matchers}` for a set of names. */
export function seriesSelector(series: string | SeriesSet, matchers: readonly string[] = []): string {
  if (typeof series === 'string') return matchers.length === 0 ? series : `${series}{${matchers.join(', ')}}`;
  return `{${[`__name__=~"${series.names.join('|')}"`, ...matchers].join(', ')}}`;
}

/** Label names of the attributes dashboards and alerts group by. */
export const LABEL = {
  job: 'job',
  instance: 'instance',
  operation: labelName(ATTR.operationName),
  provider: labelName(ATTR.providerName),
  requestModel: labelName(ATTR.requestModel),
  responseModel: labelName(ATTR.responseModel),
  tokenType: labelName(ATTR.tokenType),
  errorType: labelName(ATTR.errorType),
  httpStatus: labelName(ATTR.httpStatusCode),
  serverAddress: labelName(ATTR.serverAddress),
  tokenDetailType: labelName(ATTR.tokenDetailType),
  tokenModality: labelName(ATTR.tokenModality),
  rateLimitResource: labelName(ATTR.rateLimitResource),
  telemetryStage: labelName(ATTR.telemetryStage),
  namespace: 'k8s_namespace_name',
  // Set by `genai-sidecar inject` from the owning Deployment, StatefulSet, DaemonSet, Job or CronJob.
  workload: 'k8s_workload_name',
  cluster: 'k8s_cluster_name',
} as const;

/** All series names of both sets (histograms expanded), e.g. to check a query only uses what exists. */
export function allSeriesNames(): string[] {
  return [...Object.values(PROM), ...Object.values(PROM_LATEST)].flatMap((entry) => (typeof entry === 'string' ? [entry] : [entry.bucket, entry.sum, entry.count]));
}
