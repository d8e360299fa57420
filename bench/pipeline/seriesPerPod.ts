/**
 * Steps 1 and 2 of the pipeline bench: one real sidecar per shape (models x tenants x
 * operations), its calls answered by the fake OpenAI, exporting every second through a counting
 * hop to the shipped writer collector, which remote-writes through another counting hop to a real
 * Prometheus. Measured per shape: the pod's series in Prometheus (by family and operation, and
 * what each cardinality lever would leave), its OTLP export body, and remote-write bytes per sample.
 */
import { gzipSync } from 'node:zlib';
import { sampleSum, startCollector, WRITER_CONFIG } from '../../test/helpers/otelcol';
import { startPrometheus, type RunningPrometheus } from '../../test/helpers/prometheus';
import { LABEL, PROM } from '../../src/telemetry/prometheusNames';
import { DURATION_BUCKETS, TOKEN_BUCKETS } from '../../src/telemetry/names';
import { shapeLabel, withFewerBuckets, type SeriesShape } from '../lib/capacityModel';
import type { Lever, ShapeFigures } from '../lib/pipelineResults';
import { exportTemplate, type ExportTemplate } from '../lib/otlpWire';
import { startSidecarProcess } from '../servers/sidecar';
import { startCountingProxy, type CountingProxy } from './countingProxy';
import { startFakeOpenAi } from './fakeOpenAi';
import { driveShape, ROUTE, TENANT_ATTRIBUTE, TENANT_HEADER } from './traffic';

/** The sidecar exports every second here, so a shape settles in seconds (production: 60 s). */
export const BENCH_EXPORT_INTERVAL_MS = 1_000;
const SETTLE_TIMEOUT_MS = 30_000;
/** Consecutive 1 s polls with the same series count before a pod counts as settled. */
const STABLE_POLLS = 3;
/** Exports over which remote-write bytes per sample are averaged. */
const BYTES_WINDOW_MS = 5_000;
/** Both hops idle this long: the export before has been remote-written and appended. */
const QUIET_MS = 250;
/** Bucket boundaries of every histogram the sidecar records (durations and tokens alike). */
const BOUNDARIES = DURATION_BUCKETS.length;
if (TOKEN_BUCKETS.length !== BOUNDARIES) throw new Error('the bucket levers assume every histogram has as many boundaries');
/** Half of them: what the "fewer buckets" lever keeps. */
const FEWER_BOUNDARIES = Math.ceil(BOUNDARIES / 2);
/** One series per histogram: its _count (only histograms have one). */
const HISTOGRAM_COUNTS = '__name__=~".+_count"';

export interface SeriesResults {
  shapes: ShapeFigures[];
  /** Each shape's last export, ready to replay as other pods (steps 3 and 4). */
  templates: Map<string, ExportTemplate>;
}

/** Pod identity of a shape: fixed width and ending in digits, so replays can rewrite it in place. */
export const podMarker = (shape: SeriesShape): string => `capacity-${shapeLabel(shape)}-000000`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function scalar(prometheus: RunningPrometheus, expr: string): Promise<number> {
  const result = await prometheus.query(expr);
  return result.length === 0 ? 0 : Number(result[0]?.value[1]);
}

async function countBy(prometheus: RunningPrometheus, label: string, selector: string): Promise<Record<string, number>> {
  const result = await prometheus.query(`count by (${label}) (${selector})`);
  return Object.fromEntries(result.map((r) => [r.metric[label] ?? '', Number(r.value[1])]));
}

/** Prometheus's own count of samples it appended (float and histogram), from its /metrics. */
async function samplesAppended(prometheus: RunningPrometheus): Promise<number> {
  const text = await (await fetch(`${prometheus.url}/metrics`)).text();
  const appended = sampleSum(text, 'prometheus_tsdb_head_samples_appended_total');
  if (appended === undefined) throw new Error('Prometheus serves no prometheus_tsdb_head_samples_appended_total');
  return appended;
}

