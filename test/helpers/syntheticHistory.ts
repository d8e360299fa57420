/**
 * Three days of what the writer tier writes for a small fleet, as Thanos blocks: the series
 * shapes come from a real run (sidecar -> shipped writer collector -> Prometheus), the history
 * around them (daily traffic, restarts, a rollout, collector rollouts) from a seeded generator,
 * and test/tools/thanos-blocks (built by scripts/build-thanos-blocks.sh) writes the blocks, as
 * Receive replicas would upload them, and downsamples them with Thanos' own code.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../demo/random';
import { LATEST_METRICS, METRICS } from '../../src/telemetry/names';
import { allSeriesNames, LABEL, PROM, prometheusName } from '../../src/telemetry/prometheusNames';
import { RECEIVE_REPLICA_LABEL } from './thanos';
import { expectedTokens, replayCorpus, startCorpusSidecar, tokenTotals } from './corpusTraffic';
import { startFakeProvider } from './fakeProvider';
import { startCollector, WRITER_CONFIG } from './otelcol';
import { startPrometheus, type RunningPrometheus } from './prometheus';

const ROOT = path.resolve(__dirname, '../..');
const BUILD_SCRIPT = 'scripts/build-thanos-blocks.sh';

/** The sidecar's default export interval: the writer tier writes each series once a minute. */
export const STEP_MS = 60_000;
export const HISTORY_DAYS = 3;
const STEPS_PER_HOUR = 3_600_000 / STEP_MS;
/** One sample per step; the first lands one step after end - 3 d, so `[3d]` at the end holds them all. */
export const HISTORY_STEPS = HISTORY_DAYS * 24 * STEPS_PER_HOUR;

/** The external labels of the blocks Receive replica `replica` uploads (the tenant is Receive's default). */
export function receiveExternalLabels(replica: string): Record<string, string> {
  return { tenant_id: 'default-tenant', [RECEIVE_REPLICA_LABEL]: replica };
}

/** One series of one sidecar after a single replay of the corpus, as Prometheus stored it. */
export interface SeriesShape {
  labels: Record<string, string>;
  value: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function seriesOf(prometheus: RunningPrometheus): Promise<SeriesShape[]> {
  const results = await prometheus.query(`{__name__=~"${allSeriesNames().join('|')}"}`);
  return results.map((result) => ({ labels: result.metric, value: Number(result.value[1]) }));
}

/**
 * Every series one sidecar produces for one replay of the corpus, through the shipped writer
 * collector into Prometheus. One export is made to fail (the collector is restarted, as in a
 * rolling update) so the sidecar's export-error counter exists too.
 */
export async function captureShape(): Promise<SeriesShape[]> {
  const exportIntervalMs = 500;
  const running: Array<{ close(): Promise<void> }> = [];
  try {
    const provider = await startFakeProvider();
    running.push(provider);
    const prometheus = await startPrometheus({ scrapeJobs: [] });
    running.push(prometheus);
    const collector = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: prometheus.remoteWriteUrl });
    running.push(collector);
    const sidecar = await startCorpusSidecar(provider, collector.otlpHttpUrl, exportIntervalMs, 'shape', 'shape-0');
    running.push({ close: () => sidecar.stop() });

    await replayCorpus(sidecar.url, provider, 0);
    const want = JSON.stringify([...expectedTokens(1)].sort());
    await waitFor('the corpus token totals in Prometheus', 30_000, async () => (JSON.stringify([...(await tokenTotals(prometheus))].sort()) === want ? true : undefined));
    await collector.stop();
    await sidecar.cli.waitForJsonLine((line) => line.msg === 'metrics export failing; traffic is unaffected, will retry', 30_000);
    await collector.start();
    return await waitFor('the export-error counter in Prometheus', 30_000, async () => {
      const shape = await seriesOf(prometheus);
      return shape.some((series) => series.labels.__name__ === PROM.telemetryErrors) ? shape : undefined;
    });
  } finally {
    for (const each of running.reverse()) await each.close();
  }
}

/** A writer's traffic: one sample per increment, from `firstStep` on (history.go Track). */
export interface Track {
  firstStep: number;
  increments: number[];
}

/** history.go Series: a counter is perIncrement x the track's running total; a gauge base + perIncrement x the step's increment, at least 0. */
export interface HistorySeries {
  labels: Record<string, string>;
  track: number;
  kind: 'counter' | 'gauge';
  perIncrement: number;
  base: number;
}

