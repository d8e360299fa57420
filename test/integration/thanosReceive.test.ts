/**
 * The replicated write path of issue 26 loses nothing when a Receive replica dies, and answers
 * what the single-Prometheus path answers for the same traffic. Every engine is real, on loopback:
 *
 *   sidecars (corpus traffic) -> routing tier (collector/router-config.yaml)
 *     -> two writers (collector-config.yaml) --remote write--> Thanos Receive, 3 replicas,
 *        ketama hashring, replication factor 2 (writer 0 to receive-0, writer 1 to receive-1,
 *        as a Service would spread them) -> Thanos Query (deduplicating on `replica`)
 *     -> and, from the same writers, the same batches to one Prometheus.
 *
 * The comparison is fair because both stores get the very same batches: each writer's one metrics
 * pipeline hands every batch to the shipped exporter (to Receive) and to a copy of it with the same
 * settings (to Prometheus), so both hold the same samples at the same timestamps. A difference can
 * only come from the write path behind the exporters, which is what is under test.
 *
 * Mid-run receive-1 is SIGKILLed: writer 1's requests are refused and retried. Writer 0's are not:
 * with replication factor 2 Receive's write quorum is 1 (pkg/receive/handler.go, writeQuorum), so
 * a series replicated on receive-1 is acknowledged with its one surviving copy, and receive-1 never
 * gets that sample later (Receive does not repair replicas). Traffic keeps flowing, receive-1
 * restarts on its data directory (a StatefulSet pod coming back), more traffic, and the writers
 * and the replication between replicas must catch up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectedTokens, replayCorpus, startCorpusSidecar, tokenTotals, WORKLOADS } from '../helpers/corpusTraffic';
import { startFakeProvider, type FakeProvider } from '../helpers/fakeProvider';
import { dataLossLines, ROUTER_CONFIG, startCollector, WRITER_CONFIG, type RunningCollector } from '../helpers/otelcol';
import { startPrometheus, type QueryApi, type RunningPrometheus } from '../helpers/prometheus';
import { QueryComparer, sidecarQueries } from '../helpers/queryComparison';
import type { SidecarProcess } from '../helpers/sidecarProcess';
import { RECEIVE_REPLICA_LABEL, startQuery, startReceiveRing, type ReceiveRing, type ThanosQuery } from '../helpers/thanos';
import {
  exporterStats,
  outOfOrderDropped,
  queryAsPrometheus,
  RECEIVE_EXPORTER,
  rawSamples,
  replicaCoverage,
  sampleCount,
  sampleDifferences,
  SINGLE_PROMETHEUS_EXPORTER,
  writeDualConfig,
  type ExporterStats,
  type ReplicaCoverage,
  type SeriesSamples,
} from '../helpers/thanosPipeline';

jest.setTimeout(240_000);

/** Export interval: every sidecar sends its ~10,000 series this often, which the 2-core machine must ingest three times over. */
const INTERVAL_MS = 2000;
const PODS_PER_WORKLOAD = 2;
/** The ring is keyed on random ports and instance ids: pods are added (up to this many) until both writers have one. */
const MAX_PODS = 8;
/** How long receive-1 stays down at least: several export intervals, so its writer retries through many exports. */
const MIN_OUTAGE_MS = 4 * INTERVAL_MS;
/** How far behind now the stores are compared while traffic flows: time for a sample to be ingested by both. */
const INGEST_LAG_S = (2 * INTERVAL_MS) / 1000;
/** The newest samples checked for replication having resumed: a few exports of every series. */
const RECENT_S = (3 * INTERVAL_MS) / 1000;
const EVERY_SERIES = '{__name__=~".+"}';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 250 ms until it returns true; false after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}

let dir: string;
let provider: FakeProvider;
let prometheus: RunningPrometheus;
let ring: ReceiveRing;
let query: ThanosQuery;
/** Query as dashboards use it: deduplicated, and failing rather than answering from part of the stores. */
let thanos: QueryApi;
/** Query with every replica's copy apart. */
let undeduplicated: QueryApi;
const writers: RunningCollector[] = [];
let router: RunningCollector | undefined;
const sidecars: SidecarProcess[] = [];
let replays = 0;

const runStart = Date.now();
const timeline: Record<string, number> = {};
const mark = (event: string): number => {
  timeline[event] = Date.now() - runStart;
  return Date.now() / 1000;
};

