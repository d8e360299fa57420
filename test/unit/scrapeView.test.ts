import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ValueType } from '@opentelemetry/api';
import { BoundInstrumentsProducer } from '../../src/telemetry/boundInstruments';
import type { Family } from '../../src/telemetry/exposition';
import { METRICS } from '../../src/telemetry/names';
import { PROM } from '../../src/telemetry/prometheusNames';
import { ScrapeView } from '../../src/telemetry/scrapeView';

const T: [number, number] = [1_700_000_000, 0];
const BASE = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'server.address': 'api.openai.com', tenant: 'acme' };

function histogram(name: string, unit: string, points: Array<{ attributes: Record<string, string | number>; counts: number[]; sum: number }>): MetricData {
  return {
    descriptor: { name, unit, description: 'd', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: points.map(({ attributes, counts, sum }) => ({
      attributes,
      startTime: T,
      endTime: T,
      value: { buckets: { boundaries: [1, 2], counts }, sum, count: counts.reduce((a, b) => a + b, 0) },
    })),
  };
}

function scalar(name: string, unit: string, type: DataPointType.SUM | DataPointType.GAUGE, points: Array<{ attributes: Record<string, string | number>; value: number }>): MetricData {
  const base = { descriptor: { name, unit, description: 'd', valueType: ValueType.DOUBLE }, aggregationTemporality: AggregationTemporality.CUMULATIVE };
  const dataPoints = points.map(({ attributes, value }) => ({ attributes, startTime: T, endTime: T, value }));
  return type === DataPointType.SUM ? { ...base, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints } : { ...base, dataPointType: DataPointType.GAUGE, dataPoints };
}

const resource = resourceFromAttributes({
  'service.name': 'genai-sidecar',
  'service.instance.id': 'uuid-1',
  'k8s.namespace.name': 'shop',
  'k8s.workload.name': 'checkout',
  'k8s.pod.name': 'checkout-7d9-abc',
});

function view(metrics: MetricData[]): Family[] {
  const input: ResourceMetrics = { resource, scopeMetrics: [{ scope: { name: 'genai-sidecar' }, metrics }] };
  return new ScrapeView(['tenant']).families(input);
}

const family = (families: Family[], name: string): Family | undefined => families.find((f) => f.name === name);

test('points that differ only in dropped attributes merge; kept, promoted and header attributes become labels', () => {
  const families = view([
    histogram(METRICS.operationDuration.name, 's', [
      { attributes: { ...BASE, 'server.port': 443, 'genai_sidecar.route': 'openai' }, counts: [1, 0, 1], sum: 3.5 },
      { attributes: { ...BASE, 'server.port': 8443, 'genai_sidecar.route': 'openai-eu' }, counts: [0, 2, 0], sum: 3 },
      { attributes: { ...BASE, tenant: 'globex', 'server.port': 443 }, counts: [1, 0, 0], sum: 0.5 },
    ]),
  ]);
  const duration = family(families, PROM.operationDuration.bucket.replace(/_bucket$/, ''));
  expect(duration?.kind).toBe('histogram');
  expect(duration?.series).toEqual([
    {
      labels: expect.objectContaining({ text: 'gen_ai_operation_name="chat",gen_ai_provider_name="openai",k8s_namespace_name="shop",k8s_workload_name="checkout",server_address="api.openai.com",tenant="acme"' }),
      bounds: [1, 2],
      counts: [1, 2, 1],
      sum: 6.5,
      count: 4,
    },
    expect.objectContaining({ labels: expect.objectContaining({ text: expect.stringContaining('tenant="globex"') }), counts: [1, 0, 0], count: 1 }),
  ]);
});

test('counters are summed, rate-limit gauges keep the least headroom and the latest reset', () => {
  const families = view([
    scalar(METRICS.cost.name, METRICS.cost.unit, DataPointType.SUM, [
      { attributes: { ...BASE, 'server.port': 1 }, value: 0.25 },
      { attributes: { ...BASE, 'server.port': 2 }, value: 0.5 },
    ]),
    scalar(METRICS.rateLimitRemaining.name, METRICS.rateLimitRemaining.unit, DataPointType.GAUGE, [
      { attributes: { ...BASE, 'server.port': 1 }, value: 90 },
      { attributes: { ...BASE, 'server.port': 2 }, value: 10 },
    ]),
    scalar(METRICS.rateLimitResetSeconds.name, METRICS.rateLimitResetSeconds.unit, DataPointType.GAUGE, [
      { attributes: { ...BASE, 'server.port': 1 }, value: 5 },
      { attributes: { ...BASE, 'server.port': 2 }, value: 30 },
    ]),
  ]);
  const values = (name: string): number[] => (family(families, name)?.series ?? []).map((s) => ('value' in s ? s.value : NaN));
  expect(family(families, PROM.cost)?.kind).toBe('counter');
  expect(values(PROM.cost)).toEqual([0.75]);
  expect(values(PROM.rateLimitRemaining)).toEqual([10]);
  expect(values(PROM.rateLimitReset)).toEqual([30]);
  expect(family(families, PROM.rateLimitReset)).toMatchObject({ kind: 'gauge', unit: 'seconds' });
});

test('target_info carries the resource except what is job and instance in the collector path', () => {
  const [info] = view([]);
  expect(info).toEqual({
    kind: 'info',
    name: 'target_info',
    help: 'Target metadata',
    series: [
      {
        labels: {
          pairs: [['k8s_namespace_name', 'shop'], ['k8s_pod_name', 'checkout-7d9-abc'], ['k8s_workload_name', 'checkout']],
          text: 'k8s_namespace_name="shop",k8s_pod_name="checkout-7d9-abc",k8s_workload_name="checkout"',
        },
        value: 1,
      },
    ],
  });
});

test('metrics outside gen_ai.* and genai_sidecar.* keep all their attributes, as the collector leaves them', () => {
  const families = view([scalar('http.client.request.count', '', DataPointType.SUM, [{ attributes: { 'server.port': 443, route: 'x' }, value: 1 }])]);
  expect(family(families, 'http_client_request_count_total')?.series).toEqual([
    { labels: expect.objectContaining({ text: 'k8s_namespace_name="shop",k8s_workload_name="checkout",route="x",server_port="443"' }), value: 1 },
  ]);
});

test('label values with quotes or line feeds are escaped once', () => {
  const families = view([scalar(METRICS.cost.name, METRICS.cost.unit, DataPointType.SUM, [{ attributes: { ...BASE, tenant: 'a"b\nc' }, value: 1 }])]);
  expect(family(families, PROM.cost)?.series[0]?.labels.text).toContain('tenant="a\\"b\\nc"');
  expect(family(families, PROM.cost)?.series[0]?.labels.pairs).toContainEqual(['tenant', 'a"b\nc']);
});

describe('the bound instruments read in place', () => {
  test('views follow the series between scrapes, are kept across scrapes, and collapsing points are summed', () => {
    const producer = new BoundInstrumentsProducer({ name: 'test' });
    const duration = producer.histogram(METRICS.operationDuration);
    const cost = producer.counter(METRICS.cost);
    const a = duration.bind('a', () => ({ ...BASE, 'server.port': 443 }));
    const b = duration.bind('b', () => ({ ...BASE, 'server.port': 8443 }));
    const c = cost.bind('c', () => ({ ...BASE }));
    a.record(0.015);
    c.add(0.5);
    const scrapeView = new ScrapeView(['tenant']);
    const input: ResourceMetrics = { resource, scopeMetrics: [] };
    const first = scrapeView.families(input, producer.live());
    const firstDuration = family(first, PROM.operationDuration.bucket.replace(/_bucket$/, ''));
    expect(firstDuration?.series).toHaveLength(1);
    const view = firstDuration?.series[0];
    expect(view && 'bounds' in view ? [view.count, view.counts[1]] : undefined).toEqual([1, 1]);
    // A later call shows in the same view object at render time.
    a.record(0.015);
    expect(view && 'bounds' in view ? view.count : undefined).toBe(2);
    const second = scrapeView.families(input, producer.live());
    expect(family(second, PROM.operationDuration.bucket.replace(/_bucket$/, ''))?.series[0]).toBe(view);
    // Another port: the same label set once server.port is dropped, so the two are summed.
    b.record(5);
    const third = family(scrapeView.families(input, producer.live()), PROM.operationDuration.bucket.replace(/_bucket$/, ''))?.series;
    expect(third).toHaveLength(1);
    expect(third?.[0] && 'bounds' in third[0] ? [third[0].count, third[0].sum] : undefined).toEqual([3, 0.03 + 5]);
    expect(family(second, PROM.cost)?.series.map((s) => ('value' in s ? s.value : NaN))).toEqual([0.5]);
  });
});
