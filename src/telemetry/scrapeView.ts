/**
 * What the shipped collector config (collector-config.yaml) makes of a sidecar's metrics, done in
 * the sidecar for `/metrics`, so a Prometheus that scrapes the sidecar stores the same series as
 * one fed by the collector and every dashboard and alert works on either path:
 * - k8s.namespace.name, k8s.workload.name and k8s.cluster.name are copied from the resource onto
 *   every point (transform/writer_labels);
 * - points keep only the allow-listed attributes and the mapped request headers, and points that
 *   then share a label set are merged: counters and histograms summed, rate-limit gauges by the
 *   least headroom and the latest reset (transform/allowlist);
 * - names and labels as prometheus_remote_write writes them (prometheusNames.ts), the other
 *   resource attributes in `target_info`, no scope labels.
 * test/unit/collectorConfig.test.ts checks the config's lists are these; the pull endpoint's
 * integration test compares both paths on the same traffic in real Prometheus instances.
 */
import type { Attributes } from '@opentelemetry/api';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { LiveCounterSeries, LiveHistogramSeries, LiveInstrument } from './boundInstruments';
import type { Family, HistogramSeries, LabelSet, ProtoCache, ScalarSeries } from './exposition';
import { labelSetOf } from './exposition';
import { ATTR, METRICS } from './names';
import { labelName, prometheusName, unitSuffix } from './prometheusNames';

/** Resource attributes the collector copies onto every point (and so into every series). */
export const PROMOTED_RESOURCE_ATTRIBUTES: readonly string[] = ['k8s.namespace.name', 'k8s.workload.name', 'k8s.cluster.name'];

/**
 * The collector's allow-list without the mapped header attributes (which each deployment adds):
 * every key a dashboard or alert groups by and the promoted resource attributes.
 */
export const KEPT_ATTRIBUTES: readonly string[] = [
  ATTR.operationName,
  ATTR.providerName,
  ATTR.requestModel,
  ATTR.responseModel,
  ATTR.tokenType,
  ATTR.tokenModality,
  ATTR.errorType,
  ATTR.httpStatusCode,
  ATTR.serverAddress,
  ATTR.tokenDetailType,
  ATTR.rateLimitResource,
  ATTR.telemetryStage,
  ...PROMOTED_RESOURCE_ATTRIBUTES,
];

/** How gauge points that collapse into one series merge: the least headroom, the latest reset. */
export const GAUGE_MERGE: Readonly<Record<string, 'min' | 'max'>> = {
  [METRICS.rateLimitRemaining.name]: 'min',
  [METRICS.rateLimitLimit.name]: 'min',
  [METRICS.rateLimitResetSeconds.name]: 'max',
};

/** Metrics the collector's allow-list applies to; others would pass it untouched. */
const IN_SCOPE = /^gen_ai\.|^genai_sidecar\./;

/** Resource attributes that are the series' identity in the collector path (job, instance). */
const IDENTITY_ATTRIBUTES = new Set(['service.name', 'service.instance.id']);

type Sdk = typeof import('@opentelemetry/sdk-metrics');

/** Loaded before any collection that could reach here. */
function sdk(): Sdk {
  return require('@opentelemetry/sdk-metrics') as Sdk;
}

function attributeText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A live histogram series as the exposition reads it: its values read at render time. A class
 * rather than an object literal with getters: each literal's getters are new functions, so every
 * view had a shape of its own and each property read in the encoders was megamorphic (a scrape in
 * which every series changed took 2-3 ms more, bench/scrape.ts).
 */
class LiveHistogramView implements HistogramSeries {
  protoCache?: ProtoCache;
  constructor(
    readonly labels: LabelSet,
    readonly bounds: readonly number[],
    private readonly live: LiveHistogramSeries,
  ) {}
  get counts(): readonly number[] {
    return this.live.counts;
  }
  get sum(): number {
    return this.live.sum;
  }
  get count(): number {
    return this.live.count;
  }
}

/** A live counter series, as LiveHistogramView. */
class LiveCounterView implements ScalarSeries {
  protoCache?: ProtoCache;
  constructor(
    readonly labels: LabelSet,
    private readonly live: LiveCounterSeries,
  ) {}
  get value(): number {
    return this.live.value;
  }
}

/** The view of one resource's metrics: built per scrape, with label strings cached across scrapes. */
export class ScrapeView {
  private readonly kept: Set<string>;
  /** Attribute sets of bound series are the same objects from one collection to the next. */
  private labelCache = new WeakMap<Attributes, LabelSet>();
  private promotedFor: Attributes | undefined;
  private promoted = new Map<string, string>();

