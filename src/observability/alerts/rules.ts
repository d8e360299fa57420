/**
 * Prometheus alert rules for what the sidecar measures and for the pipeline that carries it.
 * A pure generator: `make generate` writes its output to prometheus/rules/, a unit test fails
 * when the committed file drifts, and promtool unit-tests every alert
 * (prometheus/tests/genai-sidecar.rules.test.yml).
 *
 * Series and label names come from the one place that derives them (PROM, READ, LABEL, COLLECTOR);
 * per-call series are read under either set of GenAI metric names (READ), so the rules hold for
 * sidecars on the v1.41 conventions and for those opted in to the newer ones.
 * Counters and histograms are only read through rate()/increase(), never as raw cumulative
 * values, which restart from zero with every pod.
 */
import { Document } from 'yaml';
import { COLLECTOR, COLLECTOR_JOB } from '../../telemetry/collectorNames';
import { ERROR_TYPE } from '../../telemetry/names';
import { LABEL, PROM, READ, seriesSelector, type SeriesSet } from '../../telemetry/prometheusNames';

export type Severity = 'warning' | 'critical';

export interface AlertRule {
  alert: string;
  expr: string;
  /** the measured quantity without the threshold, for checking it returns data */
  signal: string;
  for: string;
  labels: { severity: Severity };
  annotations: { summary: string; description: string; runbook?: string };
}

export const ALERT_RULES_FILE = 'prometheus/rules/genai-sidecar.rules.yml';

// Thresholds. Change them here and run `make generate`; the promtool tests pin the behaviour.

/** Share of failed calls (client cancellations excluded): 1 in 20 failing is user-visible, not noise. */
export const ERROR_RATIO_THRESHOLD = 0.05;
/** Ratios and percentiles over fewer calls than this per window are noise (1 failure in 3 calls is not an incident). */
export const MIN_CALLS_PER_WINDOW = 20;
/** Long generations legitimately take tens of seconds; a p95 above 30 s means most long answers make users wait far too long. */
export const DURATION_P95_SECONDS = 30;
/** Streaming exists so users see output at once; normal first chunks arrive within ~2 s (reasoning models think first), 10 s feels broken. */
export const TIME_TO_FIRST_CHUNK_P95_SECONDS = 10;
/** Spend has a daily rhythm, so compare with the same hour yesterday; tripling it is a runaway loop or a model switch worth a look. */
export const COST_SPIKE_FACTOR = 3;
/** Yesterday's hourly spend counts as at least this, so a jump from cents to a dollar an hour is not a spike: it takes over 3 USD/h. */
export const COST_BASELINE_FLOOR_USD = 1;
/** Under 10% of the provider window left means the next burst gets 429s. */
export const RATE_LIMIT_HEADROOM_RATIO = 0.1;

/** Window of the ratio and percentile alerts: long enough for stable numbers, short enough to page while it matters. */
const CALL_WINDOW = '10m';
/** Telemetry failure counters are read over this window; with `for` longer than it, one transient blip cannot fire. */
const FAILURE_WINDOW = '10m';
const FAILURE_FOR = '15m';
/** How long without any sidecar series before the pipeline counts as silent. */
const ABSENT_WINDOW = '15m';
/** `genai_sidecar.telemetry.stage` of a failed OTLP export (see src/sidecar.ts). */
const EXPORT_STAGE = 'export';

const WORKLOAD = [LABEL.cluster, LABEL.namespace, LABEL.workload];
const WORKLOAD_MODEL = [...WORKLOAD, LABEL.provider, LABEL.requestModel];
const WORKLOAD_UPSTREAM = [...WORKLOAD, LABEL.provider, LABEL.serverAddress];
const RATE_LIMIT_SCOPE = [...WORKLOAD_UPSTREAM, LABEL.rateLimitResource];
const COLLECTOR_SELECTOR = `{job="${COLLECTOR_JOB}"}`;