/** Waits until every call is in Prometheus and the pod's series count holds still; bounded. */
async function settle(prometheus: RunningPrometheus, selector: string, calls: number): Promise<number> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let counts: number[] = [];
  for (;;) {
    const recorded = await scalar(prometheus, `sum(${PROM.operationDuration.count}${selector})`);
    const series = await scalar(prometheus, `count(${selector})`);
    counts = recorded === calls ? [...counts, series].slice(-STABLE_POLLS) : [];
    if (counts.length === STABLE_POLLS && counts.every((count) => count === counts[0])) return series;
    if (Date.now() > deadline) throw new Error(`${selector}: ${recorded} of ${calls} calls and ${series} series in Prometheus after ${SETTLE_TIMEOUT_MS} ms`);
    await sleep(1_000);
  }
}

/**
 * Waits for a moment between exports when neither hop has a request in flight, so counts read
 * there cover whole exports (a sample counted as sent is also counted as appended); bounded.
 */
async function quietPoint(hops: readonly CountingProxy[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (!hops.every((hop) => hop.activity().idleMs >= QUIET_MS)) {
    if (Date.now() > deadline) throw new Error(`the OTLP and remote-write hops were never idle for ${QUIET_MS} ms`);
    await sleep(20);
  }
}

interface Counts {
  rw: ReturnType<CountingProxy['totals']>;
  otlp: ReturnType<CountingProxy['totals']>;
  samples: number;
}

/** Both hops' totals and Prometheus's appended samples, read together between two exports. */
async function countsBetweenExports(prometheus: RunningPrometheus, otlp: CountingProxy, remoteWrite: CountingProxy): Promise<Counts> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    await quietPoint([otlp, remoteWrite]);
    const rw = remoteWrite.totals();
    const sent = otlp.totals();
    const samples = await samplesAppended(prometheus);
    // A request that slipped in while Prometheus was asked would pair bytes with the wrong samples.
    if (remoteWrite.totals().requests === rw.requests && otlp.totals().requests === sent.requests) return { rw, otlp: sent, samples };
  }
  throw new Error('no quiet moment between exports to read the counts in');
}

/**
 * Series left if the writer's allow-list dropped `labels`. Aggregations drop the metric name, so
 * it is copied to a label first: families with the same labels must not merge.
 */
const withoutLabels = (selector: string, labels: readonly string[]): string =>
  `count(count without (${labels.join(', ')}) (label_replace(${selector}, "family", "$1", "__name__", "(.+)")))`;

/** A selector of the pod's series, with more matchers. */
const podSeries = (pod: string, ...matchers: string[]): string => `{${[`${LABEL.instance}="${pod}"`, ...matchers].join(', ')}}`;

async function measureLevers(prometheus: RunningPrometheus, pod: string, series: number, histograms: number): Promise<Lever[]> {
  const selector = podSeries(pod);
  const withoutFamilies = (pattern: string): string => `count(${podSeries(pod, `__name__!~"${pattern}"`)})`;
  const chunkGap = PROM.timePerOutputChunk;
  const queries: Array<[string, string]> = [
    ['response model', withoutLabels(selector, [LABEL.responseModel])],
    ['tenant', withoutLabels(selector, [TENANT_ATTRIBUTE])],
    ['status code', withoutLabels(selector, [LABEL.httpStatus])],
    // Failed calls carry no response model: only with it gone do they merge into the successful ones.
    ['status code, error type and response model', withoutLabels(selector, [LABEL.httpStatus, LABEL.errorType, LABEL.responseModel])],
    ['input/output token split', withoutLabels(selector, [LABEL.tokenType])],
    ['cache/reasoning token counter', withoutFamilies(PROM.tokenDetail)],
    ['time-per-output-chunk histogram', withoutFamilies(`${chunkGap.bucket}|${chunkGap.sum}|${chunkGap.count}`)],
    ['histogram buckets (keep _sum, _count)', withoutFamilies('.+_bucket')],
  ];
  const levers: Lever[] = [];
  for (const [name, expr] of queries) levers.push({ name, series: await scalar(prometheus, expr) });
  const fewer = `${FEWER_BOUNDARIES} of ${BOUNDARIES} bucket boundaries`;
  levers.push({ name: fewer, series: withFewerBuckets(series, histograms, BOUNDARIES, FEWER_BOUNDARIES) });
  // Both at once: the histograms left without the tenant each lose as many bucket series.
  const withoutTenant = levers.find((lever) => lever.name === 'tenant')?.series ?? Number.NaN;
  const histogramsWithoutTenant = await scalar(prometheus, withoutLabels(podSeries(pod, HISTOGRAM_COUNTS), [TENANT_ATTRIBUTE]));
  levers.push({ name: `tenant, and ${fewer}`, series: withFewerBuckets(withoutTenant, histogramsWithoutTenant, BOUNDARIES, FEWER_BOUNDARIES) });
  return levers;
}

