/**
 * Faults of the pipeline itself, each against the collector we ship (collector-config.yaml,
 * addresses alone replaced) and a real Prometheus 3.5. Writers are the sidecar's own telemetry
 * pipeline (test/helpers/writer.ts), flushed by the test, so every export is known and every
 * sample that must arrive can be counted.
 *
 * - Prometheus down for 60 s, then back: every export the collector accepted meanwhile arrives,
 *   in order (the queue holds them; the figures are printed).
 * - The collector killed mid-run and started again: the sidecars' series carry on without a
 *   reset and increase() over the gap is exact; only the collector's own counters restart.
 * - Two writers, an attribute the allow-list drops splitting their points: exactly one series per
 *   writer and kept label set, sums exact, rising at every export.
 * - Exponential histograms of different scales split the same way: left apart, as native
 *   histograms, instead of merged into two points with one label set; and on a Prometheus that
 *   refuses native histograms, their stuck batch holds up only their own queue.
 * - The failures the collector's alerts watch, made to happen: a batch Prometheus refuses
 *   (OTelCollectorExportFailing) and a full queue (OTelCollectorExportQueueFull).
 */
import { freePort } from '../../bench/servers/processes';
import { alertRules } from '../../src/observability/alerts/rules';
import { COLLECTOR, COLLECTOR_JOB } from '../../src/telemetry/collectorNames';
import { METRICS } from '../../src/telemetry/names';
import { LABEL, prometheusName, PROM } from '../../src/telemetry/prometheusNames';
import { dataLossLines, sampleSum, startCollector, WRITER_CONFIG, type RunningCollector } from '../helpers/otelcol';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startWriter, type Writer } from '../helpers/writer';