  constructor(headerAttributes: readonly string[]) {
    this.kept = new Set([...KEPT_ATTRIBUTES, ...headerAttributes]);
  }

  /**
   * `resourceMetrics`: a collection of the SDK's instruments; `live`: the bound instruments' series
   * read in place (the per-call metrics, nearly all of a page), see boundInstruments.ts.
   */
  families(resourceMetrics: ResourceMetrics, live: readonly LiveInstrument[] = []): Family[] {
    this.promote(resourceMetrics.resource.attributes);
    const families = new Map<string, Family>();
    for (const instrument of live) this.addLive(families, instrument);
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) this.addMetric(families, metric);
    }
    return [this.targetInfo(resourceMetrics.resource.attributes), ...families.values()];
  }

  /** A live series' view, kept from one scrape to the next: its values are read at render time. */
  private readonly liveViews = new WeakMap<object, HistogramSeries | ScalarSeries>();
  /**
   * Each instrument's views as of the last scrape. An instrument's series are only ever added, so
   * with as many series as then and nothing merged, the same views serve again: a scrape of an
   * unchanged set of series does no per-series work here.
   */
  private readonly lastViews = new Map<string, { count: number; merged: boolean; series: Family['series'] }>();

  private addLive(families: Map<string, Family>, instrument: LiveInstrument): void {
    const name = prometheusName(instrument.definition);
    // Each bound instrument has a family of its own; were one shared, nothing would be reused.
    if (families.has(name)) return void this.addLiveSeries(families, instrument);
    const last = this.lastViews.get(instrument.definition.name);
    if (last !== undefined && !last.merged && last.count === instrument.series.length) {
      families.set(name, { ...this.liveFamily(instrument, name), series: last.series } as Family);
      return;
    }
    const merged = this.addLiveSeries(families, instrument);
    this.lastViews.set(instrument.definition.name, { count: instrument.series.length, merged, series: families.get(name)?.series ?? [] });
  }

  private liveFamily(instrument: LiveInstrument, name: string): Family {
    const unit = unitSuffix(instrument.definition.unit);
    const base = { help: instrument.definition.description, ...(unit === undefined ? {} : { unit }) };
    return instrument.kind === 'histogram' ? { kind: 'histogram', name, ...base, series: [] } : { kind: 'counter', name, ...base, series: [] };
  }

  /** The instrument's views into its family; true when some of its points collapsed into one. */
  private addLiveSeries(families: Map<string, Family>, instrument: LiveInstrument): boolean {
    const inScope = IN_SCOPE.test(instrument.definition.name);
    const name = prometheusName(instrument.definition);
    const family = families.get(name) ?? this.liveFamily(instrument, name);
    if (family.kind !== instrument.kind) return false;
    families.set(name, family);
    const labelsOf = (live: { attributes: Attributes }): LabelSet => this.labelsOf(live.attributes, inScope);
    if (instrument.kind === 'histogram') {
      return collapse(
        family.series as HistogramSeries[],
        instrument.series,
        labelsOf,
        (live, labels) => this.histogramView(live, labels, instrument.bounds),
        (found, live) => addedHistogram(found, live.counts, live.sum, live.count),
      );
    }
    return collapse(family.series as ScalarSeries[], instrument.series, labelsOf, (live, labels) => this.counterView(live, labels), (found, live) => ({ labels: found.labels, value: found.value + live.value }));
  }

  private histogramView(live: LiveHistogramSeries, labels: LabelSet, bounds: readonly number[]): HistogramSeries {
    const kept = this.liveViews.get(live);
    if (kept !== undefined && 'bounds' in kept && kept.labels === labels) return kept;
    const view = new LiveHistogramView(labels, bounds, live);
    this.liveViews.set(live, view);
    return view;
  }

  private counterView(live: LiveCounterSeries, labels: LabelSet): ScalarSeries {
    const kept = this.liveViews.get(live);
    if (kept !== undefined && !('bounds' in kept) && kept.labels === labels) return kept;
    const view = new LiveCounterView(labels, live);
    this.liveViews.set(live, view);
    return view;
  }

  private promote(resource: Attributes): void {
    if (this.promotedFor === resource) return;
    this.promotedFor = resource;
    this.labelCache = new WeakMap();
    this.lastViews.clear();
    this.promoted = new Map();
    for (const key of PROMOTED_RESOURCE_ATTRIBUTES) {
      const value = resource[key];
      if (value !== undefined) this.promoted.set(labelName(key), attributeText(value));
    }
  }

  private labelsOf(attributes: Attributes, inScope: boolean): LabelSet {
    const cached = this.labelCache.get(attributes);
    if (cached !== undefined) return cached;
    const labels = new Map<string, string>();
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined || (inScope && !this.kept.has(key))) continue;
      labels.set(labelName(key), attributeText(value));
    }
    for (const [name, value] of this.promoted) labels.set(name, value);
    const set = labelSetOf(labels);
    // Out-of-scope points (none today) are not cached: the cache key does not say which it was.
    if (inScope) this.labelCache.set(attributes, set);
    return set;
  }

  private addMetric(families: Map<string, Family>, metric: MetricData): void {
    const { DataPointType } = sdk();
    const { descriptor } = metric;
    const inScope = IN_SCOPE.test(descriptor.name);
    const unit = unitSuffix(descriptor.unit);
    const base = { help: descriptor.description, ...(unit === undefined ? {} : { unit }) };
    const labelsOf = (point: { attributes: Attributes }): LabelSet => this.labelsOf(point.attributes, inScope);
    if (metric.dataPointType === DataPointType.HISTOGRAM) {
      const name = prometheusName({ name: descriptor.name, unit: descriptor.unit, kind: 'histogram' });
      const family = families.get(name) ?? { kind: 'histogram', name, ...base, series: [] };
      if (family.kind !== 'histogram') return;
      families.set(name, family);
      collapse(
        family.series,
        metric.dataPoints,
        labelsOf,
        // The collection's own arrays: each collection makes new ones, and nothing else holds them.
        (point, labels) => ({ labels, bounds: point.value.buckets.boundaries, counts: point.value.buckets.counts, sum: point.value.sum ?? 0, count: point.value.count }),
        // Different bounds under one label set cannot merge; one instrument never has them.
        (found, point) => (sameBounds(found.bounds, point.value.buckets.boundaries) ? addedHistogram(found, point.value.buckets.counts, point.value.sum ?? 0, point.value.count) : undefined),
      );
      return;
    }
    if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
      const counter = metric.dataPointType === DataPointType.SUM && metric.isMonotonic;
      const kind = counter ? 'counter' : 'gauge';
      const name = prometheusName({ name: descriptor.name, unit: descriptor.unit, kind });
      const family = families.get(name) ?? { kind, name, ...base, series: [] };
      if (family.kind !== kind) return;
      families.set(name, family);
      const merge = metric.dataPointType === DataPointType.GAUGE ? (GAUGE_MERGE[descriptor.name] ?? 'min') : 'sum';
      const combine = merge === 'sum' ? (a: number, b: number) => a + b : merge === 'min' ? Math.min : Math.max;
      collapse(
        family.series as ScalarSeries[],
        metric.dataPoints,
        labelsOf,
        (point, labels) => ({ labels, value: point.value }),
        (found, point) => ({ labels: found.labels, value: combine(found.value, point.value) }),
      );
    }
    // Exponential histograms: the sidecar records none (the collector sends them apart, unmerged).
  }

  private targetInfo(resource: Attributes): Family {
    const labels = new Map<string, string>();
    for (const key in resource) {
      const value = resource[key];
      if (value !== undefined && !IDENTITY_ATTRIBUTES.has(key)) labels.set(labelName(key), attributeText(value));
    }
    return { kind: 'info', name: 'target_info', help: 'Target metadata', series: [{ labels: labelSetOf(labels), value: 1 }] };
  }
}

