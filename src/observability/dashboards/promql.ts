/**
 * Small PromQL builders shared by the dashboards. Series and label names always come from
 * `telemetry/prometheusNames` or `telemetry/collectorNames`; these helpers only add syntax.
 *
 * Counters and histograms are cumulative and restart from zero with every pod, so they are only
 * ever read through `rate()` over `$__rate_interval` (Grafana sizes it to hold at least four
 * samples) or `increase()` over `$__range` (the dashboard's time range).
 */

import { LABEL, PROM, PROM_LATEST, seriesSelector, type SeriesSet } from '../../telemetry/prometheusNames';
import { TOKEN_DETAIL_TYPE, TOKEN_TYPE } from '../../telemetry/names';

/** Prometheus' own bucket-bound label on `_bucket` series. */
export const BUCKET_BOUND_LABEL = 'le';

export const RATE_WINDOW = '$__rate_interval';
export const RANGE_WINDOW = '$__range';

export type Matcher = string;

export function equals(label: string, value: string): Matcher {
  return `${label}="${value}"`;
}

export function notEquals(label: string, value: string): Matcher {
  return `${label}!="${value}"`;
}

/** `label=~"$variable"`: a multi-value Grafana variable expands to an alternation. */
export function matchesVariable(label: string, variable: string): Matcher {
  return `${label}=~"$${variable}"`;
}

export function selector(series: string | SeriesSet, matchers: readonly Matcher[] = []): string {
  return seriesSelector(series, matchers);
}

/** Per-second rate of a counter or histogram series. */
export function rate(series: string | SeriesSet, matchers: readonly Matcher[] = []): string {
  return `rate(${selector(series, matchers)}[${RATE_WINDOW}])`;
}

/** Growth of a counter or histogram series over the dashboard's time range. */
export function increase(series: string | SeriesSet, matchers: readonly Matcher[] = []): string {
  return `increase(${selector(series, matchers)}[${RANGE_WINDOW}])`;
}

/** `label_replace` that adds `label="value"` to every element of `vector`. */
function withLabel(vector: string, label: string, value: string): string {
  return `label_replace(${vector}, "${label}", "${value}", "", "")`;
}

type Window = typeof rate;

/**
 * Token rates (or increases), one element per series with `gen_ai_token_type`, whichever set the
 * sidecars record: the v1.41 histogram's `_sum` (which has the label), or the newer counters (the
 * label added). `type` keeps one kind of token.
 */
export function tokens(window: Window, matchers: readonly Matcher[], type?: (typeof TOKEN_TYPE)[keyof typeof TOKEN_TYPE]): string {
  const latest = { [TOKEN_TYPE.input]: PROM_LATEST.usageInputTokens, [TOKEN_TYPE.output]: PROM_LATEST.usageOutputTokens };
  const types = type === undefined ? [TOKEN_TYPE.input, TOKEN_TYPE.output] : [type];
  const v141 = window(PROM.tokenUsage.sum, type === undefined ? matchers : [...matchers, equals(LABEL.tokenType, type)]);
  return `(${[v141, ...types.map((kind) => withLabel(window(latest[kind], matchers), LABEL.tokenType, kind))].join(' or ')})`;
}

/** Cache-read, cache-write or reasoning token rates, with `genai_sidecar_token_type`, from either set. */
export function tokenDetail(window: Window, matchers: readonly Matcher[], type: (typeof TOKEN_DETAIL_TYPE)[keyof typeof TOKEN_DETAIL_TYPE]): string {
  const latest = {
    [TOKEN_DETAIL_TYPE.cacheRead]: PROM_LATEST.usageCacheReadInputTokens,
    [TOKEN_DETAIL_TYPE.cacheWrite]: PROM_LATEST.usageCacheWriteInputTokens,
    [TOKEN_DETAIL_TYPE.reasoning]: PROM_LATEST.usageReasoningOutputTokens,
  };
  return `(${window(PROM.tokenDetail, [...matchers, equals(LABEL.tokenDetailType, type)])} or ${withLabel(window(latest[type], matchers), LABEL.tokenDetailType, type)})`;
}

function aggregate(operator: string, inner: string, by: readonly string[]): string {
  return by.length === 0 ? `${operator}(${inner})` : `${operator} by (${by.join(', ')}) (${inner})`;
}

export function sum(inner: string, by: readonly string[] = []): string {
  return aggregate('sum', inner, by);
}

export function max(inner: string, by: readonly string[] = []): string {
  return aggregate('max', inner, by);
}

export function min(inner: string, by: readonly string[] = []): string {
  return aggregate('min', inner, by);
}

export function count(inner: string, by: readonly string[] = []): string {
  return aggregate('count', inner, by);
}

export function topk(k: number, inner: string): string {
  return `topk(${k}, ${inner})`;
}

/** `q`-quantile of a histogram over `$__rate_interval`, per `by` group. */
export function quantile(q: number, bucketSeries: string | SeriesSet, matchers: readonly Matcher[], by: readonly string[] = []): string {
  return `histogram_quantile(${q}, ${sum(rate(bucketSeries, matchers), [BUCKET_BOUND_LABEL, ...by])})`;
}

export function ratio(numerator: string, denominator: string): string {
  return `(${numerator}) / (${denominator})`;
}

/** A per-second rate expressed per hour (cost panels read better as USD/hour). */
export function perHour(perSecond: string): string {
  return `(${perSecond}) * 3600`;
}

/**
 * `expr`, or 0 for every group of `reference` that `expr` lacks. For counts of failures, where a
 * group with traffic but no failure series truly had zero failures.
 */
export function orZeroLike(expr: string, reference: string): string {
  return `(${expr}) or (0 * ${reference})`;
}
