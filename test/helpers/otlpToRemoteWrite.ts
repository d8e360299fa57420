/**
 * Stands in for the Collector in tests (there is no collector binary here): turns decoded OTLP
 * points into Prometheus remote-write series the way collector-config.yaml + the
 * `prometheusremotewrite` exporter do, with the series and label names from
 * src/telemetry/prometheusNames.ts:
 * - metric names via prometheusName() (unit and `_total` suffixes), histograms as
 *   cumulative `_bucket{le}`, `_sum`, `_count`;
 * - only the datapoint attributes collector-config.yaml keeps (its `keep_keys` allow-list, read
 *   from the file itself), with points that then collapse re-aggregated as its
 *   `aggregate_on_attributes` does (sum for counters and histograms, min/max for gauges);
 * - resource `service.name` -> `job`, `service.instance.id` -> `instance`; only namespace,
 *   workload and cluster promoted.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MetricDefinition } from '../../src/telemetry/names';
import { METRICS } from '../../src/telemetry/names';
import { labelName, prometheusName } from '../../src/telemetry/prometheusNames';
import type { ReceivedPoint } from './otlpReceiver';
import type { TimeSeries } from './prometheus';

const PROMOTED_RESOURCE_ATTRIBUTES = ['k8s.namespace.name', 'k8s.workload.name', 'k8s.cluster.name'];

const DEFINITIONS = new Map<string, MetricDefinition>(Object.values(METRICS).map((definition) => [definition.name, definition]));

function baseName(point: ReceivedPoint): string {
  const known = DEFINITIONS.get(point.metric);
  if (known) return prometheusName(known);
  const kind = point.kind === 'histogram' ? 'histogram' : point.kind === 'sum' && point.monotonic ? 'counter' : 'gauge';
  return prometheusName({ name: point.metric, unit: point.unit, kind, description: '', origin: 'genai_sidecar' });
}

function labelsOf(point: ReceivedPoint): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(point.attributes)) labels[labelName(key)] = String(value);
  const job = point.resource['service.name'];
  const instance = point.resource['service.instance.id'];
  if (job !== undefined) labels.job = String(job);
  if (instance !== undefined) labels.instance = String(instance);
  for (const key of PROMOTED_RESOURCE_ATTRIBUTES) {
    const value = point.resource[key];
    if (value !== undefined) labels[labelName(key)] = String(value);
  }
  return labels;
}

/** Shortest decimal form, as Go's strconv.FormatFloat(bound, 'f', -1, 64) writes `le`. */
function formatBound(bound: number): string {
  return String(bound);
}

/** The attribute allow-list of the collector's `keep_keys` statement. */
export function collectorAllowList(): Set<string> {
  const config = readFileSync(path.resolve(__dirname, '../../collector-config.yaml'), 'utf8');
  const statement = /keep_keys\(datapoint\.attributes,\s*\[([^\]]*)\]\)/.exec(config);
  if (!statement?.[1]) throw new Error('collector-config.yaml has no keep_keys(datapoint.attributes, [...]) statement');
  return new Set([...statement[1].matchAll(/"([^"]+)"/g)].map((match) => match[1] ?? ''));
}

/** Drop what the collector drops, then merge points whose remaining attributes coincide. */
export function applyCollectorPipeline(points: readonly ReceivedPoint[], allowed: Set<string>): ReceivedPoint[] {
  const merged = new Map<string, ReceivedPoint>();
  for (const point of points) {
    const attributes = Object.fromEntries(Object.entries(point.attributes).filter(([key]) => allowed.has(key)));
    const key = JSON.stringify([point.metric, point.resource, Object.entries(attributes).sort()]);
    const existing = merged.get(key);
    if (!existing) {
      merged.set(key, { ...point, attributes, bucketCounts: point.bucketCounts ? [...point.bucketCounts] : undefined });
      continue;
    }
    if (point.kind === 'gauge') {
      const pick = point.metric.endsWith('.reset') ? Math.max : Math.min;
      existing.value = pick(existing.value ?? 0, point.value ?? 0);
    } else {
      existing.value = (existing.value ?? 0) + (point.value ?? 0);
      existing.count = (existing.count ?? 0) + (point.count ?? 0);
      existing.sum = (existing.sum ?? 0) + (point.sum ?? 0);
      existing.bucketCounts = existing.bucketCounts?.map((count, index) => count + (point.bucketCounts?.[index] ?? 0));
    }
  }
  return [...merged.values()];
}

/** Convert the newest cumulative points into series stamped with `timestampMs`. */
export function toRemoteWrite(rawPoints: readonly ReceivedPoint[], timestampMs: number): TimeSeries[] {
  const points = applyCollectorPipeline(rawPoints, collectorAllowList());
  const series: TimeSeries[] = [];
  const sample = (value: number): TimeSeries['samples'] => [{ value, timestampMs }];
  for (const point of points) {
    const name = baseName(point);
    const labels = labelsOf(point);
    if (point.kind === 'histogram') {
      let cumulative = 0;
      const bounds = point.explicitBounds ?? [];
      const counts = point.bucketCounts ?? [];
      bounds.forEach((bound, index) => {
        cumulative += counts[index] ?? 0;
        series.push({ labels: { ...labels, __name__: `${name}_bucket`, le: formatBound(bound) }, samples: sample(cumulative) });
      });
      series.push({ labels: { ...labels, __name__: `${name}_bucket`, le: '+Inf' }, samples: sample(point.count ?? 0) });
      series.push({ labels: { ...labels, __name__: `${name}_sum` }, samples: sample(point.sum ?? 0) });
      series.push({ labels: { ...labels, __name__: `${name}_count` }, samples: sample(point.count ?? 0) });
    } else {
      series.push({ labels: { ...labels, __name__: name }, samples: sample(point.value ?? 0) });
    }
  }
  return series;
}
