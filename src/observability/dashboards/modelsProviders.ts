/**
 * Models & providers: tokens, cache and reasoning shares, latency and cost per model.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { TOKEN_DETAIL_TYPE, TOKEN_TYPE } from '../../telemetry/names';
import { LABEL, PROM, READ } from '../../telemetry/prometheusNames';
import { buildDashboard } from './frame';
import { pieChartPanel, timeSeriesPanel, UNIT } from './panels';
import { increase, perHour, quantile, rate, ratio, sum, tokenDetail, tokens } from './promql';
import { SCOPE } from './variables';

export const MODELS_PROVIDERS_UID = 'genai-models-providers';

const scope = SCOPE.call;
const byModel = [LABEL.requestModel];
const modelLegend = `{{${LABEL.requestModel}}}`;

function tokensPerSecond(tokenType: (typeof TOKEN_TYPE)[keyof typeof TOKEN_TYPE]): string {
  return sum(tokens(rate, scope, tokenType), byModel);
}

function detailPerSecond(detailType: (typeof TOKEN_DETAIL_TYPE)[keyof typeof TOKEN_DETAIL_TYPE]): string {
  return sum(tokenDetail(rate, scope, detailType), byModel);
}

export function modelsProvidersDashboard(): Dashboard {
  return buildDashboard({
    uid: MODELS_PROVIDERS_UID,
    title: 'GenAI sidecar / Models & providers',
    description: 'Per-model token usage, prompt-cache and reasoning shares, latency and estimated cost.',
    panels: [
      timeSeriesPanel({
        title: 'Input tokens / s by model',
        description: 'Input tokens per second, cached tokens included (normalised across providers).',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: tokensPerSecond(TOKEN_TYPE.input), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Output tokens / s by model',
        description: 'Output tokens per second, reasoning tokens included (normalised across providers).',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: tokensPerSecond(TOKEN_TYPE.output), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Cache-read share of input tokens by model',
        description:
          'Cache-read tokens / input tokens: how much of the prompt the provider served from its prompt cache. ' +
          'Models whose provider does not report cache reads have no line (absent is not zero).',
        unit: UNIT.ratio,
        width: 12,
        min: 0,
        max: 1,
        targets: [{ expr: ratio(detailPerSecond(TOKEN_DETAIL_TYPE.cacheRead), tokensPerSecond(TOKEN_TYPE.input)), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Reasoning share of output tokens by model',
        description:
          'Reasoning tokens / output tokens: how much of the output was spent thinking. ' +
          'Models that do not report reasoning tokens have no line.',
        unit: UNIT.ratio,
        width: 12,
        min: 0,
        max: 1,
        targets: [{ expr: ratio(detailPerSecond(TOKEN_DETAIL_TYPE.reasoning), tokensPerSecond(TOKEN_TYPE.output)), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Cache-write tokens / s by model',
        description: 'Tokens written to the provider\'s prompt cache per second (billed at a premium by some providers).',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: detailPerSecond(TOKEN_DETAIL_TYPE.cacheWrite), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Cost per hour by model',
        description: 'Estimated spend rate in USD per hour, from the price table.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: perHour(sum(rate(PROM.cost, scope), byModel)), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Duration p95 by model',
        description: '95th percentile of the whole call duration, per model.',
        unit: UNIT.seconds,
        width: 12,
        targets: [{ expr: quantile(0.95, READ.durationBuckets, scope, byModel), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Time per output chunk p95 by model',
        description: 'Streaming calls only: 95th percentile of the gap between output chunks after the first, per model.',
        unit: UNIT.seconds,
        width: 12,
        targets: [{ expr: quantile(0.95, READ.timePerOutputChunkBuckets, scope, byModel), legend: modelLegend }],
      }),
      timeSeriesPanel({
        title: 'Request rate by provider and operation',
        description: 'Calls per second per provider and operation (chat, embeddings, ...).',
        unit: UNIT.requestsPerSecond,
        width: 12,
        targets: [{ expr: sum(rate(READ.calls, scope), [LABEL.provider, LABEL.operation]), legend: `{{${LABEL.provider}}} {{${LABEL.operation}}}` }],
      }),
      pieChartPanel({
        title: 'Cost by model in range',
        description: 'Estimated spend in USD per model over the selected time range.',
        unit: UNIT.usd,
        width: 12,
        targets: [{ expr: sum(increase(PROM.cost, scope), byModel), legend: modelLegend }],
      }),
    ],
  });
}
