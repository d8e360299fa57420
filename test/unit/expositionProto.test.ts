/**
 * The protobuf page decoded by protobufjs from a schema written here from metrics.proto's field
 * numbers: an independent reader (a real Prometheus reads it in pullEndpoint.test.ts).
 */
import protobuf from 'protobufjs';
import { expose, labelSetOf, type Family } from '../../src/telemetry/exposition';

const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Gauge: { fields: { value: { type: 'double', id: 1 } } },
    Counter: { fields: { value: { type: 'double', id: 1 } } },
    Bucket: { fields: { cumulativeCount: { type: 'uint64', id: 1 }, upperBound: { type: 'double', id: 2 } } },
    Histogram: { fields: { sampleCount: { type: 'uint64', id: 1 }, sampleSum: { type: 'double', id: 2 }, bucket: { rule: 'repeated', type: 'Bucket', id: 3 } } },
    Metric: {
      fields: {
        label: { rule: 'repeated', type: 'LabelPair', id: 1 },
        gauge: { type: 'Gauge', id: 2 },
        counter: { type: 'Counter', id: 3 },
        histogram: { type: 'Histogram', id: 7 },
      },
    },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, help: { type: 'string', id: 2 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
});
const MetricFamily = root.lookupType('MetricFamily');

function decodeAll(bytes: Buffer): Array<Record<string, unknown>> {
  const reader = protobuf.Reader.create(bytes);
  const families: Array<Record<string, unknown>> = [];
  while (reader.pos < reader.len) families.push(MetricFamily.toObject(MetricFamily.decodeDelimited(reader), { longs: Number }));
  return families;
}

const labels = labelSetOf([['tenant', 'Zürich "a"'], ['model', 'm']]);
const FAMILIES: Family[] = [
  { kind: 'info', name: 'target_info', help: 'Target metadata', series: [{ labels: labelSetOf([['k8s_pod_name', 'web-1']]), value: 1 }] },
  { kind: 'counter', name: 'cost_usd_total', help: 'Cost.', series: [{ labels, value: 0.25 }] },
  { kind: 'histogram', name: 'duration_seconds', help: 'Duration.', unit: 'seconds', series: [{ labels, bounds: [0.5, 1], counts: [1, 2, 3], sum: 9.5, count: 6 }] },
  { kind: 'gauge', name: 'no_series', help: 'Left out.', series: [] },
];

test('every family, series, label and bucket reads back; +Inf is the sample count', () => {
  const families = decodeAll(Buffer.concat([...expose(FAMILIES, 'protobuf')]));
  expect(families).toEqual([
    { name: 'target_info', help: 'Target metadata', type: 1, metric: [{ label: [{ name: 'k8s_pod_name', value: 'web-1' }], gauge: { value: 1 } }] },
    {
      name: 'cost_usd_total',
      help: 'Cost.',
      type: 0,
      metric: [{ label: [{ name: 'model', value: 'm' }, { name: 'tenant', value: 'Zürich "a"' }], counter: { value: 0.25 } }],
    },
    {
      name: 'duration_seconds',
      help: 'Duration.',
      type: 4,
      metric: [
        {
          label: [{ name: 'model', value: 'm' }, { name: 'tenant', value: 'Zürich "a"' }],
          histogram: { sampleCount: 6, sampleSum: 9.5, bucket: [{ cumulativeCount: 1, upperBound: 0.5 }, { cumulativeCount: 3, upperBound: 1 }] },
        },
      ],
    },
  ]);
});

test('a large page comes in slices of whole families', () => {
  const many = (name: string): Family => ({
    kind: 'gauge',
    name,
    help: 'h',
    series: Array.from({ length: 2000 }, (_, index) => ({ labels: labelSetOf([['n', String(index)]]), value: index })),
  });
  const slices = [...expose([many('a'), many('b'), many('c')], 'protobuf')];
  expect(slices.length).toBeGreaterThan(1);
  const families = decodeAll(Buffer.concat(slices));
  expect(families.map((f) => [f.name, (f.metric as unknown[]).length])).toEqual([
    ['a', 2000],
    ['b', 2000],
    ['c', 2000],
  ]);
});

