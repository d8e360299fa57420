/**
 * What one benchmark run measured, and the table rows (with the targets) built from it.
 * Pure: the orchestrator fills BenchResults, everything shown is derived here.
 */
import { median } from './stats';
import type { StreamFigures } from './streamStats';
import { addedRow, valueRow, type Row } from './table';
import type { WrkResult } from './wrk';

export const PATHS = ['direct', 'sidecar', 'nginx'] as const;
export type PathName = (typeof PATHS)[number];

export interface JsonRun {
  path: PathName;
  connections: number;
  wrk: WrkResult;
  /**
   * CPU time of the process doing the work for this path per 1,000 requests, ms: the sidecar,
   * the nginx proxy, or (direct) the origin. The origin's own time is in every path.
   */
  cpuMsPer1k?: number;
  /** The kernel's part of that CPU time, 0..1. */
  cpuSystemShare?: number;
}

export interface LargeAnswer {
  bytes: number;
  /** Peak RSS while passing the answer through, minus RSS just before, kB. */
  growthKb: Partial<Record<PathName, number>>;
}

export interface BenchResults {
  meta: Record<string, string | number | boolean>;
  json: JsonRun[];
  streams: Partial<Record<PathName, StreamFigures>>;
  resources: {
    /** Spawn to ready, ms, per start. */
    startupMs: Partial<Record<PathName, number[]>>;
    idleRssKb: Partial<Record<PathName, number>>;
    peakRssKb: Partial<Record<PathName, number>>;
    largeAnswers: LargeAnswer[];
  };
  exports: { requests: number; bytes: number };
  problems: string[];
}

/** The targets (metrics on, exporting). */
export const TARGETS = {
  rpsAt16: 8_000,
  addedP50At1Ms: 0.25,
  addedP99At1Ms: 1,
  addedTtfbMs: 1,
  addedGapP99Ms: 1,
  /** "No chunk waits for the next": well below twice the 20 ms pacing. */
  maxGapMs: 40,
  idleRssMb: 70,
  peakRssMb: 110,
  startupMs: 300,
} as const;

const KB_PER_MB = 1024;

function percentOf(share: number | undefined): number | undefined {
  return share === undefined ? undefined : share * 100;
}

function jsonRun(results: BenchResults, path: PathName, connections: number): JsonRun | undefined {
  return results.json.find((run) => run.path === path && run.connections === connections);
}

function perPath<T>(pick: (path: PathName) => T | undefined): { direct?: T; sidecar?: T; nginx?: T } {
  return { direct: pick('direct'), sidecar: pick('sidecar'), nginx: pick('nginx') };
}

function jsonRows(results: BenchResults, connections: number, withThroughput: boolean, withLatency: boolean): Row[] {
  const section = `plain JSON, ${connections} connection${connections === 1 ? '' : 's'} (wrk)`;
  const latency = (key: 'p50' | 'p99') => perPath((path) => jsonRun(results, path, connections)?.wrk.latencyMs[key]);
  const rows: Row[] = [];
  if (withThroughput) {
    const rps = perPath((path) => jsonRun(results, path, connections)?.wrk.requestsPerSec);
    rows.push(valueRow(section, 'requests per second', 'req/s', rps, connections === 16 ? { op: '>=', value: TARGETS.rpsAt16 } : undefined));
  }
  rows.push(valueRow(section, 'latency p50', 'ms', latency('p50')), valueRow(section, 'latency p99', 'ms', latency('p99')));
  if (withLatency) {
    const p50Target = connections === 1 ? { op: '<=' as const, value: TARGETS.addedP50At1Ms } : undefined;
    const p99Target = connections === 1 ? { op: '<=' as const, value: TARGETS.addedP99At1Ms } : undefined;
    rows.push(addedRow(section, 'added latency p50', 'ms', latency('p50'), p50Target), addedRow(section, 'added latency p99', 'ms', latency('p99'), p99Target));
  }
  return rows;
}