/** What the outage looked like, gathered while it lasted. */
const outage = {
  /** Before the kill, every sample up to here (seconds) was on both its replicas. */
  syncedAt: 0,
  preKill: undefined as ReplicaCoverage | undefined,
  duringProblems: [] as string[],
  /** Query attempts (partial_response=false) that failed before the first answer without receive-1. */
  queryErrors: [] as string[],
  seriesAnswered: 0,
  /** From here (seconds) on, the newest samples of every series were on both replicas again. */
  resumedAt: 0,
};

let finalStats: Array<{ receive: ExporterStats; single: ExporterStats }> = [];
/** Per replica, samples it lacks from after replication resumed. */
const singleCopyAfterResume: number[] = [];
/** Every sample Prometheus holds at the end. */
let reference: SeriesSamples;
let evaluateAt: number;
let windowSeconds: number;
let comparer: QueryComparer;

async function replayRound(targets: SidecarProcess[]): Promise<void> {
  for (const sidecar of targets) {
    await replayCorpus(sidecar.url, provider, replays);
    replays += 1;
  }
}

async function addPod(): Promise<SidecarProcess> {
  const index = sidecars.length;
  const workload = WORKLOADS[index % WORKLOADS.length] ?? 'checkout';
  const sidecar = await startCorpusSidecar(provider, router?.otlpHttpUrl ?? '', INTERVAL_MS, workload, `${workload}-${Math.floor(index / WORKLOADS.length)}`);
  sidecars.push(sidecar);
  return sidecar;
}

const statsOf = (exporter: string): Promise<ExporterStats[]> => Promise.all(writers.map((writer) => exporterStats(writer, exporter)));

/** The metric names Prometheus holds at `at`. */
async function metricNames(at: number): Promise<string[]> {
  return (await prometheus.query(`count by (__name__) (${EVERY_SERIES})`, at)).map((result) => result.metric.__name__ ?? '').sort();
}

/** Every series' raw samples since the run started (or the last `seconds`), in one store, at `at`. */
function samplesAt(store: QueryApi, at: number, seconds = Math.ceil(at - runStart / 1000) + 5): Promise<SeriesSamples> {
  return rawSamples(store, `${EVERY_SERIES}[${seconds}s]`, at);
}

/** How the replicas' copies cover what Prometheus holds in the `seconds` up to `at`. */
async function coverageAt(at: number, seconds?: number): Promise<ReplicaCoverage> {
  const [held, copies] = await Promise.all([samplesAt(prometheus, at, seconds), samplesAt(undeduplicated, at, seconds)]);
  return replicaCoverage(held, copies, RECEIVE_REPLICA_LABEL);
}

/**
 * Samples over all series in the `seconds` up to `at`: a cheap poll before a sample-by-sample
 * comparison. One count per metric name, as count_over_time drops the name and series of
 * different metrics would collide.
 */
async function sampleTotal(store: QueryApi, names: string[], at: number, seconds = Math.ceil(at - runStart / 1000) + 5): Promise<number> {
  const expr = names.map((name) => `(sum(count_over_time(${name}[${seconds}s])) or vector(0))`).join(' + ');
  const [result] = await store.query(expr, at);
  return Number(result?.value[1] ?? 0);
}