describe('series kept from one scrape to the next', () => {
  const histogramOf = (family: Record<string, unknown>): unknown => (family.metric as Array<{ histogram: unknown }>)[0]?.histogram;
  const buckets = (counts: number[], sum: number) => ({ labels, bounds: [0.5, 1], counts, sum, count: counts.reduce((a, b) => a + b, 0) });

  test('a changed value is written again, whether or not its encoding changed size', () => {
    const series = buckets([1, 2, 3], 9.5);
    const scalar = { labels, value: 1 };
    const families: Family[] = [
      { kind: 'histogram', name: 'd', help: 'h', series: [series] },
      { kind: 'counter', name: 'c', help: 'h', series: [scalar] },
    ];
    const page = (): Array<Record<string, unknown>> => decodeAll(Buffer.concat([...expose(families, 'protobuf')]));
    const first = page();
    expect(histogramOf(first[0]!)).toEqual({ sampleCount: 6, sampleSum: 9.5, bucket: [{ cumulativeCount: 1, upperBound: 0.5 }, { cumulativeCount: 3, upperBound: 1 }] });
    // Same size: every varint keeps its width.
    Object.assign(series, { counts: [2, 2, 3], sum: 10, count: 7 });
    scalar.value = 2;
    const second = page();
    expect(histogramOf(second[0]!)).toEqual({ sampleCount: 7, sampleSum: 10, bucket: [{ cumulativeCount: 2, upperBound: 0.5 }, { cumulativeCount: 4, upperBound: 1 }] });
    expect((second[1]!.metric as Array<{ counter: unknown }>)[0]?.counter).toEqual({ value: 2 });
    // Larger: 200 needs two varint bytes.
    Object.assign(series, { counts: [200, 2, 3], sum: 300, count: 205 });
    expect(histogramOf(page()[0]!)).toEqual({ sampleCount: 205, sampleSum: 300, bucket: [{ cumulativeCount: 200, upperBound: 0.5 }, { cumulativeCount: 202, upperBound: 1 }] });
    // Unchanged: the same bytes again.
    expect(histogramOf(page()[0]!)).toEqual({ sampleCount: 205, sampleSum: 300, bucket: [{ cumulativeCount: 200, upperBound: 0.5 }, { cumulativeCount: 202, upperBound: 1 }] });
  });

  test('a scrape half written when another rewrites its series still reads back whole', () => {
    const series = Array.from({ length: 3000 }, (_, index) => ({ ...buckets([1, 1, 1], 1), labels: labelSetOf([['n', String(index)]]) }));
    const families: Family[] = [{ kind: 'histogram', name: 'd', help: 'h', series }];
    const early = expose(families, 'protobuf')[Symbol.iterator]();
    const head = early.next();
    expect(head.done).toBe(false);
    const firstSlice = Buffer.from(head.value as Buffer);
    for (const entry of series) Object.assign(entry, { counts: [2, 1, 1], sum: 2, count: 4 });
    const later = decodeAll(Buffer.concat([...expose(families, 'protobuf')]));
    const rest: Buffer[] = [];
    for (let next = early.next(); !next.done; next = early.next()) rest.push(Buffer.from(next.value));
    const earlyPage = decodeAll(Buffer.concat([firstSlice, ...rest]));
    expect((earlyPage[0]!.metric as unknown[]).length).toBe(3000);
    // Series past the first slice may show the newer values; each is one whole message.
    for (const metric of earlyPage[0]!.metric as Array<{ histogram: { sampleCount: number; sampleSum: number } }>) {
      expect([3, 4]).toContain(metric.histogram.sampleCount);
      expect(metric.histogram.sampleSum).toBe(metric.histogram.sampleCount === 3 ? 1 : 2);
    }
    expect((later[0]!.metric as Array<{ histogram: { sampleCount: number } }>).every((metric) => metric.histogram.sampleCount === 4)).toBe(true);
  });
});
