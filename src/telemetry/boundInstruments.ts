/**
 * Cumulative histograms and counters with handles bound once per attribute set, exported through
 * the SDK's reader as a MetricProducer.
 *
 * Why not the SDK's instruments for the per-call metrics: every `record()` there sorts and
 * JSON-stringifies the attribute set to find its series, and a call makes six or more, which was
 * the largest piece of the sidecar's own CPU in the bench profile. The OpenTelemetry JS API has no
 * bound instruments, so this module is one: the caller looks a handle up by a key it already has,
 * and recording is a few additions. The data handed to the exporter has the same shape as the
 * SDK's (cumulative temporality, explicit buckets, min/max), so the OTLP on the wire is unchanged.
 *
 * No SDK package is loaded here until the first collection (which the SDK's reader makes): calls
 * are recorded from the start while the SDK loads after the sidecar is ready (see pipeline.ts).
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { CollectionResult, DataPoint, Histogram, MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { MetricDefinition } from './names';

type Sdk = typeof import('@opentelemetry/sdk-metrics');
type Api = typeof import('@opentelemetry/api');

/** Loaded by the reader that calls `collect()` before it does; require returns its cache. */
function sdk(): Sdk {
  return require('@opentelemetry/sdk-metrics') as Sdk;
}

/** What @opentelemetry/core's millisToHrTime computes, without loading core for it. */
function nowHrTime(): HrTime {
  const ms = Date.now();
  const seconds = Math.trunc(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** The SDK's default cardinality limit per instrument; beyond it one overflow series takes the rest. */
export const MAX_SERIES_PER_INSTRUMENT = 2000;
/** The attribute the SDK marks its overflow series with (OpenTelemetry metrics SDK spec). */
export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

export interface HistogramHandle {
  record(value: number): void;
}

export interface CounterHandle {
  add(value: number): void;
}

/** A histogram series as recorded, read in place (its arrays change with the next call). */
export interface LiveHistogramSeries {
  readonly attributes: Attributes;
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export interface LiveCounterSeries {
  readonly attributes: Attributes;
  readonly value: number;
}

/** One instrument's series for a reader that renders them itself, without a collection's copies. */
export type LiveInstrument =
  | { kind: 'histogram'; definition: MetricDefinition; bounds: readonly number[]; series: readonly LiveHistogramSeries[] }
  | { kind: 'counter'; definition: MetricDefinition; series: readonly LiveCounterSeries[] };

class HistogramSeries implements HistogramHandle {
  readonly counts: number[];
  sum = 0;
  count = 0;
  min = Infinity;
  max = -Infinity;

  constructor(
    readonly attributes: Attributes,
    readonly startTime: HrTime,
    private readonly boundaries: readonly number[],
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    // The SDK drops these for histograms too.
    if (!(value >= 0) || value === Infinity) return;
    const bounds = this.boundaries;
    let bucket = 0;
    // Inclusive upper bounds; at most ~15 of them, so a linear scan beats a binary search.
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket += 1;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += value;
    this.count += 1;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

class CounterSeries implements CounterHandle {
  value = 0;

  constructor(
    readonly attributes: Attributes,
    readonly startTime: HrTime,
  ) {}

  add(value: number): void {
    // Monotonic counters only grow, as in the SDK.
    if (value >= 0 && value !== Infinity) this.value += value;
  }
}

/** Series of one instrument by caller key, capped at MAX_SERIES_PER_INSTRUMENT plus overflow. */
abstract class Instrument<S> {
  private readonly series = new Map<string, S>();
  private overflow: S | undefined;

  constructor(readonly definition: MetricDefinition) {}

  /** The handle for `key`; `attributes` is only called the first time a key is seen. */
  bind(key: string, attributes: () => Attributes): S {
    const found = this.series.get(key);
    if (found !== undefined) return found;
    if (this.series.size >= MAX_SERIES_PER_INSTRUMENT) {
      this.overflow ??= this.create(OVERFLOW_ATTRIBUTES);
      return this.overflow;
    }
    const created = this.create(attributes());
    this.series.set(key, created);
    return created;
  }

  /** Every series, the overflow one last. */
  all(): S[] {
    const list = [...this.series.values()];
    if (this.overflow !== undefined) list.push(this.overflow);
    return list;
  }

  protected abstract create(attributes: Attributes): S;
  abstract collect(endTime: HrTime): MetricData | undefined;
}

export class BoundHistogram extends Instrument<HistogramSeries> {
  /** One array for every point of every collection: readers and exporters only read it. */
  private readonly boundaries: number[];

  get bounds(): readonly number[] {
    return this.boundaries;
  }

  constructor(definition: MetricDefinition) {
    super(definition);
    if (!definition.buckets) throw new Error(`histogram ${definition.name} has no bucket boundaries`);
    this.boundaries = Object.freeze([...definition.buckets]) as number[];
  }

  protected create(attributes: Attributes): HistogramSeries {
    return new HistogramSeries(attributes, nowHrTime(), this.boundaries);
  }

  collect(endTime: HrTime): MetricData | undefined {
    const points: DataPoint<Histogram>[] = [];
    for (const s of this.all()) {
      if (s.count === 0) continue;
      points.push({
        attributes: s.attributes,
        startTime: s.startTime,
        endTime,
        value: { buckets: { boundaries: this.boundaries, counts: [...s.counts] }, sum: s.sum, count: s.count, min: s.min, max: s.max },
      });
    }
    if (points.length === 0) return undefined;
    const { AggregationTemporality, DataPointType } = sdk();
    return {
      descriptor: descriptorOf(this.definition),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: points,
    };
  }
}

export class BoundCounter extends Instrument<CounterSeries> {
  protected create(attributes: Attributes): CounterSeries {
    return new CounterSeries(attributes, nowHrTime());
  }

  collect(endTime: HrTime): MetricData | undefined {
    const points: DataPoint<number>[] = this.all().map((s) => ({ attributes: s.attributes, startTime: s.startTime, endTime, value: s.value }));
    if (points.length === 0) return undefined;
    const { AggregationTemporality, DataPointType } = sdk();
    return {
      descriptor: descriptorOf(this.definition),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: points,
    };
  }
}

function descriptorOf(definition: MetricDefinition): MetricData['descriptor'] {
  const { ValueType } = require('@opentelemetry/api') as Api;
  return { name: definition.name, description: definition.description, unit: definition.unit, valueType: ValueType.DOUBLE };
}

/** The instruments above, collected by the SDK's reader next to its own (same scope). */
export class BoundInstrumentsProducer implements MetricProducer {
  private readonly instruments: Array<BoundHistogram | BoundCounter> = [];

  constructor(private readonly scope: { name: string; version?: string }) {}

  histogram(definition: MetricDefinition): BoundHistogram {
    const instrument = new BoundHistogram(definition);
    this.instruments.push(instrument);
    return instrument;
  }

  counter(definition: MetricDefinition): BoundCounter {
    const instrument = new BoundCounter(definition);
    this.instruments.push(instrument);
    return instrument;
  }

  /**
   * The series as they are now, without copies: for the pull endpoint, which renders each series
   * in one synchronous step (so its counts, sum and count agree) and would otherwise make a
   * collection's garbage on every scrape. Histogram series without a value are left out, as in
   * `collect()`.
   */
  live(): LiveInstrument[] {
    return this.instruments.map((instrument) =>
      instrument instanceof BoundHistogram
        ? { kind: 'histogram', definition: instrument.definition, bounds: instrument.bounds, series: instrument.all().filter((series) => series.count > 0) }
        : { kind: 'counter', definition: instrument.definition, series: instrument.all() },
    );
  }

  collect(): Promise<CollectionResult> {
    const endTime = nowHrTime();
    const metrics: MetricData[] = [];
    for (const instrument of this.instruments) {
      const data = instrument.collect(endTime);
      if (data !== undefined) metrics.push(data);
    }
    return Promise.resolve({
      // The reader keeps its own resource; this one is not exported.
      resourceMetrics: { resource: (require('@opentelemetry/resources') as typeof import('@opentelemetry/resources')).emptyResource(), scopeMetrics: metrics.length === 0 ? [] : [{ scope: this.scope, metrics }] },
      errors: [],
    });
  }
}
