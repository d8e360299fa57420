/**
 * The whole pipeline, every engine real: two sidecar processes (the built CLI) proxy the recorded
 * corpus -> the collector we ship (otelcol-genai 0.161.0 with collector-config.yaml, addresses
 * alone replaced) -> Prometheus 3.5 (remote-write receiver on, scraping the collector's own
 * metrics as users' Prometheus does). Then: token sums in Prometheus equal the corpus exactly,
 * every dashboard panel query and every alert's signal returns data, the collector's own metric
 * names are the ones dashboards and alerts use, and neither log has a line about out-of-order,
 * duplicate or invalid samples.
 *
 * Mid-run the collector is stopped and started again (a rolling update), so one sidecar export
 * fails for real (GenAISidecarExportFailing's signal) and the series must carry on through it.
 */
import { alertRules } from '../../src/observability/alerts/rules';
import { dashboardQueries } from '../../src/observability/dashboards/render';
import { COLLECTOR, COLLECTOR_JOB } from '../../src/telemetry/collectorNames';
import { LABEL, PROM } from '../../src/telemetry/prometheusNames';
import { expectedTokens, replayCorpus, startCorpusSidecar, tokenTotals, withVariables, WORKLOADS } from '../helpers/corpusTraffic';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';
import { dataLossLines, sampleSum, startCollector, WRITER_CONFIG, type RunningCollector } from '../helpers/otelcol';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import type { SidecarProcess } from '../helpers/sidecarProcess';

jest.setTimeout(180_000);

const ROUNDS = 3;
/** What a sidecar logs once when its exports start failing (src/telemetry/pipeline.ts). */
const EXPORT_FAILING_LOG = 'metrics export failing; traffic is unaffected, will retry';
const EXPORT_INTERVAL_MS = 1000;
/** Failure signals of the collector that exist only once it has failed; pipelineFaults.test.ts makes each fail. */
const FAILURE_ONLY = new Set(['OTelCollectorExportFailing', 'OTelCollectorExportQueueFull']);

let prometheus: RunningPrometheus;
let collector: RunningCollector;
let provider: FakeProvider;
const sidecars: SidecarProcess[] = [];

let evaluateAt: number;

beforeAll(async () => {
  provider = await startFakeProvider();
  prometheus = await startPrometheus({ scrapeJobs: [] });
  collector = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: prometheus.remoteWriteUrl });
  await prometheus.setScrapeJobs([{ job: COLLECTOR_JOB, targets: [`127.0.0.1:${collector.ports.metrics}`] }]);
  for (const [index, workload] of WORKLOADS.entries()) sidecars.push(await startCorpusSidecar(provider, collector.otlpHttpUrl, EXPORT_INTERVAL_MS, workload, `${workload}-${index}`));

  const [first, second] = sidecars as [SidecarProcess, SidecarProcess];
  for (let round = 0; round < ROUNDS; round += 1) {
    // Round 0 and 2 through the first sidecar, round 1 through the second: two writers' series.
    await replayCorpus((round === 1 ? second : first).url, provider, round);
    if (round === 0) {
      // A rolling update of the collector: down until an export of the sidecar that has data has
      // failed (a fixed pause missed it once under the load of the whole suite), at most 30 s.
      await collector.stop();
      await new Promise((resolve) => setTimeout(resolve, 2.5 * EXPORT_INTERVAL_MS));
      await first.cli.waitForJsonLine((line) => line.msg === EXPORT_FAILING_LOG, 30_000);
      await collector.start();
    }
    await new Promise((resolve) => setTimeout(resolve, 3 * EXPORT_INTERVAL_MS));
  }

  // Everything recorded reaches Prometheus: cumulative totals equal the corpus, for every provider.
  const want = expectedTokens(ROUNDS);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const have = await tokenTotals(prometheus);
    if ([...want].every(([key, value]) => have.get(key) === value)) break;
    if (Date.now() > deadline) break; // the test below reports the difference
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // A few more exports and scrapes, so rate() windows hold several samples after the last call.
  await new Promise((resolve) => setTimeout(resolve, 4 * EXPORT_INTERVAL_MS));
  evaluateAt = Date.now() / 1000;
});

afterAll(async () => {
  for (const sidecar of sidecars) await sidecar.stop();
  await collector?.close();
  await prometheus?.close();
  await provider?.close();
});

test('token sums in Prometheus equal the corpus, per provider and token type', async () => {
  const have = await tokenTotals(prometheus, evaluateAt);
  const want = expectedTokens(ROUNDS);
  expect(Object.fromEntries([...want].map(([key]) => [key, have.get(key)]))).toEqual(Object.fromEntries(want));
});

