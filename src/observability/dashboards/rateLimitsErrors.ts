/**
 * Rate limits & errors: how close each provider's rate limits are, and what fails and how.
 * The rate-limit gauges are the last values the sidecars read from provider response headers;
 * they carry no model label, so the model filter does not apply to them.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { LABEL, PROM, READ } from '../../telemetry/prometheusNames';
import { buildDashboard } from './frame';
import { statPanel, timeSeriesPanel, UNIT } from './panels';
import { equals, max, min, notEquals, orZeroLike, rate, ratio, selector, sum } from './promql';
import { SCOPE } from './variables';

export const RATE_LIMITS_ERRORS_UID = 'genai-ratelimits-errors';

/** HTTP status a provider answers with when a rate limit is hit. */
const TOO_MANY_REQUESTS = '429';

const calls = READ.calls;
const scope = SCOPE.call;
const limitScope = SCOPE.provider;
const byLimit = [LABEL.provider, LABEL.rateLimitResource];
const limitLegend = `{{${LABEL.provider}}} {{${LABEL.rateLimitResource}}}`;
const byProvider = [LABEL.provider];
const providerLegend = `{{${LABEL.provider}}}`;

const remaining = selector(PROM.rateLimitRemaining, limitScope);
const limit = selector(PROM.rateLimitLimit, limitScope);
/** Per sidecar first (same labels on both gauges), then the tightest one. */
const headroom = min(`${remaining} / ${limit}`, byLimit);

const requestsByProvider = sum(rate(calls, scope), byProvider);
const rateLimitedByProvider = sum(rate(calls, [...scope, equals(LABEL.httpStatus, TOO_MANY_REQUESTS)]), byProvider);
const failedByProvider = sum(rate(calls, [...scope, notEquals(LABEL.errorType, '')]), byProvider);

const HEADROOM_THRESHOLDS = [
  { value: null, color: 'red' },
  { value: 0.1, color: 'orange' },
  { value: 0.25, color: 'green' },
];

export function rateLimitsErrorsDashboard(): Dashboard {
  return buildDashboard({
    uid: RATE_LIMITS_ERRORS_UID,
    title: 'GenAI sidecar / Rate limits & errors',
    description: 'Provider rate-limit headroom from response headers, errors by type and HTTP status, and 429 responses.',
    panels: [
      statPanel({
        title: 'Lowest rate-limit headroom',
        description: 'Smallest remaining / limit across providers and resources (requests, tokens...). Low means calls are about to be throttled.',
        unit: UNIT.ratio,
        width: 8,
        min: 0,
        max: 1,
        thresholds: HEADROOM_THRESHOLDS,
        targets: [{ expr: min(`${remaining} / ${limit}`), legend: 'headroom' }],
      }),
      statPanel({
        title: '429 responses / s',
        description: 'Calls per second the provider rejected with HTTP 429 (rate limited).',
        unit: UNIT.requestsPerSecond,
        width: 8,
        targets: [{ expr: orZeroLike(sum(rate(calls, [...scope, equals(LABEL.httpStatus, TOO_MANY_REQUESTS)])), sum(rate(calls, scope))), legend: '429/s' }],
      }),
      statPanel({
        title: 'Errors / s',
        description: 'Failed calls per second, of any error.type.',
        unit: UNIT.requestsPerSecond,
        width: 8,
        targets: [{ expr: orZeroLike(sum(rate(calls, [...scope, notEquals(LABEL.errorType, '')])), sum(rate(calls, scope))), legend: 'errors/s' }],
      }),
      timeSeriesPanel({
        title: 'Rate-limit headroom (remaining / limit)',
        description: 'Share of the current rate-limit window still available, per provider and resource (tightest sidecar shown).',
        unit: UNIT.ratio,
        width: 12,
        min: 0,
        max: 1,
        thresholds: HEADROOM_THRESHOLDS,
        targets: [{ expr: headroom, legend: limitLegend }],
      }),
      timeSeriesPanel({
        title: 'Rate-limit remaining vs limit',
        description: 'Requests or tokens left in the current window (lowest across sidecars) and the window size, per provider and resource.',
        unit: UNIT.count,
        width: 12,
        targets: [
          { expr: min(remaining, byLimit), legend: `remaining ${limitLegend}` },
          { expr: max(limit, byLimit), legend: `limit ${limitLegend}` },
        ],
      }),
      timeSeriesPanel({
        title: 'Seconds until rate-limit reset',
        description: 'Time until the provider resets the rate-limit window, per provider and resource (longest across sidecars).',
        unit: UNIT.seconds,
        width: 12,
        min: 0,
        targets: [{ expr: max(selector(PROM.rateLimitReset, limitScope), byLimit), legend: limitLegend }],
      }),
      timeSeriesPanel({
        title: '429 share of calls by provider',
        description: 'Share of calls rejected with HTTP 429, per provider.',
        unit: UNIT.ratio,
        width: 12,
        min: 0,
        targets: [{ expr: ratio(orZeroLike(rateLimitedByProvider, requestsByProvider), requestsByProvider), legend: providerLegend }],
      }),
      timeSeriesPanel({
        title: 'Errors / s by error type',
        description: 'Failed calls per second by error.type: an HTTP status code, timeout, connection_error, cancelled or _OTHER.',
        unit: UNIT.requestsPerSecond,
        width: 12,
        targets: [{ expr: sum(rate(calls, [...scope, notEquals(LABEL.errorType, '')]), [LABEL.errorType]), legend: `{{${LABEL.errorType}}}` }],
      }),
      timeSeriesPanel({
        title: 'Calls / s by HTTP status',
        description: 'Calls per second by the HTTP status the provider answered with (calls that never got a response have no status).',
        unit: UNIT.requestsPerSecond,
        width: 12,
        targets: [{ expr: sum(rate(calls, [...scope, notEquals(LABEL.httpStatus, '')]), [LABEL.httpStatus]), legend: `{{${LABEL.httpStatus}}}` }],
      }),
      timeSeriesPanel({
        title: '429 responses / s by provider',
        description: 'Calls per second rejected with HTTP 429, per provider (0 while a provider has traffic but no 429).',
        unit: UNIT.requestsPerSecond,
        width: 12,
        targets: [{ expr: orZeroLike(rateLimitedByProvider, requestsByProvider), legend: providerLegend }],
      }),
      timeSeriesPanel({
        title: 'Error ratio by provider',
        description: 'Share of calls that failed, per provider.',
        unit: UNIT.ratio,
        width: 12,
        min: 0,
        targets: [{ expr: ratio(orZeroLike(failedByProvider, requestsByProvider), requestsByProvider), legend: providerLegend }],
      }),
    ],
  });
}