export async function measureSeriesPerPod(options: { entry: string; dir: string; shapes: readonly SeriesShape[]; log: (message: string) => void }): Promise<SeriesResults> {
  const stoppers: Array<() => Promise<unknown>> = [];
  try {
    const fake = await startFakeOpenAi();
    stoppers.push(() => fake.close());
    const prometheus = await startPrometheus();
    stoppers.push(() => prometheus.close());
    const remoteWrite = await startCountingProxy({ target: prometheus.url });
    stoppers.push(() => remoteWrite.close());
    const writer = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: `${remoteWrite.url}/api/v1/write` });
    stoppers.push(() => writer.close());
    const otlp = await startCountingProxy({ target: writer.otlpHttpUrl, keepLast: true });
    stoppers.push(() => otlp.close());

    const shapes: ShapeFigures[] = [];
    const templates = new Map<string, ExportTemplate>();
    for (const shape of options.shapes) {
      const label = shapeLabel(shape);
      const pod = podMarker(shape);
      const selector = podSeries(pod);
      const sidecar = await startSidecarProcess({
        entry: options.entry,
        dir: options.dir,
        label: `capacity-${label}`,
        upstreams: [`${ROUTE}=${fake.url}`],
        otlpEndpoint: otlp.url,
        exportIntervalMs: BENCH_EXPORT_INTERVAL_MS,
        extraArgs: [
          '--header-attribute', `${TENANT_HEADER}=${TENANT_ATTRIBUTE}`,
          ...Object.entries({ 'service.instance.id': pod, 'k8s.pod.name': pod, 'k8s.namespace.name': 'capacity', 'k8s.workload.name': 'bench', 'k8s.cluster.name': 'bench' }).flatMap(([key, value]) => ['--resource-attribute', `${key}=${value}`]),
        ],
      });
      try {
        const calls = await driveShape(sidecar.url, shape);
        const series = await settle(prometheus, selector, calls);
        const reading = () => countsBetweenExports(prometheus, otlp, remoteWrite);
        const before = await reading();
        await sleep(BYTES_WINDOW_MS);
        const after = await reading();
        const body = otlp.last();
        if (body === undefined) throw new Error(`${label}: no OTLP export went through the counting hop`);
        const template = exportTemplate(body.body, pod);
        templates.set(label, template);
        const byFamily = await countBy(prometheus, '__name__', selector);
        const histograms = await scalar(prometheus, `count(${podSeries(pod, HISTOGRAM_COUNTS)})`);
        const exports = after.otlp.requests - before.otlp.requests;
        const rwBytes = after.rw.bytes - before.rw.bytes;
        const samples = after.samples - before.samples;
        const figures: ShapeFigures = {
          shape,
          label,
          calls,
          series,
          byOperation: await countBy(prometheus, LABEL.operation, podSeries(pod, `${LABEL.operation}!=""`)),
          byFamily,
          histograms,
          levers: await measureLevers(prometheus, pod, series, histograms),
          otlp: { bytes: body.bytes, gzipBytes: gzipSync(body.body).length, encoding: body.encoding || 'none', points: template.layout.points, exportsSeen: exports },
          remoteWrite: { bytes: rwBytes, samples, bytesPerSample: samples > 0 ? rwBytes / samples : undefined, samplesPerExport: exports > 0 ? samples / exports : undefined },
        };
        shapes.push(figures);
        options.log(
          `series ${label}: ${series} series per pod (${calls} calls), OTLP export ${body.bytes} bytes (${figures.otlp.points} points, gzip would be ${figures.otlp.gzipBytes}), remote write ${figures.remoteWrite.bytesPerSample?.toFixed(2)} bytes per sample over ${exports} exports`,
        );
      } finally {
        await sidecar.child.stop();
      }
    }
    if (otlp.totals().failed > 0 || remoteWrite.totals().failed > 0) throw new Error(`requests refused downstream: OTLP ${otlp.totals().failed}, remote write ${remoteWrite.totals().failed}`);
    return { shapes, templates };
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  }
}
