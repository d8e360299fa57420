/**
 * One recording, two outlets, the same series: two sidecar processes (the built CLI, both
 * exporters on, as by default) proxy the recorded corpus. They push OTLP to the collector we ship
 * (collector-config.yaml) which remote-writes to one Prometheus, while a second Prometheus scrapes
 * their `/metrics` in OpenMetrics (what Prometheus asks for first) and a third in the text format
 * (scrape_protocols: [PrometheusText0.0.4]) and a fourth in protobuf ([PrometheusProto], what
 * Prometheus asks for first with native histograms on). Every dashboard query and every alert signal about
 * the sidecars must then return the same series with the same values on all three, token sums
 * must equal the corpus on each, and a sidecar with push off must not load the OTLP exporter.
 */
import path from 'node:path';
import { PROM } from '../../src/telemetry/prometheusNames';
import { expectedTokens, startCorpusSidecar, tokenTotals, WORKLOADS } from '../helpers/corpusTraffic';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';
import { startCollector, WRITER_CONFIG, type RunningCollector } from '../helpers/otelcol';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { QueryComparer, rateToleranceFor, replayInWindow, sidecarQueries } from '../helpers/queryComparison';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecarProcess';

jest.setTimeout(180_000);

/** Export interval of the sidecars and scrape interval of every Prometheus instance. */
const INTERVAL_MS = 250;

let provider: FakeProvider;
let collector: RunningCollector;
let pushed: RunningPrometheus;
let scrapedOpenMetrics: RunningPrometheus;
let scrapedText: RunningPrometheus;
let scrapedProtobuf: RunningPrometheus;
const sidecars: SidecarProcess[] = [];
let evaluateAt: number;
/** The queries' rate interval and range, e.g. `9s` (see test/helpers/queryComparison.ts). */
let window: string;
let comparer: QueryComparer;

