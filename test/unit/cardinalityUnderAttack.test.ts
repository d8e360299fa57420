/**
 * Cardinality is bounded under attack, at the scale the issue states: a million distinct model
 * names and a million distinct values of a mapped header produce at most the configured number of
 * values per attribute (overflow becomes `_OTHER`), and memory stays flat. Runs the real limiter,
 * header mapper and CallRecorder against a real MeterProvider; the 10,000-call end-to-end
 * version over sockets is in test/integration/security.test.ts.
 */
import type { IncomingMessage } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { createHeaderAttributeMapper } from '../../src/proxy/headerAttributes';
import { BoundInstrumentsProducer } from '../../src/telemetry/boundInstruments';
import { CallRecorder, type CompletedCall } from '../../src/telemetry/callRecorder';
import { CardinalityLimiter } from '../../src/telemetry/cardinality';
import { ATTR, METRICS, OVERFLOW_VALUE } from '../../src/telemetry/names';

const MILLION = 1_000_000;
const MAX_VALUES = 100;
/** Heap the million calls may leave behind once garbage is collected. */
const HEAP_GROWTH_LIMIT_BYTES = 16 * 1024 * 1024;

// A forced collection makes the heap comparison mean something; jest does not start node with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function durationPoints(reader: MetricReader): Promise<Array<DataPoint<Histogram>>> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === METRICS.operationDuration.name);
  return (metric?.dataPoints ?? []) as Array<DataPoint<Histogram>>;
}

function call(model: string, tenant: Record<string, string>): CompletedCall {
  return {
    providerName: 'openai',
    serverAddress: 'api.openai.com',
    serverPort: 443,
    operation: 'chat',
    requestModel: model,
    responseModel: model,
    durationSeconds: 0.1,
    chunkGapsSeconds: [],
    usage: {},
    extraAttributes: tenant,
    rateLimits: [],
  };
}

test('the limiter admits the first N distinct values and answers _OTHER to a million more', () => {
  const limiter = new CardinalityLimiter(MAX_VALUES);
  const admitted = new Set<string>();
  for (let i = 0; i < MILLION; i += 1) admitted.add(limiter.admit(`model-${i}`));
  expect(admitted.size).toBe(MAX_VALUES + 1);
  expect(admitted.has(OVERFLOW_VALUE)).toBe(true);
  expect(limiter.overflowed).toBe(MILLION - MAX_VALUES);
  // Values admitted before the attack keep their own series.
  expect(limiter.admit('model-0')).toBe('model-0');
});

test(`a million calls with distinct model names and distinct tenant headers: at most ${MAX_VALUES} values each, flat memory`, async () => {
  const instruments = new BoundInstrumentsProducer({ name: 'attack' });
  const reader = new CollectingReader({ metricProducers: [instruments] });
  const provider = new MeterProvider({ readers: [reader] });
  const recorder = new CallRecorder({ boundInstruments: instruments, withMeter: (use) => use(provider.getMeter('attack')) }, { maxAttributeValues: MAX_VALUES });
  const mapHeaders = createHeaderAttributeMapper([{ header: 'x-tenant-id', attribute: 'tenant' }], MAX_VALUES);
  // The series allowed to exist exist before the heap is measured: only growth beyond them counts.
  for (let i = 0; i < MAX_VALUES; i += 1) recorder.record(call(`warm-${i}`, mapHeaders({ headers: { 'x-tenant-id': `warm-${i}` } } as unknown as IncomingMessage)));
  const before = heapAfterGc();
  const started = Date.now();

  for (let i = 0; i < MILLION; i += 1) {
    const request = { headers: { 'x-tenant-id': `tenant-${i}` } } as unknown as IncomingMessage;
    recorder.record(call(`attack-model-${i}`, mapHeaders(request)));
  }

  const elapsedMs = Date.now() - started;
  const growth = heapAfterGc() - before;
  const points = await durationPoints(reader);
  const models = new Set(points.map((point) => point.attributes[ATTR.requestModel]));
  const tenants = new Set(points.map((point) => point.attributes.tenant));
  const calls = points.reduce((total, point) => total + point.value.count, 0);
  process.stdout.write(
    `cardinality attack: ${MILLION} calls in ${elapsedMs} ms, ${points.length} series, heap growth ${(growth / 1024 / 1024).toFixed(2)} MiB\n`,
  );

  expect(calls).toBe(MILLION + MAX_VALUES);
  expect(models.size).toBeLessThanOrEqual(MAX_VALUES + 1);
  expect(tenants.size).toBeLessThanOrEqual(MAX_VALUES + 1);
  expect(models.has(OVERFLOW_VALUE) && tenants.has(OVERFLOW_VALUE)).toBe(true);
  // Every attack call overflowed both attributes into one series, next to the warm-up ones.
  expect(points.length).toBe(MAX_VALUES + 1);
  expect(growth).toBeLessThan(HEAP_GROWTH_LIMIT_BYTES);
  await provider.shutdown();
}, 120_000);
