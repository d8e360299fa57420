/**
 * Long-range dashboards on downsampled data (issue 26), with real Thanos on loopback. Three days
 * of a small fleet's series, in the shapes a real sidecar -> writer collector run produces
 * (test/helpers/syntheticHistory.ts), are written as the raw blocks three Receive replicas with
 * replication factor 2 upload (each series in two of them, with their metadata); the real
 * Compactor, with the overlay's retention and replica deduplication (k8s/overlays/thanos), merges
 * them into one raw block and makes the 5m block; Thanos' downsampling code makes the 1h block (the
 * Compactor only does that for blocks of 10 days or more). Each resolution then sits in a bucket
 * of its own behind a Store Gateway and a Query, and:
 * - every dashboard panel query and alert signal about the sidecars returns data at each
 *   resolution, over windows that suit it;
 * - the cost (and token) increase() over the whole span: raw within 1% of what the generator
 *   wrote, 5m and 1h within 1% of raw. What 1h reads above raw is PromQL's extrapolation after
 *   the last sample of each series that ended inside the span (about half an hour of its spend at
 *   1h resolution, computed from the history), and nothing else: the pods running at the end agree
 *   within 1% alone. The bias grows as series get shorter lives (docs/scaling.md);
 * - a Query asked for a resolution its store does not hold answers nothing;
 * - over one bucket holding all three, a Query with the overlay's resolution flags reads the 5m
 *   block for a range query with a 1 h step and the 1h block for an instant query.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { alertRules } from '../../src/observability/alerts/rules';
import { dashboardQueries } from '../../src/observability/dashboards/render';
import { SAMPLE_INTERVAL } from '../../src/observability/dashboards/datasource';
import { COLLECTOR_JOB } from '../../src/telemetry/collectorNames';
import { allSeriesNames, PROM } from '../../src/telemetry/prometheusNames';
import { sidecarQueries } from '../helpers/queryComparison';
import {
  analyticIncrease,
  captureShape,
  downsampleBlock,
  endExtrapolationDifference,
  HISTORY_DAYS,
  instancesAtEnd,
  replicaShares,
  STEP_MS,
  synthesizeHistory,
  writeHistoryBlock,
  type History,
  type WrittenBlock,
} from '../helpers/syntheticHistory';
import { filesystemBucket, RECEIVE_REPLICA_LABEL, runCompactor, startQuery, startStore, type ThanosProcess, type ThanosQuery } from '../helpers/thanos';

jest.setTimeout(240_000);

const OVERLAY = path.resolve(__dirname, '../../k8s/overlays/thanos/thanos');

/** The args of the containers in a shipped manifest of the Thanos overlay that match `wanted`. */
function shippedArgs(file: string, wanted: RegExp): string[] {
  type Workload = { spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } } };
  const documents = parseAllDocuments(readFileSync(path.join(OVERLAY, file), 'utf8')).map((document) => document.toJS() as Workload | null);
  return documents.flatMap((document) => document?.spec?.template?.spec?.containers ?? []).flatMap((container) => (container.args ?? []).filter((arg) => wanted.test(arg)));
}

/** The Compactor's retention per resolution and replica deduplication, as the overlay ships them. */
const COMPACTOR_FLAGS = shippedArgs('compact.yaml', /^--(retention\.resolution-|deduplication\.)/);
/** How the overlay's Query picks a resolution when a query names none. */
const QUERY_RESOLUTION_FLAGS = shippedArgs('query.yaml', /^--query\.(auto-downsampling|instant\.default\.max_source_resolution)/);
/**
 * Test-only: the blocks are seconds old (the default 30m consistency delay would leave them
 * alone), and the merged replica blocks go at once rather than after 48 h, so the bucket holds
 * what it holds from then on.
 */
const TEST_TIMING_FLAGS = ['--consistency-delay=0s', '--delete-delay=0s'];
const RECEIVE_REPLICAS = 3;
const REPLICATION_FACTOR = 2;

const minutes = (text: string): number => Number(/^(\d+)s$/.exec(text)?.[1] ?? NaN) / 60;

interface Resolution {
  name: 'raw' | '5m' | '1h';
  /** Thanos' max_source_resolution for it. */
  param: string;
  /** Thanos' downsample.resolution in a block's meta.json, ms. */
  metaResolution: number;
  /**
   * rate()/increase() windows. Raw: Grafana's $__rate_interval for the dashboards' 60 s sample
   * interval (four samples); downsampled: five times the resolution, as $__rate_interval is for a
   * range long enough to pick it. Alerts keep their own windows on raw data.
   */
  window: string;
}

