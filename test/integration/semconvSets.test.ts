/**
 * Either set of GenAI metric names, the same dashboards and alerts: two sidecar processes record
 * the v1.41 conventions and are scraped by one Prometheus; two more, opted in with
 * OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental, push through the collector we ship
 * into another. Each pair gets the same calls from the recorded corpus. Then every dashboard query
 * and alert signal must return the same series and values from both, the newer set's names must
 * be the ones names.ts defines, and its token counters must add up to the corpus.
 *
 * Durations are measured by different processes, so duration and chunk-timing quantiles are
 * compared by their series only; a series that is 0 on one side and absent on the other is equal
 * (the newer conventions record 0 for a token count a call did not report, v1.41 nothing).
 */
import { LATEST_METRICS, SEMCONV } from '../../src/telemetry/names';
import { LABEL, PROM, PROM_LATEST, prometheusName } from '../../src/telemetry/prometheusNames';
import { expectedTokens, startCorpusSidecar, WORKLOADS } from '../helpers/corpusTraffic';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';
import { startCollector, WRITER_CONFIG, type RunningCollector } from '../helpers/otelcol';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { QueryComparer, rateToleranceFor, replayInWindow, sidecarQueries } from '../helpers/queryComparison';
import type { SidecarProcess } from '../helpers/sidecarProcess';

jest.setTimeout(180_000);

const INTERVAL_MS = 250;

let provider: FakeProvider;
let collector: RunningCollector;
let v141: RunningPrometheus;
let latest: RunningPrometheus;
const sidecars: { v141: SidecarProcess[]; latest: SidecarProcess[] } = { v141: [], latest: [] };
let evaluateAt: number;
let window: string;
let comparer: QueryComparer;

beforeAll(async () => {
  provider = await startFakeProvider();
  latest = await startPrometheus({ scrapeIntervalMs: INTERVAL_MS });
  collector = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: latest.remoteWriteUrl });
  for (const set of ['v141', 'latest'] as const) {
    for (const [index, workload] of WORKLOADS.entries()) {
      sidecars[set].push(
        await startCorpusSidecar(provider, collector.otlpHttpUrl, INTERVAL_MS, workload, `${workload}-${set}-${index}`, {
          extraArgs: ['--metrics-exporter', set === 'v141' ? 'prometheus' : 'otlp'],
          env: set === 'latest' ? { [SEMCONV.optInVariable]: `http,${SEMCONV.optInValue}` } : {},
        }),
      );
    }
  }
  v141 = await startPrometheus({ scrapeIntervalMs: INTERVAL_MS });
  await v141.setScrapeJobs([{ job: 'genai-sidecar', targets: sidecars.v141.map((sidecar) => new URL(sidecar.adminUrl).host) }]);

  // Each workload's two sidecars (one per set) get the same calls.
  const groups = WORKLOADS.map((_, index) => [sidecars.v141[index]!.url, sidecars.latest[index]!.url]);
  const { windowStart } = await replayInWindow(groups, provider, INTERVAL_MS);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (await latestInputTokens()) !== (await v141InputTokens())) await new Promise((resolve) => setTimeout(resolve, 500));
  await new Promise((resolve) => setTimeout(resolve, 8 * INTERVAL_MS));
  evaluateAt = Date.now() / 1000;
  const windowSeconds = Math.floor(evaluateAt - windowStart / 1000);
  window = `${windowSeconds}s`;
  comparer = new QueryComparer({ name: 'v1.41', prometheus: v141 }, [{ name: 'latest', prometheus: latest }], evaluateAt, rateToleranceFor(INTERVAL_MS, windowSeconds), {
    absentEqualsZero: true,
    labelsOnly: (expr) => /_seconds_bucket/.test(expr),
  });
});