jest.setTimeout(300_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const RESOURCE = { 'k8s.namespace.name': 'shop', 'k8s.workload.name': 'checkout', 'k8s.cluster.name': 'test' };
const CALL = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.token.type': 'input' };

/** Polls until `probe` returns a value, or fails with what it saw last. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

interface Pipeline {
  prometheus: RunningPrometheus;
  collector: RunningCollector;
}

async function startPipeline(options: { nativeHistograms?: boolean } = {}): Promise<Pipeline> {
  const prometheus = await startPrometheus(options);
  const collector = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: prometheus.remoteWriteUrl });
  await prometheus.setScrapeJobs([{ job: COLLECTOR_JOB, targets: [`127.0.0.1:${collector.ports.metrics}`] }]);
  return { prometheus, collector };
}

async function stopPipeline(pipeline: Pipeline | undefined): Promise<void> {
  await pipeline?.collector.close();
  await pipeline?.prometheus.close();
}

/** The count series of the token histogram of one writer, as raw samples. */
async function countSamples(prometheus: RunningPrometheus, instance: string): Promise<number[]> {
  const [series] = await prometheus.samples(`${PROM.tokenUsage.count}{${LABEL.instance}="${instance}"}[30m]`);
  return (series?.values ?? []).map(([, value]) => Number(value));
}

describe('Prometheus down for 60 s, then back', () => {
  let pipeline: Pipeline;
  let writer: Writer;
  const outageMs = 60_000;
  let exports = 0;
  let exportsDuringOutage = 0;
  let queuePeak = 0;
  let deliveredAfterMs = 0;

  beforeAll(async () => {
    pipeline = await startPipeline();
    const { prometheus, collector } = pipeline;
    writer = startWriter(collector.otlpHttpUrl, { ...RESOURCE, 'k8s.pod.name': 'outage-1' });
    const exportOnce = async (): Promise<void> => {
      writer.record(10, CALL);
      if (!(await writer.flush())) throw new Error('the collector refused an export');
      exports += 1;
    };
    for (let i = 0; i < 3; i += 1) await exportOnce();
    await eventually('the first samples in Prometheus', async () => ((await countSamples(prometheus, writer.instance)).length === 3 ? true : undefined), 20_000);

    await prometheus.stop();
    const outageEnds = Date.now() + outageMs;
    while (Date.now() < outageEnds) {
      await exportOnce();
      exportsDuringOutage += 1;
      const queued = sampleSum(await collector.selfMetrics(), COLLECTOR.exporterQueueSize) ?? 0;
      queuePeak = Math.max(queuePeak, queued);
      await sleep(1000);
    }
    await prometheus.start();
    const back = Date.now();
    await eventually(
      'every accepted export in Prometheus',
      async () => ((await countSamples(prometheus, writer.instance)).length === exports ? true : undefined),
      90_000,
    ).catch(() => undefined); // the tests below say what arrived
    deliveredAfterMs = Date.now() - back;
    process.stdout.write(
      `[pipelineFaults] Prometheus down ${outageMs / 1000} s: ${exportsDuringOutage} exports accepted meanwhile, exporter queue peaked at ${queuePeak} batches, ` +
        `all delivered ${(deliveredAfterMs / 1000).toFixed(1)} s after Prometheus was back\n`,
    );
  });

  afterAll(async () => {
    await writer?.close();
    await stopPipeline(pipeline);
  });

  test('the collector accepted every export while Prometheus was down, and queued them', () => {
    expect(writer.failures()).toBe(0);
    expect(exportsDuringOutage).toBeGreaterThanOrEqual(50);
    // One batch per export waits: the one being retried plus the ones behind it.
    expect(queuePeak).toBeGreaterThanOrEqual(exportsDuringOutage - 2);
  });

  test('every accepted export reached Prometheus once, in order, and the last carries the total', async () => {
    const counts = await countSamples(pipeline.prometheus, writer.instance);
    expect(counts).toHaveLength(exports);
    expect(counts).toEqual(counts.map((_, index) => index + 1));
  });

  test('nothing was dropped, refused or rejected', async () => {
    const text = await pipeline.collector.selfMetrics();
    expect(sampleSum(text, COLLECTOR.exporterSendFailed) ?? 0).toBe(0);
    expect(sampleSum(text, COLLECTOR.exporterEnqueueFailed) ?? 0).toBe(0);
    expect(sampleSum(text, COLLECTOR.exporterQueueSize)).toBe(0);
    expect(dataLossLines(pipeline.prometheus.log())).toEqual([]);
  });
});

describe('the collector killed mid-run and started again', () => {
  let pipeline: Pipeline;
  let writer: Writer;
  let failedDuringRestart = 0;
  const perExport = 7;
  let recorded = 0;
  let evaluateAt = 0;

  beforeAll(async () => {
    pipeline = await startPipeline();
    const { prometheus, collector } = pipeline;
    writer = startWriter(collector.otlpHttpUrl, { ...RESOURCE, 'k8s.pod.name': 'restart-1' });
    const exportOnce = async (): Promise<boolean> => {
      writer.record(perExport, CALL);
      recorded += 1;
      const accepted = await writer.flush();
      await sleep(1000);
      return accepted;
    };
    for (let i = 0; i < 5; i += 1) await exportOnce();
    // A crash, not a clean stop: whatever was queued is lost, the totals are not.
    await collector.stop('SIGKILL');
    for (let i = 0; i < 3; i += 1) if (!(await exportOnce())) failedDuringRestart += 1;
    await collector.start();
    for (let i = 0; i < 5; i += 1) await exportOnce();
    await eventually(
      'the last total in Prometheus',
      async () => ((await countSamples(prometheus, writer.instance)).at(-1) === recorded ? true : undefined),
      30_000,
    );
    // Two more scrapes of the restarted collector.
    await sleep(2500);
    evaluateAt = Date.now() / 1000;
  });

  afterAll(async () => {
    await writer?.close();
    await stopPipeline(pipeline);
  });

  test('exports failed while the collector was down (the sidecar counts them)', () => {
    expect(failedDuringRestart).toBe(3);
  });

  test("the writer's series continue: no reset, increase() over the gap is exact", async () => {
    const { prometheus } = pipeline;
    const resets = await prometheus.query(`resets(${PROM.tokenUsage.count}{${LABEL.instance}="${writer.instance}"}[30m])`, evaluateAt);
    expect(Number(resets[0]?.value[1])).toBe(0);
    // The calls recorded while the collector was down are in the first sample after it.
    const counts = await countSamples(prometheus, writer.instance);
    expect(counts[0]).toBe(1);
    expect(counts.at(-1)).toBe(recorded);
    const sum = await prometheus.query(`max_over_time(${PROM.tokenUsage.sum}{${LABEL.instance}="${writer.instance}"}[30m])`, evaluateAt);
    expect(Number(sum[0]?.value[1])).toBe(recorded * perExport);
  });

  test("only the collector's own counters restart, as a restart must show", async () => {
    const resets = await pipeline.prometheus.query(`max(resets(${COLLECTOR.receiverAccepted}{job="${COLLECTOR_JOB}"}[30m]))`, evaluateAt);
    expect(Number(resets[0]?.value[1])).toBe(1);
    expect(dataLossLines(pipeline.prometheus.log())).toEqual([]);
  });
});

describe('two writers and an attribute the allow-list drops', () => {
  let pipeline: Pipeline;
  const writers: Writer[] = [];
  const exports = 4;
  const history: number[][] = [];

  beforeAll(async () => {
    pipeline = await startPipeline();
    for (const pod of ['split-a', 'split-b']) writers.push(startWriter(pipeline.collector.otlpHttpUrl, { ...RESOURCE, 'k8s.pod.name': pod }));
    for (let round = 1; round <= exports; round += 1) {
      for (const [index, writer] of writers.entries()) {
        // server.port and genai_sidecar.route are not on the allow-list: two points per writer
        // that differ only there must leave the collector as one.
        writer.record(100 * round, { ...CALL, 'server.port': 443, 'genai_sidecar.route': 'a' });
        writer.record(10 * (index + 1), { ...CALL, 'server.port': 8443, 'genai_sidecar.route': 'b' });
        if (!(await writer.flush())) throw new Error('the collector refused an export');
      }
      await sleep(1100);
    }
    for (const writer of writers) {
      await eventually(`${exports} samples of ${writer.instance}`, async () => ((await countSamples(pipeline.prometheus, writer.instance)).length === exports ? true : undefined), 20_000);
    }
    for (const writer of writers) {
      const [series] = await pipeline.prometheus.samples(`${PROM.tokenUsage.sum}{${LABEL.instance}="${writer.instance}"}[30m]`);
      history.push((series?.values ?? []).map(([, value]) => Number(value)));
    }
  });

  afterAll(async () => {
    for (const writer of writers) await writer.close();
    await stopPipeline(pipeline);
  });

  test('exactly one series per writer and kept label set, without the dropped labels', async () => {
    const series = await pipeline.prometheus.query(`${PROM.tokenUsage.count}`);
    expect(series.map((s) => s.metric[LABEL.instance]).sort()).toEqual(writers.map((w) => w.instance).sort());
    for (const s of series) {
      expect(Object.keys(s.metric)).not.toEqual(expect.arrayContaining(['server_port']));
      expect(Object.keys(s.metric)).not.toEqual(expect.arrayContaining(['genai_sidecar_route']));
    }
  });

  test('the merged sums are exact at every export, and rise at every export', () => {
    // Writer i records 100*r and 10*(i+1) in round r: the merged sum after round n is the sum of both.
    const expected = (index: number): number[] =>
      Array.from({ length: exports }, (_, n) => Array.from({ length: n + 1 }, (__, r) => 100 * (r + 1) + 10 * (index + 1)).reduce((a, b) => a + b, 0));
    expect(history).toEqual([expected(0), expected(1)]);
    for (const values of history) for (let i = 1; i < values.length; i += 1) expect(values[i]).toBeGreaterThan(values[i - 1] ?? Infinity);
  });

  test('no duplicate or out-of-order samples', () => {
    expect(dataLossLines(pipeline.prometheus.log())).toEqual([]);
    expect(dataLossLines(pipeline.collector.log())).toEqual([]);
  });
});

/** A native histogram is one series under the base name (no _bucket/_sum/_count). */
const NATIVE_DURATION = prometheusName(METRICS.operationDuration);

/** Another instrumentation's SDK: base-2 exponential buckets, a different scale per point, split by server.port. */
async function sendExponentialHistograms(collector: RunningCollector): Promise<void> {
  const nowNanos = `${Date.now()}000000`;
  const point = (port: number, scale: number, index: number, count: number, sum: number) => ({
    timeUnixNano: nowNanos,
    startTimeUnixNano: nowNanos,
    count: String(count),
    sum,
    scale,
    zeroCount: '0',
    positive: { offset: index, bucketCounts: [String(count)] },
    attributes: [
      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
      { key: 'gen_ai.provider.name', value: { stringValue: 'openai' } },
      { key: 'server.port', value: { intValue: String(port) } },
    ],
  });
  const response = await fetch(`${collector.otlpHttpUrl}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'python-app' } }, { key: 'service.instance.id', value: { stringValue: 'python-app-1' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'gen_ai.client.operation.duration',
                  unit: 's',
                  exponentialHistogram: { aggregationTemporality: 2, dataPoints: [point(443, 2, -7, 3, 0.9), point(8443, 3, 7, 2, 4)] },
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`the collector refused exponential histograms: ${response.status}`);
}

describe('exponential histograms of different scales, differing only in an attribute the allow-list drops', () => {
  let pipeline: Pipeline;
  let evaluateAt = 0;

  beforeAll(async () => {
    pipeline = await startPipeline();
    await sendExponentialHistograms(pipeline.collector);
    await eventually('the histograms in Prometheus', async () => ((await pipeline.prometheus.query(`${NATIVE_DURATION}{${LABEL.instance}="python-app-1"}`)).length === 2 ? true : undefined), 20_000);
    evaluateAt = Date.now() / 1000;
  });

  afterAll(async () => {
    await stopPipeline(pipeline);
  });

  test('arrive as two native histograms, each with its own label set and counts (not merged into a duplicate)', async () => {
    const series = await pipeline.prometheus.query(`histogram_count(${NATIVE_DURATION}{${LABEL.instance}="python-app-1"})`, evaluateAt);
    const byPort = Object.fromEntries(series.map((s) => [s.metric.server_port, Number(s.value[1])]));
    expect(byPort).toEqual({ '443': 3, '8443': 2 });
  });

  test('no duplicate or rejected samples', () => {
    expect(dataLossLines(pipeline.prometheus.log())).toEqual([]);
    expect(dataLossLines(pipeline.collector.log())).toEqual([]);
  });
});

describe('a Prometheus without native histograms (HTTP 500 for them, retried for 15 min)', () => {
  let pipeline: Pipeline;
  let writer: Writer;
  let sidecarArrivedMs = -1;

  beforeAll(async () => {
    pipeline = await startPipeline({ nativeHistograms: false });
    writer = startWriter(pipeline.collector.otlpHttpUrl, { ...RESOURCE, 'k8s.pod.name': 'beside-native' });
    await sendExponentialHistograms(pipeline.collector);
    // The exponential histograms' batch is now being retried; the sidecar's exports come after it.
    await eventually('Prometheus refusing the native histograms', async () => (pipeline.prometheus.log().includes('native histograms are disabled') ? true : undefined), 20_000);
    const sent = Date.now();
    for (let i = 1; i <= 3; i += 1) {
      writer.record(5, CALL);
      if (!(await writer.flush())) throw new Error('the collector refused an export');
      await sleep(1000);
    }
    await eventually('the sidecar series in Prometheus', async () => ((await countSamples(pipeline.prometheus, writer.instance)).length === 3 ? true : undefined), 20_000);
    sidecarArrivedMs = Date.now() - sent;
  });

  afterAll(async () => {
    await writer?.close();
    await stopPipeline(pipeline);
  });

  test("the stuck batch holds up only its own queue: the sidecar's exports arrive meanwhile, all of them", async () => {
    expect(sidecarArrivedMs).toBeGreaterThanOrEqual(0);
    expect(await countSamples(pipeline.prometheus, writer.instance)).toEqual([1, 2, 3]);
    const text = await pipeline.collector.selfMetrics();
    expect(sampleSum(text, 'otelcol_exporter_in_flight_requests', { exporter: 'prometheus_remote_write/native' })).toBe(1);
  });
});

/** An export from a producer whose clock is two hours behind: older than Prometheus's head accepts. */
async function sendStale(collector: RunningCollector): Promise<void> {
  const skewedNanos = BigInt(Date.now() - 2 * 3600_000) * 1_000_000n;
  const response = await fetch(`${collector.otlpHttpUrl}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'skewed-clock' } }] },
          scopeMetrics: [{ metrics: [{ name: 'gen_ai.client.operation.duration', unit: 's', gauge: { dataPoints: [{ asDouble: 1, timeUnixNano: skewedNanos.toString() }] } }] }],
        },
      ],
    }),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`the collector refused the stale export: ${response.status}`);
}

