/**
 * The bound per-call instruments must export exactly what the SDK's own instruments would:
 * same buckets, counts, sum, min, max and attributes, cumulative. A property test records the
 * same values through both and compares the collected data; the rest pins the edges (bucket
 * bounds are inclusive, values the SDK drops, the overflow series, the scope).
 */
import type { Attributes } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type MetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { BoundInstrumentsProducer, MAX_SERIES_PER_INSTRUMENT } from '../../src/telemetry/boundInstruments';
import { METRICS } from '../../src/telemetry/names';

async function collectBoth(record: (bound: BoundInstrumentsProducer, meter: ReturnType<MeterProvider['getMeter']>) => void): Promise<{ ours: MetricData[]; sdk: MetricData[] }> {
  const producer = new BoundInstrumentsProducer({ name: 'ours' });
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000, metricProducers: [producer] });
  const provider = new MeterProvider({ readers: [reader] });
  record(producer, provider.getMeter('sdk'));
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  const scope = (name: string): MetricData[] => resourceMetrics.scopeMetrics.find((s) => s.scope.name === name)?.metrics ?? [];
  return { ours: scope('ours'), sdk: scope('sdk') };
}

/** What must agree: everything but timestamps. */
function comparable(metrics: MetricData[]): unknown[] {
  return metrics.map((m) => ({
    name: m.descriptor.name,
    unit: m.descriptor.unit,
    temporality: m.aggregationTemporality,
    type: m.dataPointType,
    monotonic: (m as SumMetricData).isMonotonic,
    points: m.dataPoints
      .map((p) => ({ attributes: p.attributes, value: p.value }))
      .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes))),
  }));
}

const attributeSets: Attributes[] = [{ 'gen_ai.request.model': 'a' }, { 'gen_ai.request.model': 'b', 'server.port': 443 }, {}];

describe('bound instruments agree with the SDK', () => {
  test('histograms: random values over random attribute sets', async () => {
    const buckets = METRICS.operationDuration.buckets;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(attributeSets.length - 1), fc.oneof(fc.double({ min: 0, max: 200, noNaN: true }), fc.constantFrom(...buckets), fc.constant(0))), { maxLength: 200 }),
        async (records) => {
          const { ours, sdk } = await collectBoth((bound, meter) => {
            const histogram = bound.histogram(METRICS.operationDuration);
            const reference = meter.createHistogram(METRICS.operationDuration.name, { unit: METRICS.operationDuration.unit, advice: { explicitBucketBoundaries: [...buckets] } });
            for (const [set, value] of records) {
              histogram.bind(String(set), () => attributeSets[set] as Attributes).record(value);
              reference.record(value, attributeSets[set]);
            }
          });
          expect(comparable(ours)).toEqual(comparable(sdk));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('counters: random non-negative additions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(attributeSets.length - 1), fc.double({ min: 0, max: 1e6, noNaN: true })), { minLength: 1, maxLength: 100 }), async (adds) => {
        const { ours, sdk } = await collectBoth((bound, meter) => {
          const counter = bound.counter(METRICS.cost);
          const reference = meter.createCounter(METRICS.cost.name, { unit: METRICS.cost.unit });
          for (const [set, value] of adds) {
            counter.bind(String(set), () => attributeSets[set] as Attributes).add(value);
            reference.add(value, attributeSets[set]);
          }
        });
        const [mine] = comparable(ours) as Array<{ points: Array<{ value: number }> }>;
        const [theirs] = comparable(sdk) as Array<{ points: Array<{ value: number }> }>;
        expect({ ...mine, points: undefined }).toEqual({ ...theirs, points: undefined });
        // Floating-point sums in the same order are identical; compare with a tolerance anyway.
        mine?.points.forEach((p, i) => expect(p.value).toBeCloseTo(theirs?.points[i]?.value ?? NaN, 6));
      }),
      { numRuns: 100 },
    );
  });

  test('values the SDK drops are dropped: negative, NaN', async () => {
    const { ours, sdk } = await collectBoth((bound, meter) => {
      const histogram = bound.histogram(METRICS.tokenUsage).bind('k', () => ({}));
      const reference = meter.createHistogram(METRICS.tokenUsage.name, { unit: METRICS.tokenUsage.unit, advice: { explicitBucketBoundaries: [...(METRICS.tokenUsage.buckets ?? [])] } });
      for (const value of [-1, Number.NaN, 5]) {
        histogram.record(value);
        reference.record(value);
      }
    });
    expect(comparable(ours)).toEqual(comparable(sdk));
    expect((ours[0] as HistogramMetricData).dataPoints[0]?.value.count).toBe(1);
  });

  test('an infinite value is dropped too (the SDK keeps it, and the series sum stays infinite for good)', async () => {
    const { ours } = await collectBoth((bound) => {
      const histogram = bound.histogram(METRICS.tokenUsage).bind('k', () => ({}));
      histogram.record(Number.POSITIVE_INFINITY);
      histogram.record(3);
      bound.counter(METRICS.cost).bind('k', () => ({})).add(Number.POSITIVE_INFINITY);
    });
    expect((ours[0] as HistogramMetricData).dataPoints[0]?.value).toMatchObject({ count: 1, sum: 3, max: 3 });
    expect((ours[1] as SumMetricData).dataPoints[0]?.value).toBe(0);
  });
});

describe('bound instruments on their own', () => {
  test('a value equal to a boundary falls in that bucket (inclusive upper bound)', async () => {
    const { ours } = await collectBoth((bound) => bound.histogram(METRICS.tokenUsage).bind('k', () => ({})).record(4));
    const point = (ours[0] as HistogramMetricData).dataPoints[0];
    expect(point?.value.buckets.boundaries.slice(0, 3)).toEqual([1, 4, 16]);
    expect(point?.value.buckets.counts.slice(0, 3)).toEqual([0, 1, 0]);
  });

  test('past the series limit every new attribute set goes to one overflow series, as in the SDK', async () => {
    const { ours } = await collectBoth((bound) => {
      const counter = bound.counter(METRICS.cost);
      for (let i = 0; i < MAX_SERIES_PER_INSTRUMENT + 500; i += 1) counter.bind(`k${i}`, () => ({ model: `m${i}` })).add(1);
    });
    const points = (ours[0] as SumMetricData).dataPoints;
    expect(points).toHaveLength(MAX_SERIES_PER_INSTRUMENT + 1);
    expect(points.find((p) => p.attributes['otel.metric.overflow'] === true)?.value).toBe(500);
  });

  test('nothing recorded, nothing exported; the scope is the one given', async () => {
    const producer = new BoundInstrumentsProducer({ name: 'genai-sidecar', version: '9.9.9' });
    producer.histogram(METRICS.operationDuration).bind('never-recorded', () => ({}));
    expect((await producer.collect()).resourceMetrics.scopeMetrics).toEqual([]);
    producer.counter(METRICS.cost).bind('k', () => ({})).add(2);
    const { scopeMetrics } = (await producer.collect()).resourceMetrics;
    expect(scopeMetrics.map((s) => s.scope)).toEqual([{ name: 'genai-sidecar', version: '9.9.9' }]);
    expect(scopeMetrics[0]?.metrics.map((m) => [m.descriptor.name, m.dataPointType])).toEqual([[METRICS.cost.name, DataPointType.SUM]]);
  });

  test('a histogram definition without buckets is a programming error', () => {
    expect(() => new BoundInstrumentsProducer({ name: 'x' }).histogram(METRICS.cost)).toThrow(/no bucket boundaries/);
  });
});
