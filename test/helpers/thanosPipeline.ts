/**
 * The long-term-store pipeline of issue 26 on loopback, as the tests compare it with the
 * single-Prometheus path: writer collectors that remote-write the same batches to Thanos Receive
 * and to one Prometheus, Thanos Query behind the interface the comparison helpers take, raw
 * samples of every series for a sample-by-sample comparison, and each writer's exporter counters.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { COLLECTOR } from '../../src/telemetry/collectorNames';
import { sampleSum, type RunningCollector } from './otelcol';
import type { MatrixResult, QueryApi, QueryResult } from './prometheus';
import type { QueryParams, ThanosQuery } from './thanos';

/** The shipped exporter; in these tests it writes to Thanos Receive. */
export const RECEIVE_EXPORTER = 'prometheus_remote_write';
/** Its copy that writes the same batches to one Prometheus. */
export const SINGLE_PROMETHEUS_EXPORTER = 'prometheus_remote_write/single';
/** The label Receive stamps on every series (its tenant); one Prometheus has no such label. */
export const TENANT_LABEL = 'tenant_id';
/**
 * Remote-write requests the exporter made, successful or not (contrib prometheusremotewrite's own
 * telemetry; not in collectorNames.ts, which lists what dashboards and alerts use).
 */
export const PRW_SENT_BATCHES = 'otelcol_exporter_prometheusremotewrite_sent_batches';

/**
 * The text of a writer config whose metrics pipeline also exports through a copy of
 * `prometheus_remote_write` (same queue, retry and translation settings) pointed at `url`.
 */
export function withSecondRemoteWrite(configText: string, url: string): string {
  const document = parseDocument(configText);
  const shipped = document.getIn(['exporters', RECEIVE_EXPORTER], true);
  if (!isMap(shipped)) throw new Error(`the writer config has no exporters.${RECEIVE_EXPORTER} map`);
  const copy = shipped.clone();
  // The shipped node carries the anchor the native exporter merges from; the copy must not redefine it.
  copy.anchor = undefined;
  document.setIn(['exporters', SINGLE_PROMETHEUS_EXPORTER], copy);
  document.setIn(['exporters', SINGLE_PROMETHEUS_EXPORTER, 'http', 'endpoint'], url);
  const exporters = document.getIn(['service', 'pipelines', 'metrics', 'exporters'], true);
  if (!isSeq(exporters)) throw new Error('the writer config has no service.pipelines.metrics.exporters list');
  exporters.add(document.createNode(SINGLE_PROMETHEUS_EXPORTER));
  return document.toString();
}

/** Writes withSecondRemoteWrite(text of `source`) into `dir`; returns the file, for startCollector's `config`. */
export function writeDualConfig(dir: string, sourceText: string, prometheusRemoteWriteUrl: string): string {
  const file = path.join(dir, 'collector-config.yaml');
  writeFileSync(file, withSecondRemoteWrite(sourceText, prometheusRemoteWriteUrl));
  return file;
}

function withoutTenant<T extends { metric: Record<string, string> }>(result: T): T {
  const { [TENANT_LABEL]: _tenant, ...metric } = result.metric;
  return { ...result, metric };
}

/**
 * Thanos Query through the interface the comparison helpers read, with `params` on every query
 * and Receive's tenant label removed from every answer.
 */
export function queryAsPrometheus(query: ThanosQuery, params: QueryParams = {}): QueryApi {
  return {
    query: async (expr: string, timeSeconds?: number): Promise<QueryResult[]> =>
      (await query.instant(expr, timeSeconds ?? Date.now() / 1000, params)).map(withoutTenant),
    samples: async (rangeSelector: string, timeSeconds?: number): Promise<MatrixResult[]> =>
      (await query.samples(rangeSelector, timeSeconds ?? Date.now() / 1000, params)).map(withoutTenant),
  };
}

/** Raw samples by series (its labels, sorted, as the key), e.g. of `{__name__=~".+"}[2m]`. */
export type SeriesSamples = Map<string, Array<[number, string]>>;

export function seriesKey(metric: Record<string, string>): string {
  return JSON.stringify(Object.entries(metric).sort(([a], [b]) => a.localeCompare(b)));
}

export async function rawSamples(store: QueryApi, rangeSelector: string, timeSeconds: number): Promise<SeriesSamples> {
  const found: SeriesSamples = new Map();
  for (const series of await store.samples(rangeSelector, timeSeconds)) {
    const key = seriesKey(series.metric);
    if (found.has(key)) throw new Error(`two series with the labels ${key}`);
    found.set(key, series.values);
  }
  return found;
}