afterAll(async () => {
  if (comparer !== undefined) {
    console.log(
      `[semconvSets] window ${window}: ${comparer.nonZeroRates} non-zero rate values compared, largest difference ${(comparer.largestRateDifference.value * 100).toFixed(2)}% (tolerance ${(comparer.rateTolerance * 100).toFixed(2)}%)`,
    );
  }
  for (const sidecar of [...sidecars.v141, ...sidecars.latest]) await sidecar.stop();
  await collector?.close();
  for (const prometheus of [v141, latest]) await prometheus?.close();
  await provider?.close();
});

async function single(prometheus: RunningPrometheus, expr: string): Promise<number | undefined> {
  const [result] = await prometheus.query(expr, evaluateAt);
  return result === undefined ? undefined : Number(result.value[1]);
}

const v141InputTokens = (): Promise<number | undefined> => single(v141, `sum(${PROM.tokenUsage.sum}{${LABEL.tokenType}="input"})`);
const latestInputTokens = (): Promise<number | undefined> => single(latest, `sum(${PROM_LATEST.usageInputTokens})`);

test('the opted-in sidecars wrote the newer names, and none of the v1.41 GenAI ones', async () => {
  const names = new Set((await latest.query('count by (__name__) ({__name__=~"gen_ai_.*|genai_sidecar_.*"})', evaluateAt)).map((r) => r.metric.__name__));
  for (const definition of Object.values(LATEST_METRICS)) {
    const base = prometheusName(definition);
    expect({ name: definition.name, present: names.has(definition.kind === 'histogram' ? `${base}_count` : base) }).toEqual({ name: definition.name, present: true });
  }
  for (const v141Only of [PROM.operationDuration.count, PROM.tokenUsage.count, PROM.tokenDetail]) expect(names.has(v141Only)).toBe(false);
  // The counters carry the modality the conventions require.
  const modalities = await latest.query(`count by (${LABEL.tokenModality}) (${PROM_LATEST.usageOutputTokens})`, evaluateAt);
  expect(modalities.map((r) => r.metric[LABEL.tokenModality])).toEqual(['unknown']);
});

test('token counters of the newer set add up to the corpus, as the v1.41 histogram does', async () => {
  const want = expectedTokens(4);
  const byProvider = async (prometheus: RunningPrometheus, expr: string): Promise<Record<string, number>> =>
    Object.fromEntries((await prometheus.query(expr, evaluateAt)).map((r) => [r.metric[LABEL.provider], Number(r.value[1])]));
  for (const [type, series] of [['input', PROM_LATEST.usageInputTokens], ['output', PROM_LATEST.usageOutputTokens]] as const) {
    const expected = Object.fromEntries([...want].filter(([key]) => key.endsWith(`/${type}`)).map(([key, value]) => [key.split('/')[0], value]));
    const have = await byProvider(latest, `sum by (${LABEL.provider}) (${series})`);
    // Providers whose calls reported no count of this type have 0 (recorded, as the conventions ask).
    expect(Object.fromEntries(Object.entries(have).filter(([, value]) => value !== 0))).toEqual(expected);
  }
});

const queries = sidecarQueries(() => window);

describe('every dashboard query answers the same on either set', () => {
  test('most of them return data from the newer set', async () => {
    const withData = await Promise.all(queries.dashboards.map(async ([, expr]) => (await latest.query(expr(), evaluateAt)).length > 0));
    expect(withData.filter(Boolean).length).toBeGreaterThan(queries.dashboards.length * 0.8);
  });
  test.each(queries.dashboards)('%s', async (_name, query) => {
    const expr = query();
    expect({ expr, problems: await comparer.compare(expr) }).toEqual({ expr, problems: [] });
  });
});

describe('every alert signal answers the same on either set', () => {
  test.each(queries.alerts)('%s', async (_name, query) => {
    const signal = query();
    expect({ signal, problems: await comparer.compare(signal) }).toEqual({ signal, problems: [] });
  });
});

test('the comparisons above compared real rates, not zeros', () => {
  expect(comparer.nonZeroRates).toBeGreaterThan(50);
});

