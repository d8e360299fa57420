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