/** The file thanos-blocks `write` reads. */
export interface History {
  startMs: number;
  stepMs: number;
  externalLabels: Record<string, string>;
  tracks: Track[];
  series: HistorySeries[];
}

/** A workload: the providers its pods call (its slice of the corpus), its pods and their lives. */
interface WorkloadPlan {
  workload: string;
  providers: string[];
  pods: number;
  /**
   * Whether `instance` survives a container restart. An injected sidecar's service.instance.id is
   * its pod's UID (src/inject/sidecarContainer.ts), so a restart keeps the series, which reset to
   * 0; one started by hand draws a new id per process, and a restart starts new series.
   */
  stableInstance: boolean;
  /** Container restarts: [pod index, hour]. */
  restarts: Array<[number, number]>;
  /** A rollout: every pod replaced by a new one (new pod name, new series), hour. */
  rolloutHour?: number;
}

const FLEET: WorkloadPlan[] = [
  { workload: 'checkout', providers: ['anthropic', 'openai'], pods: 2, stableInstance: true, restarts: [[0, 20]], rolloutHour: 36 },
  { workload: 'search', providers: ['gcp.gemini', 'groq'], pods: 1, stableInstance: true, restarts: [[0, 50]] },
];
/** Collector rolling updates: every sidecar's export fails once (hours; the last shortly before the end). */
const COLLECTOR_ROLLOUT_HOURS = [30, 70];
/** A restart takes the container away for this many samples; a rollout's new pods overlap the old ones as long. */
const RESTART_GAP_STEPS = 1;
const ROLLOUT_OVERLAP_STEPS = 3;
/** Corpus replays per minute per pod at the daily peak (the trough is a quarter of it, never none). */
const PEAK_REPLAYS = 4;

const GAUGES = new Set([...Object.values(METRICS), ...Object.values(LATEST_METRICS)].filter((definition) => definition.kind === 'gauge').map((definition) => prometheusName(definition)));

/** A process's time on the clock: samples from `first` to `last` (steps, inclusive), as `instance`. */
interface Life {
  instance: string;
  first: number;
  last: number;
}

function livesOf(plan: WorkloadPlan, pod: number, next: () => number): Life[] {
  const id = (): string => {
    const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  };
  const podNames = [`${plan.workload}-7d9f8-${pod}`, `${plan.workload}-5c4b2-${pod}`];
  const rollout = plan.rolloutHour === undefined ? undefined : plan.rolloutHour * STEPS_PER_HOUR;
  const generations: Array<{ podName: string; first: number; last: number }> =
    rollout === undefined
      ? [{ podName: podNames[0] ?? '', first: 0, last: HISTORY_STEPS - 1 }]
      : [
          { podName: podNames[0] ?? '', first: 0, last: rollout + ROLLOUT_OVERLAP_STEPS - 1 },
          { podName: podNames[1] ?? '', first: rollout, last: HISTORY_STEPS - 1 },
        ];
  const lives: Life[] = [];
  for (const generation of generations) {
    let first = generation.first;
    const restartSteps = plan.restarts.filter(([index]) => index === pod).map(([, hour]) => hour * STEPS_PER_HOUR);
    for (const restart of restartSteps.filter((step) => step > generation.first && step < generation.last).sort((a, b) => a - b)) {
      lives.push({ instance: plan.stableInstance ? generation.podName : id(), first, last: restart - 1 });
      first = restart + RESTART_GAP_STEPS;
    }
    lives.push({ instance: plan.stableInstance ? generation.podName : id(), first, last: generation.last });
  }
  return lives;
}

/** Corpus replays in each step of a life: a daily curve peaking mid-afternoon, with noise. */
function trafficOf(life: Life, startMs: number, next: () => number): number[] {
  return Array.from({ length: life.last - life.first + 1 }, (_, index) => {
    const hourOfDay = (((startMs + (life.first + index) * STEP_MS) / 3_600_000) % 24 + 24) % 24;
    const daily = 0.625 + 0.375 * Math.sin(((hourOfDay - 9) / 24) * 2 * Math.PI);
    return Math.max(1, Math.round(PEAK_REPLAYS * daily * (0.75 + 0.5 * next())));
  });
}