/** The labels of a series from its key. */
export function labelsOf(key: string): Record<string, string> {
  return Object.fromEntries(JSON.parse(key) as Array<[string, string]>);
}

/** How the copies of each series on Receive replicas (a dedup=false answer) cover the reference samples. */
export interface ReplicaCoverage {
  /** Series (key without the replica label) -> the replicas holding a copy. */
  copies: Map<string, string[]>;
  /** Replica -> timestamps (seconds) of reference samples missing from its copy of a series. */
  missing: Map<string, number[]>;
  /** Reference samples on no replica at all. */
  onNoReplica: number;
  /** Samples a replica holds that the reference does not (another value, or no such sample), at most 10 lines. */
  foreign: string[];
}

export function replicaCoverage(reference: SeriesSamples, perReplica: SeriesSamples, replicaLabel: string): ReplicaCoverage {
  const copies = new Map<string, string[]>();
  const missing = new Map<string, number[]>();
  const held = new Map<string, Set<number>>();
  const foreign: string[] = [];
  for (const [key, values] of perReplica) {
    const { [replicaLabel]: replica = '', ...labels } = labelsOf(key);
    const series = seriesKey(labels);
    copies.set(series, [...(copies.get(series) ?? []), replica]);
    const expected = new Map((reference.get(series) ?? []).map(([t, v]) => [t, v]));
    const times = new Set<number>();
    for (const [t, v] of values) {
      times.add(t);
      if (expected.get(t) !== v && foreign.length < 10) foreign.push(`${replica} ${series} @${t}: ${v}, reference ${expected.get(t) ?? 'none'}`);
    }
    const lacking = [...expected.keys()].filter((t) => !times.has(t));
    if (lacking.length > 0) missing.set(replica, [...(missing.get(replica) ?? []), ...lacking]);
    const union = held.get(series) ?? new Set<number>();
    for (const t of times) union.add(t);
    held.set(series, union);
  }
  let onNoReplica = 0;
  for (const [series, values] of reference) onNoReplica += values.filter(([t]) => !held.get(series)?.has(t)).length;
  return { copies, missing, onNoReplica, foreign };
}

/** Number of samples over all series. */
export function sampleCount(samples: SeriesSamples): number {
  return [...samples.values()].reduce((total, values) => total + values.length, 0);
}

/**
 * How `other` differs from `reference`, one line per series (empty when they hold the same samples
 * at the same timestamps), at most `limit` lines. Timestamps after `until` are ignored on both sides.
 */
export function sampleDifferences(reference: SeriesSamples, other: SeriesSamples, until = Infinity, limit = 10): string[] {
  const upTo = (values: Array<[number, string]> | undefined): string => JSON.stringify((values ?? []).filter(([t]) => t <= until));
  const problems: string[] = [];
  for (const key of new Set([...reference.keys(), ...other.keys()])) {
    const ours = upTo(reference.get(key));
    const theirs = upTo(other.get(key));
    if (ours !== theirs) problems.push(`${key}: reference ${ours.slice(0, 300)}, other ${theirs.slice(0, 300)}`);
  }
  return problems.length > limit ? [...problems.slice(0, limit), `... and ${problems.length - limit} more series`] : problems;
}

/** Samples a Receive replica logged dropping as out of order (its warning carries the count). */
export function outOfOrderDropped(receiveLog: string): number {
  let dropped = 0;
  for (const match of receiveLog.matchAll(/msg="Error on ingesting out-of-order samples" numDropped=(\d+)/g)) dropped += Number(match[1]);
  return dropped;
}

/** One exporter's counters in a collector's own metrics. */
export interface ExporterStats {
  queued: number;
  sentPoints: number;
  sendFailedPoints: number;
  enqueueFailedPoints: number;
  /** Remote-write requests made, retries included. */
  requests: number;
}

export async function exporterStats(collector: RunningCollector, exporter: string): Promise<ExporterStats> {
  const text = await collector.selfMetrics();
  const value = (name: string, labels: Record<string, string>): number => sampleSum(text, name, labels) ?? 0;
  const byExporter = { exporter };
  return {
    queued: value(COLLECTOR.exporterQueueSize, byExporter),
    sentPoints: value(COLLECTOR.exporterSent, byExporter),
    sendFailedPoints: value(COLLECTOR.exporterSendFailed, byExporter),
    enqueueFailedPoints: value(COLLECTOR.exporterEnqueueFailed, byExporter),
    requests: value(PRW_SENT_BATCHES, byExporter),
  };
}