const by = (labels: readonly string[]): string => `by (${labels.join(', ')})`;
const on = (labels: readonly string[]): string => `on (${labels.join(', ')})`;
const indent = (text: string): string => text.replace(/^/gm, '  ');
const percent = (ratio: number): string => `${Number((ratio * 100).toFixed(2))}%`;

const WHO = `{{ $labels.${LABEL.namespace} }}/{{ $labels.${LABEL.workload} }}`;
const WHAT = `{{ $labels.${LABEL.provider} }} {{ $labels.${LABEL.requestModel} }}`;

/** Guard for ratios and percentiles: enough calls in the window to mean something. */
function enoughCalls(counts: SeriesSet): string {
  return `sum ${by(WORKLOAD_MODEL)} (increase(${seriesSelector(counts)}[${CALL_WINDOW}])) >= ${MIN_CALLS_PER_WINDOW}`;
}

function errorRatioHigh(): AlertRule {
  const all = `sum ${by(WORKLOAD_MODEL)} (rate(${seriesSelector(READ.calls)}[${CALL_WINDOW}]))`;
  // `!~"cancelled|"` keeps failures only: series without error_type are successes, and a client
  // hanging up is the client's choice, not a provider failure.
  const failed = `sum ${by(WORKLOAD_MODEL)} (rate(${seriesSelector(READ.calls, [`${LABEL.errorType}!~"${ERROR_TYPE.cancelled}|"`])}[${CALL_WINDOW}]))`;
  // `or 0 * all` gives healthy groups a 0 instead of no result at all.
  const signal = `(\n${indent(failed)}\n  or\n${indent(`0 * ${all}`)}\n)\n/\n${all}`;
  return {
    alert: 'GenAIErrorRatioHigh',
    expr: `(\n${indent(signal)}\n) > ${ERROR_RATIO_THRESHOLD}\nand\n${enoughCalls(READ.calls)}`,
    signal,
    for: '5m',
    labels: { severity: 'critical' },
    annotations: {
      summary: `LLM calls of ${WHO} to ${WHAT} are failing`,
      description:
        `{{ $value | humanizePercentage }} of calls failed over the last ${CALL_WINDOW} ` +
        `(threshold ${percent(ERROR_RATIO_THRESHOLD)}, cancellations excluded). ` +
        `The ${LABEL.errorType} label of ${READ.calls.names.join(' (or ')}) says which errors (HTTP status, timeout, connection_error).`,
    },
  };
}

function p95(buckets: SeriesSet): string {
  return `histogram_quantile(0.95, sum ${by([...WORKLOAD_MODEL, 'le'])} (rate(${seriesSelector(buckets)}[${CALL_WINDOW}])))`;
}

function durationP95High(): AlertRule {
  const signal = p95(READ.durationBuckets);
  return {
    alert: 'GenAIOperationDurationP95High',
    expr: `${signal} > ${DURATION_P95_SECONDS}\nand\n${enoughCalls(READ.calls)}`,
    signal,
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: `LLM calls of ${WHO} to ${WHAT} are slow`,
      description:
        `p95 of the whole call is {{ $value | humanizeDuration }} over the last ${CALL_WINDOW} (threshold ${DURATION_P95_SECONDS}s). ` +
        `Check the provider's status and whether responses got longer (output token usage).`,
    },
  };
}

function timeToFirstChunkP95High(): AlertRule {
  const signal = p95(READ.timeToFirstChunkBuckets);
  return {
    alert: 'GenAITimeToFirstChunkP95High',
    expr: `${signal} > ${TIME_TO_FIRST_CHUNK_P95_SECONDS}\nand\n${enoughCalls(READ.firstChunks)}`,
    signal,
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: `Streams of ${WHO} from ${WHAT} are slow to start`,
      description:
        `p95 time to the first chunk is {{ $value | humanizeDuration }} over the last ${CALL_WINDOW} ` +
        `(threshold ${TIME_TO_FIRST_CHUNK_P95_SECONDS}s). Users stare at an empty answer; check the provider's queueing and prompt sizes.`,
    },
  };
}