const RESOLUTIONS: Resolution[] = [
  { name: 'raw', param: '0s', metaResolution: 0, window: `${4 * minutes(SAMPLE_INTERVAL)}m` },
  { name: '5m', param: '5m', metaResolution: 300_000, window: '25m' },
  { name: '1h', param: '1h', metaResolution: 3_600_000, window: '5h' },
];

const COST_OVER_SPAN = `sum(increase(${PROM.cost}[${HISTORY_DAYS}d]))`;

let dir: string;
let history: History;
let written: WrittenBlock[];
/** The raw block the Compactor merged the replicas' blocks into. */
let raw: BlockMeta;
let compactorLog: string;
/** Block id -> its meta.json, for every block the bucket holds after the Compactor and the 1h downsampling. */
let blocks: Map<string, BlockMeta>;
let evaluateAt: number;
const processes: ThanosProcess[] = [];
const queries = new Map<Resolution['name'] | 'all', ThanosQuery>();

interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: { numSamples: number; numSeries: number; numChunks: number };
  compaction: { level: number; sources: string[] };
  thanos: { labels: Record<string, string>; downsample: { resolution: number }; source: string };
}

function bucketBlocks(bucketDir: string): Map<string, BlockMeta> {
  return new Map(
    readdirSync(bucketDir)
      .filter((name) => /^[0-9A-Z]{26}$/.test(name))
      .map((id) => [id, JSON.parse(readFileSync(path.join(bucketDir, id, 'meta.json'), 'utf8')) as BlockMeta]),
  );
}

function blockAt(resolution: number): BlockMeta {
  const found = [...blocks.values()].filter((meta) => meta.thanos.downsample.resolution === resolution);
  if (found.length !== 1) throw new Error(`expected one block of resolution ${resolution} ms, found ${found.length}: ${JSON.stringify([...blocks.keys()])}`);
  return found[0] as BlockMeta;
}

function bytesOf(blockDir: string): number {
  return readdirSync(blockDir, { recursive: true, encoding: 'utf8' }).reduce((sum, name) => {
    const stat = statSync(path.join(blockDir, name));
    return stat.isFile() ? sum + stat.size : sum;
  }, 0);
}

/** The one value of a query that sums to a single series. */
async function single(query: ThanosQuery, expr: string, maxSourceResolution: string): Promise<number> {
  const results = await query.instant(expr, evaluateAt, { maxSourceResolution });
  if (results.length !== 1) throw new Error(`${expr} at ${maxSourceResolution}: ${results.length} series`);
  return Number(results[0]?.value[1]);
}

