/**
 * The three queries `make demo-local` prints: what a newcomer asks first. Built from the same
 * series names as the dashboards and alerts (src/telemetry/prometheusNames.ts), with a fixed
 * window instead of Grafana's `$__rate_interval`: the demo's Prometheus scrapes every 5 s.
 */
import { LABEL, PROM, READ, seriesSelector } from '../../src/telemetry/prometheusNames';

export interface DemoQuery {
  title: string;
  expr: string;
}

/** Twelve samples at the demo's 5 s scrape interval: steady figures a minute after the start. */
export const DEMO_WINDOW = '1m';

const rate = (selector: string): string => `rate(${selector}[${DEMO_WINDOW}])`;
const sumBy = (labels: readonly string[], inner: string): string => `sum by (${labels.join(', ')}) (${inner})`;
const WORKLOAD = [LABEL.namespace, LABEL.workload];

export function demoQueries(): DemoQuery[] {
  const calls = sumBy(WORKLOAD, rate(seriesSelector(READ.calls)));
  const failed = sumBy(WORKLOAD, rate(seriesSelector(READ.calls, [`${LABEL.errorType}!=""`])));
  return [
    { title: 'Cost per workload, USD per hour', expr: `${sumBy(WORKLOAD, rate(PROM.cost))} * 3600` },
    {
      title: 'p95 time to first chunk per model, seconds (streaming calls)',
      expr: `histogram_quantile(0.95, ${sumBy(['le', LABEL.requestModel], rate(seriesSelector(READ.timeToFirstChunkBuckets)))})`,
    },
    // A workload with calls and no failure shows 0, not nothing.
    { title: 'Error ratio per workload', expr: `(${failed} or 0 * ${calls}) / ${calls}` },
  ];
}

/** A link that opens `expr` as a graph of the last 15 minutes in Prometheus's UI. */
export function graphLink(prometheusUrl: string, expr: string): string {
  const params = new URLSearchParams({ 'g0.expr': expr, 'g0.tab': 'graph', 'g0.range_input': '15m' });
  return `${prometheusUrl}/query?${params.toString()}`;
}