function costSpike(): AlertRule {
  const spend = (offset: string): string => `sum ${by(WORKLOAD)} (increase(${PROM.cost}[1h]${offset}))`;
  const signal = spend('');
  // No baseline at all (a workload deployed today, a Prometheus installed today) means nothing to
  // compare with, not a spike; a baseline of 0 (idle at that hour) is lifted by the floor.
  const baseline = `clamp_min(${spend(' offset 1d')}, ${COST_BASELINE_FLOOR_USD})`;
  return {
    alert: 'GenAICostSpike',
    expr: `${signal}\n>\n${COST_SPIKE_FACTOR} * ${baseline}`,
    signal,
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: `LLM spend of ${WHO} spiked`,
      description:
        `{{ $value | printf "%.2f" }} USD in the last hour, more than ${COST_SPIKE_FACTOR}x the same hour yesterday ` +
        `(baseline at least ${COST_BASELINE_FLOOR_USD} USD/h). Look for a retry loop, a prompt that grew, or a switch to a pricier model.`,
    },
  };
}

function rateLimitHeadroomLow(): AlertRule {
  const signal = `min ${by(RATE_LIMIT_SCOPE)} (\n  ${PROM.rateLimitRemaining} / ${PROM.rateLimitLimit}\n)`;
  // The gauges hold the last value seen; once calls stop the window resets unseen, so only
  // alert while the workload is still calling that upstream.
  const calling = `sum ${by(WORKLOAD_UPSTREAM)} (rate(${seriesSelector(READ.calls)}[5m])) > 0`;
  return {
    alert: 'GenAIRateLimitHeadroomLow',
    expr: `${signal} < ${RATE_LIMIT_HEADROOM_RATIO}\nand ${on(WORKLOAD_UPSTREAM)}\n${calling}`,
    signal,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: `${WHO} is close to the {{ $labels.${LABEL.provider} }} rate limit on {{ $labels.${LABEL.rateLimitResource} }}`,
      description:
        `Only {{ $value | humanizePercentage }} of the {{ $labels.${LABEL.rateLimitResource} }} window at {{ $labels.${LABEL.serverAddress} }} is left ` +
        `(threshold ${percent(RATE_LIMIT_HEADROOM_RATIO)}); the next burst will get 429s. Spread the load, raise the quota or back off.`,
    },
  };
}

function metricsAbsent(): AlertRule {
  // Every call, failed or not, records a duration, and the SDK re-exports cumulative series
  // each interval, so a live pipeline with any past traffic always has this series.
  return {
    alert: 'GenAISidecarMetricsAbsent',
    expr: `absent_over_time(${seriesSelector(READ.calls)}[${ABSENT_WINDOW}])`,
    signal: `count(present_over_time(${seriesSelector(READ.calls)}[${ABSENT_WINDOW}]))`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'No genai-sidecar metrics reach Prometheus',
      description:
        `No ${READ.calls.names.join(' or ')} series for ${ABSENT_WINDOW}. Either no sidecar has served a call since it started, ` +
        `or the pipeline is broken: sidecar OTLP export, the collector, or its remote write to Prometheus.`,
    },
  };
}

function sidecarExportFailing(): AlertRule {
  const signal = `sum ${by(WORKLOAD)} (increase(${PROM.telemetryErrors}{${LABEL.telemetryStage}="${EXPORT_STAGE}"}[${FAILURE_WINDOW}]))`;
  return {
    alert: 'GenAISidecarExportFailing',
    expr: `${signal} > 0`,
    signal,
    for: FAILURE_FOR,
    labels: { severity: 'warning' },
    annotations: {
      summary: `genai-sidecar of ${WHO} keeps failing to export metrics`,
      description:
        `{{ $value | printf "%.0f" }} OTLP exports failed in the last ${FAILURE_WINDOW}, again and again for ${FAILURE_FOR}; traffic is unaffected but its metrics are lost. ` +
        `Check the sidecar's OTLP endpoint and the collector. (Seen only when some exports still succeed; a total outage shows as GenAISidecarMetricsAbsent.)`,
    },
  };
}

