/**
 * The collector slow (answers after the export timeout), refusing connections (nothing listens
 * on its port) or answering 503, while the app keeps calling with periodic exports running:
 * proxying latency is what it was with a healthy collector, failed exports are counted and
 * logged once (not per request), export recovers when the collector is back, and the outage's
 * calls arrive then (cumulative state per series, not a queue of failed batches: no export
 * ever carries more points than there are series).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import type { OtlpReceiver, ReceivedPoint } from '../helpers/otlpReceiver';

const OK_JSON = '{"id":"x","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}';
const CALLS = 200;
const EXPORT_INTERVAL_MS = 150;
const EXPORT_TIMEOUT_MS = 100;
const FAILED_EXPORTS_WANTED = 4;
/** Generous on purpose: a loaded 2-core CI box must not make this flaky; a blocking export costs far more. */
const P50_SLACK_MS = 5;

interface Fault {
  name: string;
  start(receiver: OtlpReceiver): void | Promise<void>;
  end(receiver: OtlpReceiver): void | Promise<void>;
}

const FAULTS: Fault[] = [
  { name: `slow (answers after 1 s; export timeout ${EXPORT_TIMEOUT_MS} ms)`, start: (r) => r.respondAfter(1000), end: (r) => r.respondAfter(0) },
  { name: 'refusing connections (its port is closed)', start: (r) => r.stopListening(), end: (r) => r.listenAgain() },
  { name: 'answering 503', start: (r) => r.respondWith(503), end: (r) => r.respondWith(200) },
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Data points in one OTLP/JSON export body. */
function pointsInBody(body: Buffer): number {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Array<Record<string, { dataPoints?: unknown[] } | string>> }> }>;
  };
  let total = 0;
  for (const resource of request.resourceMetrics ?? []) {
    for (const scope of resource.scopeMetrics ?? []) {
      for (const metric of scope.metrics ?? []) {
        for (const data of Object.values(metric)) if (typeof data === 'object') total += data.dataPoints?.length ?? 0;
      }
    }
  }
  return total;
}

const callCount = (points: ReceivedPoint[], testCase: string): number =>
  pointsOf(points, METRICS.operationDuration.name, { test_case: testCase }).reduce((most, point) => Math.max(most, point.count ?? 0), 0);

describe.each(FAULTS)('collector $name', (fault) => {
  let harness: Harness;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    harness = await startHarness({
      routes: ['openai'],
      flags: {
        exportInterval: String(EXPORT_INTERVAL_MS),
        exportTimeout: String(EXPORT_TIMEOUT_MS),
        headerAttribute: ['x-test-case=test_case'],
        logLevel: 'debug',
      },
    });
    harness.provider.enqueue(() => ({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [OK_JSON] }));
  });
  afterAll(async () => {
    agent.destroy();
    await harness.close();
  });

  /** One call through the sidecar; resolves with its latency in ms. */
  function call(testCase: string): Promise<number> {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [OK_JSON] });
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(`${harness.sidecar.url}/openai/v1/chat/completions`, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-test-case': testCase },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => (res.statusCode === 200 && body === OK_JSON ? resolve(performance.now() - started) : reject(new Error(`got ${res.statusCode}: ${body}`))));
      });
      req.on('error', reject);
      req.end('{"model":"gpt-4o-mini","messages":[]}');
    });
  }

  test('traffic is unaffected, failures are counted and logged once, and the outage arrives after recovery', async () => {
    // Warm up: the exporter is created (and its package loaded) at the first export.
    for (let i = 0; i < 20; i += 1) await call('warm-up');
    await harness.receiver.waitFor((points) => callCount(points, 'warm-up') > 0);

    const healthy: number[] = [];
    for (let i = 0; i < CALLS; i += 1) healthy.push(await call('healthy'));

    await fault.start(harness.receiver);
    const failuresBefore = harness.sidecar.telemetry.exportFailures();
    const logLinesBefore = harness.logLines.length;
    const duringOutage: number[] = [];
    const deadline = Date.now() + 15_000;
    // Keep calling over several failed export intervals.
    while (duringOutage.length < CALLS || harness.sidecar.telemetry.exportFailures() - failuresBefore < FAILED_EXPORTS_WANTED) {
      if (Date.now() > deadline) throw new Error(`only ${harness.sidecar.telemetry.exportFailures() - failuresBefore} failed exports`);
      duringOutage.push(await call('during-outage'));
    }
    const failedExports = harness.sidecar.telemetry.exportFailures() - failuresBefore;
    const outageLogLines = harness.logLines.slice(logLinesBefore);

    await fault.end(harness.receiver);
    const recovered = await harness.receiver.waitFor((points) => callCount(points, 'during-outage') === duringOutage.length, 5000);

    // Bounded state: an export carries at most one point per series, however long the outage.
    const series = harness.receiver.latest().length;
    const largestExport = Math.max(...harness.receiver.bodies().map(pointsInBody));
    const figures = {
      healthy: { p50: percentile(healthy, 50), p95: percentile(healthy, 95) },
      outage: { p50: percentile(duringOutage, 50), p95: percentile(duringOutage, 95) },
      calls: duringOutage.length,
      failedExports,
      logLinesDuringOutage: outageLogLines.length,
      series,
      largestExport,
    };
    process.stdout.write(`collector ${fault.name}: ${JSON.stringify(figures)}\n`);

    // Latency unchanged.
    expect(figures.outage.p50).toBeLessThanOrEqual(figures.healthy.p50 + P50_SLACK_MS);
    // One warning for the whole outage, not one per request or per failed export.
    expect(outageLogLines.filter((line) => line.includes('metrics export failing'))).toHaveLength(1);
    expect(outageLogLines.length).toBeLessThan(5);
    await harness.receiver.waitFor(() => harness.logLines.some((line) => line.includes('metrics export recovered')));
    expect(harness.logLines.filter((line) => line.includes('metrics export recovered'))).toHaveLength(1);
    // Every failed export is counted, and the count itself is exported once the collector is back.
    const counted = await harness.receiver.waitFor(
      (points) => (pointsOf(points, METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: 'export' }).at(-1)?.value ?? 0) >= failedExports,
    );
    expect(pointsOf(counted, METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: 'export' }).length).toBeGreaterThan(0);
    expect(largestExport).toBeLessThanOrEqual(series);
    expect(callCount(recovered, 'during-outage')).toBe(duringOutage.length);
  }, 40_000);
});
