/**
 * End to end, as far as this machine allows: the real sidecar proxies the recorded corpus, its
 * OTLP export is received here, converted to remote-write series exactly as the Collector
 * would name them (test/helpers/otlpToRemoteWrite.ts stands in for the collector, which has no
 * binary here), and written into a real Prometheus. Then every dashboard panel query and every
 * alert's signal must return data from that Prometheus.
 *
 * Time is compressed: four rounds of traffic are stamped one minute apart (ending now), so
 * rate() windows have several samples without the test waiting minutes.
 */
import { alertRules } from '../../src/observability/alerts/rules';
import { dashboardQueries } from '../../src/observability/dashboards/render';
import { COLLECTOR, COLLECTOR_JOB } from '../../src/telemetry/collectorNames';
import { loadCorpus, ROUTE_FOR_PROVIDER, type CorpusExchange } from '../helpers/corpus';
import { splitLines, splitSseEvents } from '../helpers/fakeProvider';
import { startHarness, type Harness } from '../helpers/harness';
import { toRemoteWrite } from '../helpers/otlpToRemoteWrite';
import { startPrometheus, type RunningPrometheus, type TimeSeries } from '../helpers/prometheus';

jest.setTimeout(120_000);

const ROUNDS = 4;
const STEP_MS = 60_000;
const TENANTS = ['acme', 'globex', 'initech'];
const corpus = loadCorpus();

let prometheus: RunningPrometheus;
let harness: Harness;
let evaluateAt: number;

function chunksOf(exchange: CorpusExchange): string[] {
  const type = exchange.response.headers['content-type'] ?? '';
  if (type.includes('event-stream')) return splitSseEvents(exchange.response.body_text);
  if (type.includes('ndjson') || type.includes('stream+json')) return splitLines(exchange.response.body_text);
  return [exchange.response.body_text];
}

async function replayCorpus(round: number): Promise<void> {
  for (const [index, exchange] of corpus.entries()) {
    harness.provider.enqueue({ status: exchange.response.status, headers: exchange.response.headers, chunks: chunksOf(exchange) });
    const route = ROUTE_FOR_PROVIDER[exchange.provider];
    const response = await fetch(`${harness.sidecar.url}/${route}${exchange.request.path}`, {
      method: exchange.request.method,
      headers: { ...exchange.request.headers, 'content-type': 'application/json', 'x-tenant-id': TENANTS[(index + round) % TENANTS.length] ?? 'acme' },
      body: JSON.stringify(exchange.request.body),
    });
    await response.arrayBuffer();
  }
}

/** The collector's own counters, as the stand-in would expose them on :8888. */
function collectorSelfMetrics(acceptedPoints: number, timestampMs: number): TimeSeries[] {
  const labels = { job: COLLECTOR_JOB, instance: 'otel-collector:8888' };
  const at = (value: number): TimeSeries['samples'] => [{ value, timestampMs }];
  return [
    { labels: { ...labels, __name__: COLLECTOR.receiverAccepted, receiver: 'otlp', transport: 'http' }, samples: at(acceptedPoints) },
    { labels: { ...labels, __name__: COLLECTOR.receiverRefused, receiver: 'otlp', transport: 'http' }, samples: at(0) },
    { labels: { ...labels, __name__: COLLECTOR.receiverFailed, receiver: 'otlp', transport: 'http' }, samples: at(0) },
    { labels: { ...labels, __name__: COLLECTOR.exporterSent, exporter: 'prometheusremotewrite' }, samples: at(acceptedPoints) },
    { labels: { ...labels, __name__: COLLECTOR.exporterSendFailed, exporter: 'prometheusremotewrite' }, samples: at(0) },
    { labels: { ...labels, __name__: COLLECTOR.exporterEnqueueFailed, exporter: 'prometheusremotewrite' }, samples: at(0) },
    { labels: { ...labels, __name__: COLLECTOR.exporterQueueSize, exporter: 'prometheusremotewrite' }, samples: at(0) },
    { labels: { ...labels, __name__: COLLECTOR.exporterQueueCapacity, exporter: 'prometheusremotewrite' }, samples: at(10_000) },
  ];
}

beforeAll(async () => {
  prometheus = await startPrometheus();
  harness = await startHarness({
    routes: [...new Set(Object.values(ROUTE_FOR_PROVIDER))],
    flags: {
      headerAttribute: ['x-tenant-id=tenant'],
      resourceAttribute: ['k8s.namespace.name=shop', 'k8s.workload.name=checkout', 'k8s.pod.name=checkout-7d9f', 'k8s.cluster.name=test'],
      exportTimeout: '500',
    },
  });
  const end = Math.floor(Date.now() / 1000) * 1000;
  const start = end - (ROUNDS - 1) * STEP_MS;
  let accepted = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    await replayCorpus(round);
    if (round === 1) {
      // One real export failure, so the sidecar counts it (genai_sidecar_telemetry_errors_total{stage="export"}).
      harness.receiver.respondWith(503);
      await harness.sidecar.telemetry.flush();
      harness.receiver.respondWith(200);
    }
    const points = await harness.metrics((all) => all.length > 0);
    accepted += points.length;
    const stamp = start + round * STEP_MS;
    await prometheus.write([...toRemoteWrite(points, stamp), ...collectorSelfMetrics(accepted, stamp)]);
  }
  evaluateAt = end / 1000;
});

afterAll(async () => {
  await harness?.close();
  await prometheus?.stop();
});

/** Grafana's variables, as a user with "All" selected would have them. */
function withVariables(expr: string): string {
  return expr
    .replace(/\$\{?__rate_interval\}?/g, '3m')
    .replace(/\$\{?__interval\}?/g, '1m')
    .replace(/\$\{?__range\}?/g, '3m')
    .replace(/\$\{?(header_label|header|tenant_label|label)\}?/g, 'tenant')
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*(:[a-z]+)?\}?/g, '.*');
}

function hasFiniteValue(results: Array<{ value: [number, string] }>): boolean {
  return results.some((result) => Number.isFinite(Number(result.value[1])));
}

test('the stand-in collector wrote series under the names the one module gives', async () => {
  const results = await prometheus.query('count by (__name__) ({__name__=~"gen_ai_.*|genai_sidecar_.*"})', evaluateAt);
  const names = results.map((result) => result.metric.__name__).sort();
  expect(names).toEqual(expect.arrayContaining(['gen_ai_client_operation_duration_seconds_bucket', 'gen_ai_client_token_usage_count', 'genai_sidecar_client_cost_usd_total']));
});

describe('every dashboard panel query returns data', () => {
  const queries = dashboardQueries();
  test('there are panel queries to check', () => {
    expect(queries.length).toBeGreaterThan(20);
  });
  test.each(queries.map((query) => [`${query.dashboard} / ${query.panel}`, query.expr] as const))('%s', async (_name, expr) => {
    const results = await prometheus.query(withVariables(expr), evaluateAt);
    expect({ expr, results: results.length }).toEqual({ expr, results: expect.any(Number) });
    expect(results.length).toBeGreaterThan(0);
    expect(hasFiniteValue(results)).toBe(true);
  });
});

describe('every alert signal returns data', () => {
  test.each(alertRules().map((rule) => [rule.alert, rule.signal, rule.expr] as const))('%s', async (_name, signal, expr) => {
    const results = await prometheus.query(signal, evaluateAt);
    expect(results.length).toBeGreaterThan(0);
    // The full alert expression must at least be valid PromQL against this data.
    await expect(prometheus.query(expr, evaluateAt)).resolves.toBeDefined();
  });
});