interface CollectorFailure {
  alert: string;
  series: string;
  /** Label naming the collector component: `receiver` or `exporter`. */
  component: string;
  summary: string;
  /** What happened to the points, e.g. "refused". */
  outcome: string;
  hint: string;
}

function collectorFailure(failure: CollectorFailure): AlertRule {
  const signal = `sum ${by([LABEL.instance, failure.component])} (increase(${failure.series}${COLLECTOR_SELECTOR}[${FAILURE_WINDOW}]))`;
  return {
    alert: failure.alert,
    expr: `${signal} > 0`,
    signal,
    for: FAILURE_FOR,
    labels: { severity: 'warning' },
    annotations: {
      summary: `OpenTelemetry Collector {{ $labels.${LABEL.instance} }} ${failure.summary}`,
      description:
        `{{ $value | printf "%.0f" }} metric points ${failure.outcome} by {{ $labels.${failure.component} }} in the last ${FAILURE_WINDOW}, ` +
        `again and again for ${FAILURE_FOR}. ${failure.hint}`,
    },
  };
}

function collectorAlerts(): AlertRule[] {
  return [
    collectorFailure({
      alert: 'OTelCollectorRefusingMetrics',
      series: COLLECTOR.receiverRefused,
      component: 'receiver',
      summary: 'refuses sidecar metrics',
      outcome: 'refused',
      hint: 'Refused points are lost; usually the memory_limiter is pushing back. Give the collector more memory or replicas.',
    }),
    collectorFailure({
      alert: 'OTelCollectorExportFailing',
      series: COLLECTOR.exporterSendFailed,
      component: 'exporter',
      summary: 'fails to send metrics',
      outcome: 'failed to send',
      hint: 'They are dropped after retries; check that Prometheus is up and runs with --web.enable-remote-write-receiver.',
    }),
    collectorFailure({
      alert: 'OTelCollectorExportQueueFull',
      series: COLLECTOR.exporterEnqueueFailed,
      component: 'exporter',
      summary: 'drops metrics because its export queue is full',
      outcome: 'not queued',
      hint: 'The exporter cannot keep up with what arrives; check the remote-write target and the sending queue size.',
    }),
  ];
}

interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

function ruleGroups(): RuleGroup[] {
  return [
    { name: 'genai-sidecar.calls', rules: [errorRatioHigh(), durationP95High(), timeToFirstChunkP95High()] },
    { name: 'genai-sidecar.cost-and-limits', rules: [costSpike(), rateLimitHeadroomLow()] },
    { name: 'genai-sidecar.pipeline', rules: [metricsAbsent(), sidecarExportFailing(), ...collectorAlerts()] },
  ];
}

export function alertRules(): AlertRule[] {
  return ruleGroups().flatMap((group) => group.rules);
}

/** The rule as Prometheus reads it (no `signal`: Prometheus rejects unknown fields). */
function toPrometheusRule(rule: AlertRule): Record<string, unknown> {
  const { runbook, ...annotations } = rule.annotations;
  return {
    alert: rule.alert,
    expr: rule.expr,
    for: rule.for,
    labels: rule.labels,
    annotations: runbook === undefined ? annotations : { ...annotations, runbook_url: runbook },
  };
}

export function renderAlertRuleFiles(): Record<string, string> {
  const document = new Document({
    groups: ruleGroups().map((group) => ({ name: group.name, rules: group.rules.map(toPrometheusRule) })),
  });
  document.commentBefore =
    ' Generated by `make generate` from src/observability/alerts/rules.ts. Do not edit by hand:\n' +
    ' change the generator, run `make generate` and commit both.';
  return { [ALERT_RULES_FILE]: document.toString({ lineWidth: 0 }) };
}