function streamRows(results: BenchResults): Row[] {
  const any = results.streams.sidecar ?? results.streams.direct;
  const section = `streaming, 64 chunks 20 ms apart (${any?.streams ?? 0} streams per path)`;
  const figure = (pick: (figures: StreamFigures) => number | undefined) => perPath((path) => {
    const figures = results.streams[path];
    return figures ? pick(figures) : undefined;
  });
  const ttfbP50 = figure((f) => f.ttfbMs?.p50);
  const ttfbP99 = figure((f) => f.ttfbMs?.p99);
  const gapP50 = figure((f) => f.gapMs?.p50);
  const gapP99 = figure((f) => f.gapMs?.p99);
  return [
    valueRow(section, 'time to first byte p50', 'ms', ttfbP50),
    valueRow(section, 'time to first byte p99', 'ms', ttfbP99),
    addedRow(section, 'added time to first byte p50', 'ms', ttfbP50, { op: '<=', value: TARGETS.addedTtfbMs }),
    addedRow(section, 'added time to first byte p99', 'ms', ttfbP99),
    valueRow(section, 'inter-chunk gap p50', 'ms', gapP50),
    valueRow(section, 'inter-chunk gap p99', 'ms', gapP99),
    addedRow(section, 'added inter-chunk gap p50', 'ms', gapP50),
    addedRow(section, 'added inter-chunk gap p99', 'ms', gapP99, { op: '<=', value: TARGETS.addedGapP99Ms }),
    valueRow(section, 'inter-chunk gap max', 'ms', figure((f) => f.gapMs?.max), { op: '<=', value: TARGETS.maxGapMs }),
    valueRow(section, 'chunk delivery delay p50 (arrival - sent)', 'ms', figure((f) => f.deliveryMs?.p50)),
    valueRow(section, 'chunk delivery delay p99', 'ms', figure((f) => f.deliveryMs?.p99)),
    valueRow(section, 'chunk delivery delay max', 'ms', figure((f) => f.deliveryMs?.max)),
  ];
}

function resourceRows(results: BenchResults): Row[] {
  const section = 'resources (sidecar process vs nginx proxy process)';
  const { resources } = results;
  const mb = (kb: number | undefined): number | undefined => (kb === undefined ? undefined : kb / KB_PER_MB);
  const startup = perPath((path) => median(resources.startupMs[path] ?? []));
  const cpu = perPath((path) => jsonRun(results, path, 16)?.cpuMsPer1k);
  const rows: Row[] = [
    valueRow(section, 'startup to ready (median)', 'ms', { sidecar: startup.sidecar, nginx: startup.nginx }, { op: '<=', value: TARGETS.startupMs }),
    valueRow(section, 'RSS idle (start + 2 s)', 'MiB', { sidecar: mb(resources.idleRssKb.sidecar), nginx: mb(resources.idleRssKb.nginx) }, { op: '<=', value: TARGETS.idleRssMb }),
    valueRow(section, 'RSS peak under load', 'MiB', { sidecar: mb(resources.peakRssKb.sidecar), nginx: mb(resources.peakRssKb.nginx) }, { op: '<=', value: TARGETS.peakRssMb }),
    valueRow(section, 'CPU per 1,000 requests at 16 conns (direct: origin)', 'ms', cpu),
    valueRow(section, 'of which kernel (system) time', '%', perPath((path) => percentOf(jsonRun(results, path, 16)?.cpuSystemShare))),
  ];
  for (const answer of resources.largeAnswers) {
    const size = answer.bytes >= 1024 * 1024 ? `${Math.round(answer.bytes / (1024 * 1024))} MiB` : `${Math.round(answer.bytes / 1024)} KiB`;
    rows.push(valueRow(section, `RSS growth passing a ${size} answer`, 'MiB', { sidecar: mb(answer.growthKb.sidecar), nginx: mb(answer.growthKb.nginx) }));
  }
  return rows;
}

export function buildRows(results: BenchResults): Row[] {
  return [...jsonRows(results, 1, false, true), ...jsonRows(results, 16, true, true), ...jsonRows(results, 64, true, false), ...streamRows(results), ...resourceRows(results)];
}