/** Until the Store Gateway behind `query` has loaded its block: the cost series answer at `resolution`. */
async function waitForData(query: ThanosQuery, resolution: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const results = await query.instant(`count(${PROM.cost})`, evaluateAt, { maxSourceResolution: resolution }).catch(() => []);
    if (results.length > 0) return;
    if (Date.now() > deadline) throw new Error(`${query.name}: no data at ${resolution} within 30 s:\n${query.log().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function storeAndQuery(name: Resolution['name'] | 'all', bucketDir: string, queryArgs: string[] = []): Promise<ThanosQuery> {
  const store = await startStore({ dir, name: `store-${name}`, objstoreFile: filesystemBucket(dir, bucketDir) });
  processes.push(store);
  const query = await startQuery({ dir, name: `query-${name}`, endpoints: [store.grpcAddress], extraArgs: queryArgs });
  processes.push(query);
  await query.waitForEndpoints(1);
  return query;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'genai-thanos-downsample-'));
  const shape = await captureShape();
  // Ending ten minutes ago, so raw retention (7 days) keeps all of it and the alerts' windows end on data.
  const endMs = Math.floor(Date.now() / STEP_MS) * STEP_MS - 10 * 60_000;
  evaluateAt = endMs / 1000;
  history = synthesizeHistory(shape, endMs);

  const allDir = path.join(dir, 'bucket-all');
  const allObjstore = filesystemBucket(dir, allDir);
  written = replicaShares(history, RECEIVE_REPLICAS, REPLICATION_FACTOR).map((share, index) => writeHistoryBlock(share, path.join(dir, `history-${index}.json`), allDir));
  compactorLog = runCompactor({ dir, objstoreFile: allObjstore, args: [...COMPACTOR_FLAGS, ...TEST_TIMING_FLAGS] });
  blocks = bucketBlocks(allDir);
  downsampleBlock(allDir, blockAt(300_000).ulid, '1h');
  blocks = bucketBlocks(allDir);
  raw = blockAt(0);

  // A bucket per resolution, so each Query can only answer from that resolution's block.
  const perResolution = RESOLUTIONS.map((resolution) => {
    const bucketDir = path.join(dir, `bucket-${resolution.name}`);
    const id = blockAt(resolution.metaResolution).ulid;
    cpSync(path.join(allDir, id), path.join(bucketDir, id), { recursive: true });
    return { resolution, bucketDir };
  });
  for (const { resolution, bucketDir } of perResolution) queries.set(resolution.name, await storeAndQuery(resolution.name, bucketDir));
  queries.set('all', await storeAndQuery('all', allDir, QUERY_RESOLUTION_FLAGS));
  for (const resolution of RESOLUTIONS) await waitForData(queryFor(resolution.name), resolution.param);
  await waitForData(queryFor('all'), '0s');
});

afterAll(async () => {
  for (const child of processes.reverse()) await child.stop().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function queryFor(name: Resolution['name'] | 'all'): ThanosQuery {
  const query = queries.get(name);
  if (!query) throw new Error(`no Query for ${name}`);
  return query;
}

describe('the blocks', () => {
  test("the Compactor and Query run with the overlay's flags for retention, deduplication and resolution", () => {
    // The tiers issue 26 asks for, and the label Receive replicas differ in.
    expect(COMPACTOR_FLAGS.sort()).toEqual([`--deduplication.replica-label=${RECEIVE_REPLICA_LABEL}`, '--retention.resolution-1h=2y', '--retention.resolution-5m=90d', '--retention.resolution-raw=7d']);
    expect(QUERY_RESOLUTION_FLAGS.sort()).toEqual(['--query.auto-downsampling', '--query.instant.default.max_source_resolution=1h']);
  });

  test('each replica uploaded its share of the history, labelled as Receive labels it', () => {
    const samples = written.map((block) => block.samples);
    // Every series in REPLICATION_FACTOR of the replicas' blocks.
    expect(samples.reduce((sum, count) => sum + count, 0)).toBe(REPLICATION_FACTOR * raw.stats.numSamples);
    expect(Math.min(...samples)).toBeGreaterThan(0);
    expect(compactorLog).toContain('msg="compaction available and planned"');
  });

  test('the Compactor merged them into one raw block without the replica label, and deleted theirs', () => {
    expect(raw.thanos).toMatchObject({ labels: { tenant_id: 'default-tenant' }, downsample: { resolution: 0 }, source: 'compactor' });
    expect(raw.thanos.labels[RECEIVE_REPLICA_LABEL]).toBeUndefined();
    expect(raw.compaction.sources.sort()).toEqual(written.map((block) => block.id).sort());
    expect(written.filter((block) => blocks.has(block.id))).toEqual([]);
    expect(raw.stats.numSeries).toBe(new Set(history.series.map((series) => JSON.stringify(Object.entries(series.labels).sort()))).size);
    expect(raw.maxTime - raw.minTime).toBeGreaterThan((HISTORY_DAYS * 24 - 1) * 3_600_000);
  });

  test('and, with the shipped retention (raw kept 7 days), a 5m block of it beside it', () => {
    const fiveMinute = blockAt(300_000);
    expect(fiveMinute.compaction.sources.sort()).toEqual(raw.compaction.sources.sort());
    expect([fiveMinute.minTime, fiveMinute.maxTime, fiveMinute.thanos.labels]).toEqual([raw.minTime, raw.maxTime, raw.thanos.labels]);
    expect(compactorLog).toContain('msg="downsampled block"');
  });

  test('the 1h block comes from the 5m one and covers the same span', () => {
    const hourly = blockAt(3_600_000);
    expect(hourly.compaction.sources.sort()).toEqual(raw.compaction.sources.sort());
    expect([hourly.minTime, hourly.maxTime, hourly.thanos.labels]).toEqual([raw.minTime, raw.maxTime, raw.thanos.labels]);
    expect(blocks.size).toBe(3);
  });

  test('sizes per resolution (for docs/scaling.md)', () => {
    const allDir = path.join(dir, 'bucket-all');
    const rawSamples = raw.stats.numSamples;
    const rows = RESOLUTIONS.map((resolution) => {
      const meta = blockAt(resolution.metaResolution);
      const bytes = bytesOf(path.join(allDir, meta.ulid));
      return `${resolution.name}: ${bytes} B, ${meta.stats.numSeries} series, ${meta.stats.numChunks} chunks, ${meta.stats.numSamples} stored samples, ${(bytes / rawSamples).toFixed(3)} B per raw sample`;
    });
    console.log(`${rawSamples} raw samples (one a minute) in ${raw.stats.numSeries} series over ${HISTORY_DAYS} days (replica blocks: ${written.map((block) => block.samples).join(' + ')} samples):\n${rows.join('\n')}`);
    // The 1h block must be a fraction of the raw one, or downsampling bought nothing.
    expect(bytesOf(path.join(allDir, blockAt(3_600_000).ulid))).toBeLessThan(bytesOf(path.join(allDir, raw.ulid)) / 4);
  });
});

test('every histogram of the history is consistent at every sample: buckets grow with le, +Inf equals the count', () => {
  // Every series of one histogram grows with the same track, so equal per-increment steps keep it so at every sample.
  const histograms = new Map<string, { track: number; buckets: Array<[number, number]>; count?: number }>();
  for (const series of history.series) {
    const { __name__: name = '', le, ...rest } = series.labels;
    const base = name.replace(/_(bucket|count)$/, '');
    if (base === name || !allSeriesNames().includes(`${base}_bucket`)) continue;
    const key = JSON.stringify([base, series.track, Object.entries(rest).sort()]);
    const histogram = histograms.get(key) ?? { track: series.track, buckets: [] };
    if (le === undefined) histogram.count = series.perIncrement;
    else histogram.buckets.push([le === '+Inf' ? Infinity : Number(le), series.perIncrement]);
    histograms.set(key, histogram);
  }
  const broken = [...histograms].filter(([, { buckets, count }]) => {
    const sorted = buckets.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
    return count === undefined || sorted.at(-1) !== count || sorted.some((value, index) => index > 0 && value < (sorted[index - 1] ?? 0));
  });
  expect(histograms.size).toBeGreaterThan(100);
  expect(broken.map(([key]) => key)).toEqual([]);
});

test('every histogram is consistent at the end of the span: +Inf bucket equals count (raw data)', async () => {
  const query = queryFor('raw');
  for (const histogram of [PROM.tokenUsage, PROM.operationDuration, PROM.timeToFirstChunk, PROM.timePerOutputChunk]) {
    const differences = await query.instant(`${histogram.bucket}{le="+Inf"} != ignoring(le) ${histogram.count}`, evaluateAt, { maxSourceResolution: '0s' });
    expect({ histogram: histogram.bucket, differences: differences.length }).toEqual({ histogram: histogram.bucket, differences: 0 });
    expect(await single(query, `count(${histogram.count})`, '0s')).toBeGreaterThan(0);
  }
});

test('only queries that read no sidecar series are left out (those about the collector itself)', () => {
  const checked = sidecarQueries(() => '1m');
  const all: Array<[string, string]> = [
    ...dashboardQueries().map((query): [string, string] => [`${query.dashboard} / ${query.panel}`, query.expr]),
    ...alertRules().map((rule): [string, string] => [rule.alert, rule.signal]),
  ];
  const readsSidecarSeries = (expr: string): boolean => allSeriesNames().some((name) => expr.includes(name));
  expect(checked.dashboards.length + checked.alerts.length).toBe(all.filter(([, expr]) => readsSidecarSeries(expr)).length);
  const left = all.filter(([, expr]) => !readsSidecarSeries(expr));
  // The synthetic history has no otelcol_ series: those need a running collector (pipelineE2E.test.ts).
  expect(left.filter(([, expr]) => !expr.includes(`job="${COLLECTOR_JOB}"`))).toEqual([]);
  console.log(`left out, about the collector itself: ${left.map(([name]) => name).join('; ')}`);
});

function hasFiniteValue(results: Array<{ value: [number, string] }>): boolean {
  return results.some((result) => Number.isFinite(Number(result.value[1])));
}

describe.each(RESOLUTIONS)('at $name resolution', (resolution) => {
  const made = sidecarQueries(() => resolution.window);
  const ownSignal = new Map(alertRules().map((rule) => [rule.alert, rule.signal]));
  const alerts = made.alerts.map(([name, make]): [string, () => string] => [name, resolution.name === 'raw' ? () => ownSignal.get(name) ?? '' : make]);

  test.each([...made.dashboards, ...alerts])('%s returns data', async (_name, make) => {
    const expr = make();
    const results = await queryFor(resolution.name).instant(expr, evaluateAt, { maxSourceResolution: resolution.param });
    expect({ expr, hasData: hasFiniteValue(results) }).toEqual({ expr, hasData: true });
  });
});

async function atEachResolution(expr: string): Promise<Record<Resolution['name'], number>> {
  const [atRaw, at5m, at1h] = await Promise.all(RESOLUTIONS.map((r) => single(queryFor(r.name), expr, r.param)));
  return { raw: atRaw ?? NaN, '5m': at5m ?? NaN, '1h': at1h ?? NaN };
}

const off = (value: number, reference: number): number => Math.abs(value / reference - 1);
const percent = (value: number, reference: number): string => `${((value / reference - 1) * 100).toFixed(3)}%`;

describe('totals over the whole span', () => {
  test.each([
    ['cost', PROM.cost],
    ['token usage', PROM.tokenUsage.sum],
  ])('%s: raw within 1% of the generator, 5m and 1h within 1% of raw, 1h off by the extrapolation after ended series alone', async (_what, name) => {
    const whole = `sum(increase(${name}[${HISTORY_DAYS}d]))`;
    const running = `sum(increase(${name}{instance=~"${instancesAtEnd(history).join('|')}"}[${HISTORY_DAYS}d]))`;
    const want = analyticIncrease(history, name);
    const have = await atEachResolution(whole);
    const haveRunning = await atEachResolution(running);
    const extrapolation = { '5m': endExtrapolationDifference(history, name, 300_000), '1h': endExtrapolationDifference(history, name, 3_600_000) };
    console.log(
      [
        `${whole}: generator ${want}, raw ${have.raw} (${percent(have.raw, want)}), 5m ${have['5m']} (${percent(have['5m'], have.raw)} of raw), 1h ${have['1h']} (${percent(have['1h'], have.raw)} of raw)`,
        `  expected from extrapolation after the last sample of series that ended: 5m +${percent(have.raw + extrapolation['5m'], have.raw)}, 1h +${percent(have.raw + extrapolation['1h'], have.raw)}`,
        `  pods running at the end: raw ${haveRunning.raw}, 5m ${percent(haveRunning['5m'], haveRunning.raw)}, 1h ${percent(haveRunning['1h'], haveRunning.raw)} of raw`,
      ].join('\n'),
    );
    expect(off(have.raw, want)).toBeLessThan(0.01);
    expect(off(have['5m'], have.raw)).toBeLessThan(0.01);
    expect(off(have['1h'], have.raw)).toBeLessThan(0.01);
    expect(off(haveRunning['5m'], haveRunning.raw)).toBeLessThan(0.01);
    expect(off(haveRunning['1h'], haveRunning.raw)).toBeLessThan(0.01);
    // What is left once the extrapolation is accounted for: a sample, reset or series lost in downsampling would show here.
    expect(off(have['5m'] - extrapolation['5m'], have.raw)).toBeLessThan(0.001);
    expect(off(have['1h'] - extrapolation['1h'], have.raw)).toBeLessThan(0.001);
  });
});

describe('resolutions stay apart', () => {
  test.each([
    ['5m', '0s'],
    ['1h', '5m'],
  ] as const)('the %s store has data at its resolution and none for max_source_resolution=%s', async (name, finer) => {
    const query = queryFor(name);
    expect(await single(query, COST_OVER_SPAN, name)).toBeGreaterThan(0);
    expect(await query.instant(COST_OVER_SPAN, evaluateAt, { maxSourceResolution: finer })).toEqual([]);
  });

  test("over all three, the overlay's Query answers a 1h-step range query from the 5m block (auto-downsampling)", async () => {
    const atRaw = await single(queryFor('raw'), COST_OVER_SPAN, '0s');
    const at5m = await single(queryFor('5m'), COST_OVER_SPAN, '5m');
    // Otherwise equal answers could not tell the blocks apart.
    expect(at5m).not.toBe(atRaw);
    // No max_source_resolution: step / 5 = 12 minutes picks the 5m block over the raw one.
    const series = await queryFor('all').range(COST_OVER_SPAN, evaluateAt, evaluateAt, 3600);
    const auto = Number(series[0]?.values[0]?.[1]);
    expect(auto).toBeCloseTo(at5m, 9);
    expect(off(auto, atRaw)).toBeLessThan(0.01);
  });

  test("and an instant query naming no resolution from the 1h block (the overlay's instant default)", async () => {
    const at1h = await single(queryFor('1h'), COST_OVER_SPAN, '1h');
    const at5m = await single(queryFor('5m'), COST_OVER_SPAN, '5m');
    expect(at1h).not.toBe(at5m);
    const results = await queryFor('all').instant(COST_OVER_SPAN, evaluateAt);
    expect(Number(results[0]?.value[1])).toBeCloseTo(at1h, 9);
  });
});