/**
 * One series per label set in `series`: `create` for a label set not there yet, and for one that
 * is, `merge`'s new object in its place (the one found may be a live view, never changed in place;
 * undefined leaves it). True when some merged. The collector's aggregate_on_attributes, per scrape.
 */
function collapse<T, S extends { labels: LabelSet }>(
  series: S[],
  items: Iterable<T>,
  labelsOf: (item: T) => LabelSet,
  create: (item: T, labels: LabelSet) => S,
  merge: (found: S, item: T) => S | undefined,
): boolean {
  const byLabels = new Map(series.map((entry) => [entry.labels.text, entry]));
  let merged = false;
  for (const item of items) {
    const labels = labelsOf(item);
    const found = byLabels.get(labels.text);
    const next = found === undefined ? create(item, labels) : merge(found, item);
    if (next === undefined) continue;
    if (found === undefined) series.push(next);
    else {
      series[series.indexOf(found)] = next;
      merged = true;
    }
    byLabels.set(labels.text, next);
  }
  return merged;
}

/** A snapshot of `found` plus another point's counts, sum and count. */
function addedHistogram(found: HistogramSeries, counts: readonly number[], sum: number, count: number): HistogramSeries {
  return { labels: found.labels, bounds: found.bounds, counts: found.counts.map((value, index) => value + (counts[index] ?? 0)), sum: found.sum + sum, count: found.count + count };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, index) => bound === b[index]);
}