beforeAll(async () => {
  provider = await startFakeProvider();
  pushed = await startPrometheus({ scrapeIntervalMs: INTERVAL_MS });
  collector = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: pushed.remoteWriteUrl });
  for (const [index, workload] of WORKLOADS.entries()) sidecars.push(await startCorpusSidecar(provider, collector.otlpHttpUrl, INTERVAL_MS, workload, `${workload}-${index}`));
  const targets = sidecars.map((sidecar) => new URL(sidecar.adminUrl).host);
  // Scraping from before the first call (setScrapeJobs waits for a first scrape of every target).
  scrapedOpenMetrics = await startPrometheus({ scrapeIntervalMs: INTERVAL_MS });
  await scrapedOpenMetrics.setScrapeJobs([{ job: 'genai-sidecar', targets }]);
  scrapedText = await startPrometheus({ scrapeIntervalMs: INTERVAL_MS });
  await scrapedText.setScrapeJobs([{ job: 'genai-sidecar', targets, scrapeProtocols: ['PrometheusText0.0.4'] }]);
  scrapedProtobuf = await startPrometheus({ scrapeIntervalMs: INTERVAL_MS });
  await scrapedProtobuf.setScrapeJobs([{ job: 'genai-sidecar', targets, scrapeProtocols: ['PrometheusProto'] }]);

  const { windowStart } = await replayInWindow(sidecars.map((sidecar) => [sidecar.url]), provider, INTERVAL_MS);
  const want = expectedTokens(4);
  const deadline = Date.now() + 60_000;
  for (const prometheus of [pushed, scrapedOpenMetrics, scrapedText, scrapedProtobuf]) {
    for (;;) {
      const have = await tokenTotals(prometheus);
      if ([...want].every(([key, value]) => have.get(key) === value) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  // Several more samples on every path after the last call.
  await new Promise((resolve) => setTimeout(resolve, 8 * INTERVAL_MS));
  evaluateAt = Date.now() / 1000;
  const windowSeconds = Math.floor(evaluateAt - windowStart / 1000);
  window = `${windowSeconds}s`;
  comparer = new QueryComparer(
    { name: 'collector path', prometheus: pushed },
    [
      { name: 'openmetrics', prometheus: scrapedOpenMetrics },
      { name: 'text', prometheus: scrapedText },
      { name: 'protobuf', prometheus: scrapedProtobuf },
    ],
    evaluateAt,
    rateToleranceFor(INTERVAL_MS, windowSeconds),
  );
});

afterAll(async () => {
  if (comparer !== undefined) {
    const { largestRateDifference: largest, nonZeroRates, rateTolerance } = comparer;
    console.log(
      `[pullEndpoint] window ${window}: largest difference between the paths on a rate()/increase() query ${(largest.value * 100).toFixed(2)}% (tolerance ${(rateTolerance * 100).toFixed(2)}%, ${nonZeroRates} non-zero values compared): ${largest.expr.slice(0, 100)}`,
    );
  }
  for (const sidecar of sidecars) await sidecar.stop();
  await collector?.close();
  for (const prometheus of [pushed, scrapedOpenMetrics, scrapedText, scrapedProtobuf]) await prometheus?.close();
  await provider?.close();
});

test('token sums equal the corpus on the collector path and on every scrape format', async () => {
  const want = Object.fromEntries(expectedTokens(4));
  for (const prometheus of [pushed, scrapedOpenMetrics, scrapedText, scrapedProtobuf]) {
    const have = await tokenTotals(prometheus, evaluateAt);
    expect(Object.fromEntries(Object.keys(want).map((key) => [key, have.get(key)]))).toEqual(want);
  }
});

test('each scraper got the format it asked for, and the protobuf page is the smallest', async () => {
  const pages = await Promise.all(
    [
      'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2',
      'text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.2',
    ].map(async (accept) => {
      const response = await fetch(`${sidecars[0]!.adminUrl}/metrics`, { headers: { accept } });
      return { type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
    }),
  );
  const [om, text, proto] = pages as [(typeof pages)[0], (typeof pages)[0], (typeof pages)[0]];
  expect(om.type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
  expect(om.body.toString('utf8').endsWith('# EOF\n')).toBe(true);
  expect(text.type).toBe('text/plain; version=0.0.4; charset=utf-8');
  expect(proto.type).toBe('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
  expect(proto.body.length).toBeLessThan(text.body.length / 3);
  console.log(`[pullEndpoint] one sidecar's page after the corpus: text ${text.body.length} bytes, OpenMetrics ${om.body.length}, protobuf ${proto.body.length}`);
  for (const prometheus of [scrapedOpenMetrics, scrapedText, scrapedProtobuf]) {
    const up = await prometheus.query('up', evaluateAt);
    expect(up.map((r) => r.value[1])).toEqual(['1', '1']);
  }
});

const queries = sidecarQueries(() => window);

describe('every dashboard query about the sidecars answers the same on both paths', () => {
  test('there are queries to compare, and most return data', async () => {
    expect(queries.dashboards.length).toBeGreaterThan(20);
    const withData = await Promise.all(queries.dashboards.map(async ([, expr]) => (await pushed.query(expr(), evaluateAt)).length > 0));
    expect(withData.filter(Boolean).length).toBeGreaterThan(queries.dashboards.length * 0.8);
  });
  test.each(queries.dashboards)('%s', async (_name, query) => {
    const expr = query();
    expect({ expr, problems: await comparer.compare(expr) }).toEqual({ expr, problems: [] });
  });
});

describe('every alert signal about the sidecars answers the same on both paths', () => {
  test.each(queries.alerts)('%s', async (_name, query) => {
    const signal = query();
    expect({ signal, problems: await comparer.compare(signal) }).toEqual({ signal, problems: [] });
  });
});

test('the rate() and increase() comparisons above compared real rates, not zeros', () => {
  expect(comparer.nonZeroRates).toBeGreaterThan(50);
});

/** Module files of the OTLP exporters a sidecar process had loaded when it exited. */
async function otlpExporterModules(exporter: string): Promise<{ page: string; modules: string[] }> {
  const sidecar = await startSidecarProcess({
    routes: ['openai'],
    providerUrl: provider.url,
    otlpEndpoint: collector.otlpHttpUrl,
    exportIntervalMs: 200,
    resourceAttributes: {},
    extraArgs: ['--metrics-exporter', exporter],
    env: { NODE_OPTIONS: `--require ${path.join(__dirname, '../fixtures/reportLoadedModules.cjs')}`, GENAI_TEST_REPORT_MODULES: 'exporter-metrics-otlp' },
  });
  let page = '';
  try {
    provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"model":"gpt-4o","usage":{"prompt_tokens":7,"completion_tokens":3}}'] });
    await (await fetch(`${sidecar.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o","messages":[]}' })).text();
    // Past the warm-up (1 s after ready), when a push sidecar has loaded its exporter.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const response = await fetch(`${sidecar.adminUrl}/metrics`);
    page = `${response.status} ${await response.text()}`;
  } finally {
    await sidecar.stop();
  }
  const report = sidecar.cli
    .stderr()
    .split('\n')
    .filter((line) => line.includes('"loaded modules"'))
    .map((line) => JSON.parse(line) as { modules: string[] })[0];
  if (report === undefined) throw new Error(`no module report: ${sidecar.cli.stderr().slice(-2000)}`);
  return { page, modules: report.modules };
}

test('pull only: /metrics serves the call and the OTLP exporter is never loaded (push only: it is, and there is no /metrics)', async () => {
  const pullOnly = await otlpExporterModules('prometheus');
  expect(pullOnly.page).toMatch(new RegExp(`^200 [^]*^${PROM.tokenUsage.sum}\\{[^}]*gen_ai_token_type="input"[^}]*\\} 7$`, 'm'));
  expect(pullOnly.modules).toEqual([]);
  const pushOnly = await otlpExporterModules('otlp');
  expect(pushOnly.page).toMatch(/^404 /);
  expect(pushOnly.modules.length).toBeGreaterThan(0);
});