/** The export failures a life sees: one at each collector rollout it lives through; none, no series. */
function exportErrorsOf(life: Life): Track | undefined {
  const failures = COLLECTOR_ROLLOUT_HOURS.map((hour) => hour * STEPS_PER_HOUR).filter((step) => step >= life.first && step <= life.last);
  const firstFailure = failures[0];
  if (firstFailure === undefined) return undefined;
  return { firstStep: firstFailure, increments: Array.from({ length: life.last - firstFailure + 1 }, (_, index) => (failures.includes(firstFailure + index) ? 1 : 0)) };
}

/** The limit gauge with the same labels as a remaining gauge, whose value a remaining count falls from. */
function limitFor(remaining: SeriesShape, shape: SeriesShape[]): number | undefined {
  const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).filter(([name]) => name !== '__name__').sort());
  return shape.find((series) => series.labels.__name__ === PROM.rateLimitLimit && key(series.labels) === key(remaining.labels))?.value;
}

function seriesFor(shape: SeriesShape, all: SeriesShape[], labels: Record<string, string>, track: number): HistorySeries {
  const name = shape.labels.__name__ ?? '';
  if (!GAUGES.has(name)) return { labels, track, kind: 'counter', perIncrement: shape.value, base: 0 };
  const limit = name === PROM.rateLimitRemaining ? limitFor(shape, all) : undefined;
  // A remaining count falls from its limit by what one replay used, per replay in the step.
  if (limit !== undefined) return { labels, track, kind: 'gauge', perIncrement: shape.value - limit, base: limit };
  return { labels, track, kind: 'gauge', perIncrement: 0, base: shape.value };
}

/**
 * Three days ending at `endMs` (one sample a minute per series) for the FLEET above, each pod's
 * series being its workload's slice of `shape`: cumulative counters and histograms growing by
 * whole replays of the corpus (so every histogram stays consistent: buckets monotonic in `le`,
 * +Inf equal to the count), rate-limit gauges moving with the traffic, and the resets a fleet
 * sees: container restarts, a rollout, and export errors at each collector rollout.
 */
export function synthesizeHistory(shape: SeriesShape[], endMs: number, seed = 26): History {
  const next = seededRandom(seed);
  const startMs = endMs - (HISTORY_STEPS - 1) * STEP_MS;
  const history: History = { startMs, stepMs: STEP_MS, externalLabels: receiveExternalLabels('receive-0'), tracks: [], series: [] };
  const errorSeries = shape.filter((series) => series.labels.__name__ === PROM.telemetryErrors);
  for (const plan of FLEET) {
    const slice = shape.filter((series) => plan.providers.includes(series.labels[LABEL.provider] ?? ''));
    for (let pod = 0; pod < plan.pods; pod += 1) {
      for (const life of livesOf(plan, pod, next)) {
        const identity = { [LABEL.instance]: life.instance, [LABEL.workload]: plan.workload };
        history.tracks.push({ firstStep: life.first, increments: trafficOf(life, startMs, next) });
        const traffic = history.tracks.length - 1;
        for (const series of slice) history.series.push(seriesFor(series, shape, { ...series.labels, ...identity }, traffic));
        const errors = exportErrorsOf(life);
        if (!errors) continue;
        history.tracks.push(errors);
        for (const series of errorSeries) history.series.push({ labels: { ...series.labels, ...identity }, track: history.tracks.length - 1, kind: 'counter', perIncrement: 1, base: 0 });
      }
    }
  }
  return history;
}

/**
 * What each of `replicas` Receive replicas holds with replication factor `factor`: every series
 * on `factor` neighbouring replicas, starting at one its labels hash to (as a hashring places it),
 * each share labelled with its replica's name (receive-0, receive-1 ...).
 */
export function replicaShares(history: History, replicas: number, factor: number): History[] {
  const first = (labels: Record<string, string>): number => createHash('sha256').update(JSON.stringify(Object.entries(labels).sort())).digest().readUInt32BE(0) % replicas;
  return Array.from({ length: replicas }, (_, replica) => ({
    ...history,
    externalLabels: receiveExternalLabels(`receive-${replica}`),
    series: history.series.filter((series) => (replica - first(series.labels) + replicas) % replicas < factor),
  }));
}

interface SeriesSpan {
  labels: Record<string, string>;
  firstMs: number;
  lastMs: number;
  growth: number;
}