test('each sidecar is its own writer: job/instance and its workload label, counters never reset', async () => {
  const writers = await prometheus.query(`count by (${LABEL.instance}, ${LABEL.workload}) (${PROM.tokenUsage.count})`, evaluateAt);
  expect(writers.map((w) => w.metric[LABEL.workload]).sort()).toEqual(['checkout', 'search']);
  // Through the collector's restart too: no series of a sidecar went backwards.
  const resets = await prometheus.query(`sum(resets(${PROM.tokenUsage.count}[5m]))`, evaluateAt);
  expect(Number(resets[0]?.value[1])).toBe(0);
});

function hasFiniteValue(results: Array<{ value: [number, string] }>): boolean {
  return results.some((result) => Number.isFinite(Number(result.value[1])));
}

describe('every dashboard panel query returns data', () => {
  const queries = dashboardQueries();
  test('there are panel queries to check', () => {
    expect(queries.length).toBeGreaterThan(20);
  });
  test.each(queries.map((query) => [`${query.dashboard} / ${query.panel}`, query.expr] as const))('%s', async (_name, expr) => {
    const results = await prometheus.query(withVariables(expr), evaluateAt);
    expect({ expr, hasData: results.length > 0 && hasFiniteValue(results) }).toEqual({ expr, hasData: true });
  });
});

describe('every alert signal returns data', () => {
  const rules = alertRules().filter((rule) => !FAILURE_ONLY.has(rule.alert));
  test('only the failure-only collector signals are left to the fault tests', () => {
    expect(alertRules().filter((rule) => FAILURE_ONLY.has(rule.alert)).map((rule) => rule.alert).sort()).toEqual([...FAILURE_ONLY].sort());
  });
  test.each(rules.map((rule) => [rule.alert, rule.signal, rule.expr] as const))('%s', async (_name, signal, expr) => {
    const results = await prometheus.query(signal, evaluateAt);
    expect({ signal, results: results.length }).toEqual({ signal, results: expect.any(Number) });
    expect(results.length).toBeGreaterThan(0);
    // The full alert expression must at least be valid PromQL against this data.
    await expect(prometheus.query(expr, evaluateAt)).resolves.toBeDefined();
  });
});

describe("the collector's own metrics", () => {
  test('are served under the names in src/telemetry/collectorNames.ts (scraped from the built collector)', async () => {
    const text = await collector.selfMetrics();
    const served = new Set(text.split('\n').filter((line) => line.startsWith('otelcol_')).map((line) => /^[a-zA-Z0-9_:]+/.exec(line)?.[0]));
    const wanted = Object.values(COLLECTOR).filter((name) => name !== COLLECTOR.exporterSendFailed && name !== COLLECTOR.exporterEnqueueFailed);
    expect(wanted.filter((name) => !served.has(name))).toEqual([]);
  });

  test('reach Prometheus under the collector job, for the dashboards and alerts', async () => {
    const results = await prometheus.query(`count by (__name__) ({job="${COLLECTOR_JOB}", __name__=~"otelcol_.*"})`, evaluateAt);
    const names = results.map((r) => r.metric.__name__);
    expect(names).toEqual(expect.arrayContaining([COLLECTOR.receiverAccepted, COLLECTOR.receiverRefused, COLLECTOR.exporterSent, COLLECTOR.exporterQueueSize, COLLECTOR.exporterQueueCapacity]));
  });
});

test('no out-of-order, duplicate or invalid samples in the Prometheus or collector logs', () => {
  expect(dataLossLines(prometheus.log())).toEqual([]);
  expect(dataLossLines(collector.log())).toEqual([]);
});

test('the collector sent everything it accepted: nothing refused, failed or dropped', async () => {
  // The sidecars keep exporting: a batch can be in the queue at the moment of a scrape. It must
  // leave it; a queue that stays above zero is data held back.
  let text = await collector.selfMetrics();
  const value = (name: string): number => sampleSum(text, name) ?? 0;
  for (let attempt = 0; attempt < 20 && value(COLLECTOR.exporterQueueSize) > 0; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    text = await collector.selfMetrics();
  }
  expect({
    refused: value(COLLECTOR.receiverRefused),
    failed: value(COLLECTOR.receiverFailed),
    sendFailed: value(COLLECTOR.exporterSendFailed),
    enqueueFailed: value(COLLECTOR.exporterEnqueueFailed),
    queued: value(COLLECTOR.exporterQueueSize),
  }).toEqual({ refused: 0, failed: 0, sendFailed: 0, enqueueFailed: 0, queued: 0 });
  expect(value(COLLECTOR.exporterSent)).toBeGreaterThan(0);
});