/** Small exports until the collector refuses one; returns how many were sent (bounded at 12,000). */
async function floodUntilRefused(collector: RunningCollector): Promise<number> {
  const body = JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood' } }] },
        scopeMetrics: [{ metrics: [{ name: 'genai_sidecar.client.cost.usd', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asDouble: 1, timeUnixNano: `${Date.now()}000000` }] } }] }],
      },
    ],
  });
  for (let sent = 1; sent <= 12_000; sent += 1) {
    const response = await fetch(`${collector.otlpHttpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.arrayBuffer();
    if (!response.ok) return sent;
  }
  throw new Error('12,000 exports and the collector never refused one: its queue is not bounded as configured');
}

describe("the collector's failures reach the alerts that watch them", () => {
  let prometheus: RunningPrometheus;
  let refusing: RunningCollector;
  let unreachable: RunningCollector;
  let evaluateAt = 0;
  let enqueueRefusedAfter = 0;

  beforeAll(async () => {
    prometheus = await startPrometheus();
    // One collector writes to Prometheus, which refuses a batch from a producer whose clock is
    // two hours behind (older than its head accepts): a permanent error, counted as failed.
    refusing = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: prometheus.remoteWriteUrl });
    // The other writes to an address nothing listens on: its queue fills and it refuses more.
    unreachable = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: `http://127.0.0.1:${await freePort()}/api/v1/write` });
    await prometheus.setScrapeJobs([{ job: COLLECTOR_JOB, targets: [`127.0.0.1:${refusing.ports.metrics}`, `127.0.0.1:${unreachable.ports.metrics}`] }]);

    const current = startWriter(refusing.otlpHttpUrl, { ...RESOURCE, 'k8s.pod.name': 'on-time' });
    current.record(1, CALL);
    await current.flush();
    await current.close();
    // Each burst of failures twice, a few scrapes apart: the counters appear at the first
    // failure, and increase() sees what follows.
    for (let burst = 0; burst < 2; burst += 1) {
      await sendStale(refusing);
      const refused = await floodUntilRefused(unreachable);
      if (burst === 0) enqueueRefusedAfter = refused;
      await eventually(
        'both failure counters scraped',
        async () => {
          const results = await prometheus.query(`count({__name__=~"${COLLECTOR.exporterSendFailed}|${COLLECTOR.exporterEnqueueFailed}"})`);
          return Number(results[0]?.value[1]) === 2 ? true : undefined;
        },
        20_000,
      );
      await sleep(2500);
    }
    evaluateAt = Date.now() / 1000;
  });

  afterAll(async () => {
    await refusing?.close();
    await unreachable?.close();
    await prometheus?.close();
  });

  test('a full queue refuses the export (the sender sees an error it retries) instead of dropping it silently', () => {
    expect(enqueueRefusedAfter).toBeGreaterThan(10_000);
  });

  test.each(['OTelCollectorExportFailing', 'OTelCollectorExportQueueFull'])('%s: its signal returns the failed points', async (name) => {
    const rule = alertRules().find((candidate) => candidate.alert === name);
    if (!rule) throw new Error(`no alert ${name}`);
    const results = await prometheus.query(rule.signal, evaluateAt);
    expect(results.length).toBeGreaterThan(0);
    expect(Math.max(...results.map((r) => Number(r.value[1])))).toBeGreaterThan(0);
  });
});