/** Counter `name`'s series by label set (a restart that keeps `instance` continues one), with their first and last sample and growth. */
function spansOf(history: History, name: string): SeriesSpan[] {
  const spans = new Map<string, SeriesSpan>();
  for (const series of history.series) {
    if (series.labels.__name__ !== name) continue;
    const track = history.tracks[series.track];
    if (!track) continue;
    const key = JSON.stringify(Object.entries(series.labels).sort());
    const firstMs = history.startMs + track.firstStep * history.stepMs;
    const lastMs = firstMs + (track.increments.length - 1) * history.stepMs;
    const growth = series.perIncrement * track.increments.reduce((sum, increment) => sum + increment, 0);
    const span = spans.get(key);
    spans.set(key, span ? { labels: span.labels, firstMs: Math.min(span.firstMs, firstMs), lastMs: Math.max(span.lastMs, lastMs), growth: span.growth + growth } : { labels: series.labels, firstMs, lastMs, growth });
  }
  return [...spans.values()];
}

/** What a counter named `name` grew by over the whole history, summed over its series: the exact answer increase() approximates. */
export function analyticIncrease(history: History, name: string): number {
  return spansOf(history, name).reduce((sum, span) => sum + span.growth, 0);
}

/** The `instance` of every writer still running at the end of the history. */
export function instancesAtEnd(history: History): string[] {
  const lastStep = HISTORY_STEPS - 1;
  const running = new Set(history.tracks.flatMap((track, index) => (track.firstStep + track.increments.length - 1 === lastStep ? [index] : [])));
  return [...new Set(history.series.filter((series) => running.has(series.track)).map((series) => series.labels[LABEL.instance] ?? ''))];
}

/**
 * How much more `sum(increase(name[whole history]))` reads from blocks of `resolutionMs` than
 * from raw samples, by PromQL's extrapolation alone. After a series' last sample, increase()
 * extrapolates towards the end of the range by half the average interval between its samples:
 * its growth / (2 x its intervals). A series that ended inside the range (a restart with a new
 * instance, a rollout) has one interval per raw sample, but at a downsampled resolution about one
 * per window it touched (Thanos keeps a counter value per window plus the first raw one), so it
 * gains growth / (2 x windows) there instead.
 */
export function endExtrapolationDifference(history: History, name: string, resolutionMs: number): number {
  const endMs = history.startMs + (HISTORY_STEPS - 1) * history.stepMs;
  let difference = 0;
  for (const span of spansOf(history, name)) {
    if (span.lastMs >= endMs || span.lastMs === span.firstMs) continue;
    const rawIntervals = (span.lastMs - span.firstMs) / history.stepMs;
    const windows = Math.floor(span.lastMs / resolutionMs) - Math.floor(span.firstMs / resolutionMs) + 1;
    difference += span.growth / (2 * windows) - span.growth / (2 * rawIntervals);
  }
  return difference;
}

let builtBinary: string | undefined;

/**
 * The tool for the sources as they are now, as scripts/build-thanos-blocks.sh names its directory
 * (it answers at once when built, which make thanos-tools does; asked once per process).
 */
export function thanosBlocksBinary(): string {
  builtBinary ??= path.join(execFileSync('bash', [path.join(ROOT, BUILD_SCRIPT)], { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'inherit'] }).trim(), 'thanos-blocks');
  return builtBinary;
}

function runTool(args: string[]): unknown {
  try {
    return JSON.parse(execFileSync(thanosBlocksBinary(), args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`thanos-blocks ${args[0] ?? ''} failed: ${(error as Error).message}\n${stderr.slice(-4000)}`);
  }
}

export interface WrittenBlock {
  id: string;
  series: number;
  samples: number;
  minTime: number;
  maxTime: number;
}

/** Writes `history` as one raw block, with a Receive replica's metadata, into the filesystem bucket at `bucketDir`. */
export function writeHistoryBlock(history: History, historyFile: string, bucketDir: string): WrittenBlock {
  writeFileSync(historyFile, JSON.stringify(history));
  return runTool(['write', `--history=${historyFile}`, `--bucket=${bucketDir}`]) as WrittenBlock;
}

/** Thanos' downsampling of block `id` in the bucket to `resolution` ('5m' or '1h'), uploaded beside it; the new block's id. */
export function downsampleBlock(bucketDir: string, id: string, resolution: '5m' | '1h'): string {
  return (runTool(['downsample', `--bucket=${bucketDir}`, `--block=${id}`, `--resolution=${resolution}`]) as { id: string }).id;
}
