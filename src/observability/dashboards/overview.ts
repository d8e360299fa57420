/**
 * Overview: traffic, errors, latency, tokens and spend of the selected workloads at a glance.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { LABEL, PROM, READ } from '../../telemetry/prometheusNames';
import { buildDashboard } from './frame';
import { barGaugePanel, statPanel, timeSeriesPanel, UNIT } from './panels';
import { increase, notEquals, orZeroLike, perHour, quantile, rate, ratio, sum, tokens, topk } from './promql';
import { SCOPE } from './variables';

export const OVERVIEW_UID = 'genai-overview';

const calls = READ.calls;
const scope = SCOPE.call;
const failed = [...scope, notEquals(LABEL.errorType, '')];
const TOP_MODELS = 10;

const requestRate = sum(rate(calls, scope));
const errorRate = sum(rate(calls, failed));
const overallErrorRatio = ratio(orZeroLike(errorRate, requestRate), requestRate);
const errorRatioByType = `${sum(rate(calls, failed), [LABEL.errorType])} / ignoring(${LABEL.errorType}) group_left() ${requestRate}`;
const costPerHour = perHour(sum(rate(PROM.cost, scope)));

const ERROR_THRESHOLDS = [
  { value: null, color: 'green' },
  { value: 0.01, color: 'orange' },
  { value: 0.05, color: 'red' },
];

export function overviewDashboard(): Dashboard {
  return buildDashboard({
    uid: OVERVIEW_UID,
    title: 'GenAI sidecar / Overview',
    description: 'LLM calls made through genai-sidecar: request rate, errors, latency, tokens and cost.',
    panels: [
      statPanel({
        title: 'Requests / s',
        description: 'Calls per second through the sidecars, successful or not.',
        unit: UNIT.requestsPerSecond,
        width: 6,
        targets: [{ expr: requestRate, legend: 'requests/s' }],
      }),
      statPanel({
        title: 'Error ratio',
        description: 'Share of calls that failed (any error.type: HTTP error status, timeout, connection error, cancelled).',
        unit: UNIT.ratio,
        width: 6,
        thresholds: ERROR_THRESHOLDS,
        targets: [{ expr: overallErrorRatio, legend: 'errors' }],
      }),
      statPanel({
        title: 'p95 duration',
        description: '95th percentile of the whole call duration, from the request reaching the sidecar to the last response byte.',
        unit: UNIT.seconds,
        width: 6,
        targets: [{ expr: quantile(0.95, READ.durationBuckets, scope), legend: 'p95' }],
      }),
      statPanel({
        title: 'Cost in range',
        description: 'Estimated spend in USD over the selected time range, from the price table.',
        unit: UNIT.usd,
        width: 6,
        targets: [{ expr: sum(increase(PROM.cost, scope)), legend: 'USD' }],
      }),
      timeSeriesPanel({
        title: 'Request rate by provider',
        description: 'Calls per second, per provider.',
        unit: UNIT.requestsPerSecond,
        width: 12,
        targets: [{ expr: sum(rate(calls, scope), [LABEL.provider]), legend: `{{${LABEL.provider}}}` }],
      }),
      timeSeriesPanel({
        title: 'Error ratio by error type',
        description: 'Failed calls of each error.type as a share of all calls. HTTP statuses appear as their code (e.g. 429).',
        unit: UNIT.ratio,
        width: 12,
        min: 0,
        targets: [{ expr: errorRatioByType, legend: `{{${LABEL.errorType}}}` }],
      }),
      timeSeriesPanel({
        title: 'Duration p50 / p95',
        description: 'Whole-call duration quantiles, estimated from the histogram buckets.',
        unit: UNIT.seconds,
        width: 12,
        targets: [
          { expr: quantile(0.5, READ.durationBuckets, scope), legend: 'p50' },
          { expr: quantile(0.95, READ.durationBuckets, scope), legend: 'p95' },
        ],
      }),
      timeSeriesPanel({
        title: 'Time to first chunk p50 / p95',
        description: 'Streaming calls only: time from the request reaching the sidecar to the first content chunk.',
        unit: UNIT.seconds,
        width: 12,
        targets: [
          { expr: quantile(0.5, READ.timeToFirstChunkBuckets, scope), legend: 'p50' },
          { expr: quantile(0.95, READ.timeToFirstChunkBuckets, scope), legend: 'p95' },
        ],
      }),
      timeSeriesPanel({
        title: 'Tokens / s (input / output)',
        description: 'Tokens per second as reported by the providers. Input includes cached tokens, output includes reasoning tokens.',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: sum(tokens(rate, scope), [LABEL.tokenType]), legend: `{{${LABEL.tokenType}}}` }],
      }),
      timeSeriesPanel({
        title: 'Cost per hour by provider',
        description: 'Estimated spend rate in USD per hour, from the price table.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: perHour(sum(rate(PROM.cost, scope), [LABEL.provider])), legend: `{{${LABEL.provider}}}` }, { expr: costPerHour, legend: 'total' }],
      }),
      barGaugePanel({
        title: `Top ${TOP_MODELS} models by requests`,
        description: 'Models the applications asked for most, by calls over the selected time range.',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: topk(TOP_MODELS, sum(increase(calls, scope), [LABEL.requestModel])), legend: `{{${LABEL.requestModel}}}` }],
      }),
      barGaugePanel({
        title: `Top ${TOP_MODELS} models by cost`,
        description: 'Models with the highest estimated spend in USD over the selected time range.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: topk(TOP_MODELS, sum(increase(PROM.cost, scope), [LABEL.requestModel])), legend: `{{${LABEL.requestModel}}}` }],
      }),
    ],
  });
}