/** True when `store` holds `copies` times the samples Prometheus holds in the `seconds` up to `at`. */
async function holdCopies(store: QueryApi, copies: number, at: number, seconds?: number): Promise<boolean> {
  const names = await metricNames(at);
  const [held, stored] = await Promise.all([sampleTotal(prometheus, names, at, seconds), sampleTotal(store, names, at, seconds)]);
  return held > 0 && stored === copies * held;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'genai-thanos-receive-'));
  provider = await startFakeProvider();
  prometheus = await startPrometheus({ scrapeJobs: [] });
  ring = await startReceiveRing({ dir, count: 3, replicationFactor: 2 });
  query = await startQuery({ dir, name: 'query', endpoints: ring.replicas.map((replica) => replica.grpcAddress) });
  await query.waitForEndpoints(3);
  thanos = queryAsPrometheus(query, { dedup: true, partialResponse: false });
  undeduplicated = queryAsPrometheus(query, { dedup: false, partialResponse: false });

  const writerConfig = writeDualConfig(dir, readFileSync(WRITER_CONFIG, 'utf8'), prometheus.remoteWriteUrl);
  for (let i = 0; i < 2; i += 1) writers.push(await startCollector({ config: writerConfig, remoteWriteUrl: ring.remoteWriteUrl(i) }));
  router = await startCollector({ config: ROUTER_CONFIG, writers: writers.map((writer) => writer.otlpGrpcAddress) });
  for (let i = 0; i < WORKLOADS.length * PODS_PER_WORKLOAD; i += 1) await addPod();
  mark('pipeline ready');

  // Round 0, and more pods until the ring has given each writer at least one.
  await replayRound(sidecars);
  const bothBusy = async (): Promise<boolean> => (await statsOf(SINGLE_PROMETHEUS_EXPORTER)).every((stats) => stats.sentPoints > 0);
  while (!(await until(bothBusy, 4 * INTERVAL_MS))) {
    if (sidecars.length >= MAX_PODS) throw new Error(`${MAX_PODS} sidecars and still one writer without any: ${JSON.stringify(await statsOf(SINGLE_PROMETHEUS_EXPORTER))}`);
    await replayRound([await addPod()]);
  }
  await sleep(2 * INTERVAL_MS);
  await replayRound(sidecars);

  // Before the kill: every sample Prometheus holds up to a moment ago is on both its replicas.
  await until(async () => {
    outage.syncedAt = Date.now() / 1000 - INGEST_LAG_S;
    return holdCopies(undeduplicated, 2, outage.syncedAt);
  }, 20_000);
  outage.preKill = await coverageAt(outage.syncedAt);

  const receive1 = ring.replicas[1];
  if (!receive1) throw new Error('no receive-1');
  const atKill = await statsOf(RECEIVE_EXPORTER);
  const killedAt = mark('kill');
  await receive1.kill();

  // During the outage: traffic keeps coming, and Query answers from the two survivors.
  await replayRound(sidecars);
  const answered = await until(async () => {
    try {
      const other = await samplesAt(thanos, outage.syncedAt);
      outage.seriesAnswered = other.size;
      outage.duringProblems = sampleDifferences(await samplesAt(prometheus, outage.syncedAt), other);
      return true;
    } catch (error) {
      outage.queryErrors.push(String(error).slice(0, 300));
      return false;
    }
  }, 30_000);
  if (!answered) outage.duringProblems = [`Query gave no answer without receive-1: ${outage.queryErrors.at(-1) ?? ''}`];
  mark('query answered without receive-1');
  // Down for a while, and long enough for writer 1 to have retried: of two attempts after the
  // kill, at least the second went to a dead replica.
  await until(async () => {
    const [, receive] = await statsOf(RECEIVE_EXPORTER);
    return Date.now() / 1000 - killedAt >= MIN_OUTAGE_MS / 1000 && (receive?.requests ?? 0) - (atKill[1]?.requests ?? 0) >= 2;
  }, 30_000);

  mark('restart');
  await receive1.start();
  const readyAt = mark('receive-1 ready');
  await query.waitForEndpoints(3);
  await replayRound(sidecars);

  // Replication has resumed when the newest samples of every series are on both its replicas.
  const resumed = await until(async () => {
    const at = Date.now() / 1000 - INGEST_LAG_S;
    if (at - RECENT_S < readyAt || !(await holdCopies(undeduplicated, 2, at, RECENT_S))) return false;
    outage.resumedAt = at;
    return true;
  }, 60_000);
  if (!resumed) outage.resumedAt = Infinity;
  mark('replication resumed');
  await replayRound(sidecars);
  await sleep(2 * INTERVAL_MS);
  // The pods go away (each flushes a last export): no new batches, so the writers can drain.
  for (const sidecar of sidecars) await sidecar.stop();
  mark('traffic stopped');

  const drained = async (): Promise<boolean> => {
    const [receive, single] = await Promise.all([statsOf(RECEIVE_EXPORTER), statsOf(SINGLE_PROMETHEUS_EXPORTER)]);
    finalStats = receive.map((stats, i) => ({ receive: stats, single: single[i] as ExporterStats }));
    return finalStats.every(({ receive: r, single: s }) => r.queued === 0 && s.queued === 0 && r.sentPoints === s.sentPoints);
  };
  await until(drained, 60_000);
  mark('writers drained');

  evaluateAt = Date.now() / 1000;
  await until(() => holdCopies(thanos, 1, evaluateAt), 20_000);
  mark('query caught up');
  reference = await samplesAt(prometheus, evaluateAt);
  windowSeconds = Math.ceil(evaluateAt - runStart / 1000);
  // Both stores hold the same samples (asserted below), so every query is the same arithmetic on
  // the same numbers, rate() and increase() included: only the order in which the two engines
  // add floats may differ, a relative error far below 1e-9 for sums of a few thousand terms.
  comparer = new QueryComparer({ name: 'prometheus', prometheus }, [{ name: 'thanos', prometheus: thanos }], evaluateAt, 1e-9);
});

afterAll(async () => {
  for (const sidecar of sidecars) await sidecar.stop();
  await router?.close();
  for (const writer of writers) await writer.close();
  for (const replica of ring?.replicas ?? []) await replica.stop();
  await query?.stop();
  await prometheus?.close();
  await provider?.close();
  const retries = finalStats.map(({ receive, single }) => receive.requests - single.requests);
  process.stdout.write(
    `[thanosReceive] timeline (ms from start): ${JSON.stringify(timeline)}; ${sidecars.length} sidecars, ${replays} corpus replays; ` +
      `remote-write requests to Receive beyond those to Prometheus (failed attempts): writer 0 ${retries[0]}, writer 1 ${retries[1]}; ` +
      `requests per writer to Prometheus ${finalStats.map(({ single }) => single.requests).join(', ')}; ` +
      `Query errors before answering without receive-1: ${outage.queryErrors.length} (first: ${outage.queryErrors[0] ?? 'none'}); ` +
      `series answered then: ${outage.seriesAnswered}; samples a replica lacks from after replication resumed: ${singleCopyAfterResume.join(', ')}; ` +
      `out-of-order drops logged by the replicas: ${(ring?.replicas ?? []).map((replica) => outOfOrderDropped(replica.log())).join(', ')}\n`,
  );
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('before the kill, every sample was on both its replicas', () => {
  expect(outage.preKill?.copies.size).toBeGreaterThan(0);
  expect([...(outage.preKill?.copies ?? [])].filter(([, on]) => on.length !== 2).slice(0, 5)).toEqual([]);
  expect(outage.preKill?.foreign).toEqual([]);
  expect(outage.preKill?.onNoReplica).toBe(0);
  expect([...(outage.preKill?.missing.keys() ?? [])]).toEqual([]);
});

test('during the outage, Query (partial_response=false) answered every series, every sample up to the kill, from the two survivors', () => {
  expect(outage.duringProblems).toEqual([]);
  expect(outage.seriesAnswered).toBeGreaterThan(0);
});

test('writer 1 retried while its replica was down; writer 0 never had to (RF 2 acknowledges one copy)', () => {
  // The exporter makes the same requests to both stores, so extra requests to Receive are retries.
  const [writer0, writer1] = finalStats;
  expect((writer1?.receive.requests ?? 0) - (writer1?.single.requests ?? 0)).toBeGreaterThan(0);
  expect(writer0?.receive.requests).toBe(writer0?.single.requests);
});

test('nothing dropped: each writer delivered to Receive every point it delivered to Prometheus, and its queue is empty', () => {
  expect(finalStats).toHaveLength(2);
  for (const { receive, single } of finalStats) {
    expect({ queued: receive.queued, sendFailed: receive.sendFailedPoints, enqueueFailed: receive.enqueueFailedPoints }).toEqual({ queued: 0, sendFailed: 0, enqueueFailed: 0 });
    expect(single.sentPoints).toBeGreaterThan(0);
    expect(receive.sentPoints).toBe(single.sentPoints);
  }
});

test('zero samples lost: after the restart Query holds exactly the samples Prometheus holds, over the whole run', async () => {
  const other = await samplesAt(thanos, evaluateAt);
  process.stdout.write(`[thanosReceive] ${reference.size} series, ${sampleCount(reference)} samples in Prometheus; ${other.size} series, ${sampleCount(other)} samples in Query\n`);
  expect(sampleDifferences(reference, other)).toEqual([]);
  expect(sampleCount(reference)).toBeGreaterThan(0);
});

describe('replication is real (Query without dedup, after the restart caught up)', () => {
  let coverage: ReplicaCoverage;
  beforeAll(async () => {
    coverage = replicaCoverage(reference, await samplesAt(undeduplicated, evaluateAt), RECEIVE_REPLICA_LABEL);
    const perReplica = new Map<string, number>();
    for (const on of coverage.copies.values()) for (const replica of on) perReplica.set(replica, (perReplica.get(replica) ?? 0) + 1);
    const single = [...coverage.missing.values()].flat();
    const span = single.reduce((range, t) => ({ first: Math.min(range.first, t), last: Math.max(range.last, t) }), { first: Infinity, last: -Infinity });
    process.stdout.write(
      `[thanosReceive] series per replica ${JSON.stringify(Object.fromEntries(perReplica))}; samples with one copy: ${single.length} of ${sampleCount(reference)}, ` +
        `${JSON.stringify(Object.fromEntries([...coverage.missing].map(([replica, times]) => [replica, times.length])))}, from ${(span.first - outage.syncedAt).toFixed(1)} s to ${(span.last - outage.syncedAt).toFixed(1)} s after the pre-kill sync; replication resumed ${(outage.resumedAt - outage.syncedAt).toFixed(1)} s after it\n`,
    );
  });

  test('every series is on exactly 2 replicas, and all three replicas hold series', () => {
    expect([...coverage.copies.keys()].sort()).toEqual([...reference.keys()].sort());
    expect([...coverage.copies].filter(([, on]) => on.length !== 2).slice(0, 5)).toEqual([]);
    expect(new Set([...coverage.copies.values()].flat())).toEqual(new Set(['receive-0', 'receive-1', 'receive-2']));
  });

  test('every sample is on at least one replica, and no replica holds a sample Prometheus does not', () => {
    expect(coverage.onNoReplica).toBe(0);
    expect(coverage.foreign).toEqual([]);
  });

  test('no replica lost what it held before the kill (receive-1 replayed its WAL), and replication resumed after the restart', () => {
    const beforeKill = [...coverage.missing].flatMap(([replica, times]) => times.filter((t) => t <= outage.syncedAt).map((t) => `${replica} @${t}`));
    expect(beforeKill.slice(0, 10)).toEqual([]);
    expect(outage.resumedAt).toBeLessThan(Infinity);
  });

  test('outside the outage a replica lacks a sample only where it logged dropping it as out of order', () => {
    // With RF 2 a request is acknowledged once one copy is written; the forward of the second
    // copy runs on in a pool of workers, so two exports of one sidecar in quick succession (a
    // writer draining its backlog, a pod's last flush) can reach the second replica newest first,
    // and it drops the older one. Any other gap would be a copy lost.
    for (const [index, replica] of ring.replicas.entries()) {
      const outside = (coverage.missing.get(replica.name) ?? []).filter((t) => t > outage.resumedAt).length;
      singleCopyAfterResume[index] = outside;
      const dropped = outOfOrderDropped(replica.log());
      expect({ replica: replica.name, lacks: outside, droppedOutOfOrder: dropped, explained: outside <= dropped }).toMatchObject({ explained: true });
    }
  });
});

test('token totals per provider and type equal the corpus in both Query and Prometheus', async () => {
  const want = Object.fromEntries(expectedTokens(replays));
  for (const store of [prometheus, thanos]) {
    const have = await tokenTotals(store, evaluateAt);
    expect(Object.fromEntries(Object.keys(want).map((key) => [key, have.get(key)]))).toEqual(want);
  }
});

const queries = sidecarQueries(() => `${windowSeconds}s`);

describe('every dashboard query about the sidecars answers the same from Query as from Prometheus', () => {
  test('there are queries to compare, and most return data from Query', async () => {
    expect(queries.dashboards.length).toBeGreaterThan(20);
    const withData = await Promise.all(queries.dashboards.map(async ([, expr]) => (await thanos.query(expr(), evaluateAt)).length > 0));
    expect(withData.filter(Boolean).length).toBeGreaterThan(queries.dashboards.length * 0.8);
  });
  test.each(queries.dashboards)('%s', async (_name, expr) => {
    const concrete = expr();
    expect({ expr: concrete, problems: await comparer.compare(concrete) }).toEqual({ expr: concrete, problems: [] });
  });
});

describe('every alert signal about the sidecars answers the same from Query as from Prometheus', () => {
  test.each(queries.alerts)('%s', async (_name, signal) => {
    const concrete = signal();
    expect({ signal: concrete, problems: await comparer.compare(concrete) }).toEqual({ signal: concrete, problems: [] });
  });
});

test('the comparisons above compared real rates, and no store or collector logged lost samples', () => {
  expect(comparer.nonZeroRates).toBeGreaterThan(50);
  expect(dataLossLines(prometheus.log())).toEqual([]);
  for (const writer of [...writers, ...(router ? [router] : [])]) expect(dataLossLines(writer.log())).toEqual([]);
});
