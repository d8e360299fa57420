/**
 * What one benchmark run measured, and the table rows (with the targets) built from it.
 * Pure: the orchestrator fills BenchResults, everything shown is derived here.
 */
import type { SmapsRollup } from './procfs';
import { difference, median, ratio, summarize, type Summary } from './stats';
import type { StreamFigures } from './streamStats';
import { addedRow, valueRow, type Row } from './table';
import type { WrkResult } from './wrk';

/** `bare`: node:http server + undici pool and nothing else (bench/servers/bareForwarderMain), the floor of a Node forwarder. */
export const PATHS = ['direct', 'sidecar', 'nginx', 'bare'] as const;
export type PathName = (typeof PATHS)[number];

export interface JsonRun {
  path: PathName;
  connections: number;
  /** 0-based round (see ./rounds); each level has the same rounds for every path. */
  round: number;
  wrk: WrkResult;
  /**
   * CPU time of the process doing the work for this path per 1,000 requests, ms: the sidecar,
   * the nginx proxy, or (direct) the origin. The origin's own time is in every path.
   */
  cpuMsPer1k?: number;
  /** The kernel's part of that CPU time, 0..1. */
  cpuSystemShare?: number;
}

/** One round of the per-request timed 1-connection loop (../clients/timedLoop) on one path. */
export interface TimedLoopRound {
  path: PathName;
  round: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LargeAnswer {
  bytes: number;
  /** Peak RSS while passing the answer through, minus RSS just before, kB. */
  growthKb: Partial<Record<PathName, number>>;
}

/** CPU time the proxying process spent while its streams ran (rounds summed). */
export interface StreamCpu {
  cpuMs: number;
  /** SSE events relayed in that time. */
  events: number;
}

/** `/metrics` of a sidecar with 1,000 label sets, scraped back to back (../scrape.ts). */
export interface ScrapeFigures {
  labelSets: number;
  samples: number;
  /** One connection's latency through the sidecar with no scrapes. */
  loopP99Ms?: number;
  loopMaxMs?: number;
  /** Per format Prometheus may ask for. */
  formats: Array<{
    format: string;
    pageKiB: number;
    /** The sidecar's CPU per scrape, its idle CPU subtracted. */
    cpuMsPerScrape?: number;
    /** Main-thread CPU of a scrape right after a call to every label set (median). */
    cpuMsPerChangedScrape?: number;
    wallMsP50?: number;
    loopP99WhileScrapedMs?: number;
    loopMaxWhileScrapedMs?: number;
    scrapesDuringLoop: number;
  }>;
}

export interface BenchResults {
  meta: Record<string, string | number | boolean>;
  json: JsonRun[];
  /** 1 connection, each request timed by the client itself (cross-check of wrk's 1-connection figures). */
  timedLoops: TimedLoopRound[];
  /** Samples of every round pooled per path. */
  streams: Partial<Record<PathName, StreamFigures>>;
  /** Sidecar and nginx proxy only: direct's streams are served by the measuring process itself. */
  streamCpu: Partial<Record<PathName, StreamCpu>>;
  /** Client-side latency of single requests sent 100 ms apart, ms. */
  loneMs: Partial<Record<PathName, number[]>>;
  /** Main-thread CPU of the process serving each lone request (direct: the origin), ms per request. */
  loneCpuMs: Partial<Record<PathName, number[]>>;
  /** Time to first byte of streams with a ~200 KiB prompt, sent one at a time, ms. */
  longPromptTtfbMs: Partial<Record<PathName, number[]>>;
  /** Request to last byte of streams whose one event is 3 MiB in 1 KiB pieces, ms. */
  bigEventMs: Partial<Record<PathName, number[]>>;
  resources: {
    /** Spawn to ready, ms, per start. */
    startupMs: Partial<Record<PathName, number[]>>;
    idleRssKb: Partial<Record<PathName, number>>;
    /** RssAnon at idle: the part no other process shares, what each further pod adds (the rest is file pages). */
    idleAnonKb: Partial<Record<PathName, number>>;
    /** smaps_rollup at idle (PSS, private and shared pages), for the JSON. */
    idleSmaps: Partial<Record<PathName, SmapsRollup>>;
    peakRssKb: Partial<Record<PathName, number>>;
    /** Largest RssAnon sampled every 100 ms through the load (no kernel high-water mark exists for it). */
    peakAnonKb: Partial<Record<PathName, number>>;
    largeAnswers: LargeAnswer[];
  };
  exports: { requests: number; bytes: number };
  scrape?: ScrapeFigures;
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
  scrapeCpuMs: 5,
} as const;

const KB_PER_MB = 1024;

function percentOf(share: number | undefined): number | undefined {
  return share === undefined ? undefined : share * 100;
}

function jsonRuns(results: BenchResults, path: PathName, connections: number): JsonRun[] {
  return results.json.filter((run) => run.path === path && run.connections === connections);
}

/** The median over a path's rounds at one level: one noisy round moves it little. */
function jsonFigure(results: BenchResults, path: PathName, connections: number, pick: (run: JsonRun) => number | undefined): number | undefined {
  const values = jsonRuns(results, path, connections)
    .map(pick)
    .filter((value): value is number => value !== undefined);
  return median(values);
}

/** The largest amount `path` added over direct in any one round (same round, same minute). */
function worstRoundAdded(results: BenchResults, path: PathName, connections: number, pick: (run: JsonRun) => number): number | undefined {
  const directRuns = jsonRuns(results, 'direct', connections);
  let worst: number | undefined;
  for (const run of jsonRuns(results, path, connections)) {
    const direct = directRuns.find((other) => other.round === run.round);
    const added = difference(pick(run), direct === undefined ? undefined : pick(direct));
    if (added !== undefined && (worst === undefined || added > worst)) worst = added;
  }
  return worst;
}

function perPath<T>(pick: (path: PathName) => T | undefined): Partial<Record<PathName, T>> {
  return { direct: pick('direct'), sidecar: pick('sidecar'), nginx: pick('nginx'), bare: pick('bare') };
}

function jsonRows(results: BenchResults, connections: number, withThroughput: boolean, withLatency: boolean): Row[] {
  const section = `plain JSON, ${connections} connection${connections === 1 ? '' : 's'} (wrk)`;
  const latency = (key: 'p50' | 'p99') => perPath((path) => jsonFigure(results, path, connections, (run) => run.wrk.latencyMs[key]));
  const rows: Row[] = [];
  if (withThroughput) {
    const rps = perPath((path) => jsonFigure(results, path, connections, (run) => run.wrk.requestsPerSec));
    rows.push(valueRow(section, 'requests per second', 'req/s', rps, connections === 16 ? { op: '>=', value: TARGETS.rpsAt16 } : undefined));
  }
  rows.push(valueRow(section, 'latency p50', 'ms', latency('p50')), valueRow(section, 'latency p99', 'ms', latency('p99')));
  if (withLatency) {
    const p50Target = connections === 1 ? { op: '<=' as const, value: TARGETS.addedP50At1Ms } : undefined;
    const p99Target = connections === 1 ? { op: '<=' as const, value: TARGETS.addedP99At1Ms } : undefined;
    rows.push(addedRow(section, 'added latency p50', 'ms', latency('p50'), p50Target), addedRow(section, 'added latency p99', 'ms', latency('p99'), p99Target));
    const worstSidecar = worstRoundAdded(results, 'sidecar', connections, (run) => run.wrk.latencyMs.p99);
    const worstNginx = worstRoundAdded(results, 'nginx', connections, (run) => run.wrk.latencyMs.p99);
    const worstBare = worstRoundAdded(results, 'bare', connections, (run) => run.wrk.latencyMs.p99);
    rows.push({ section, label: 'added latency p99, worst round', unit: 'ms', sidecar: worstSidecar, nginx: worstNginx, bare: worstBare, vsNginx: ratio(worstSidecar, worstNginx), vsBare: ratio(worstSidecar, worstBare) });
  }
  return rows;
}

/** Same request, same connection count as wrk's 1-connection rows; medians over rounds; no target (those are wrk's). */
function timedLoopRows(results: BenchResults): Row[] {
  const section = 'plain JSON, timed per request at 1 connection (node:net client)';
  const figure = (pick: (round: TimedLoopRound) => number) => perPath((path) => median(results.timedLoops.filter((round) => round.path === path).map(pick)));
  const p50 = figure((round) => round.p50Ms);
  const p99 = figure((round) => round.p99Ms);
  return [
    valueRow(section, 'requests per second', 'req/s', figure((round) => round.requestsPerSec)),
    valueRow(section, 'latency p50', 'ms', p50),
    valueRow(section, 'latency p99', 'ms', p99),
    addedRow(section, 'added latency p50', 'ms', p50),
    addedRow(section, 'added latency p99', 'ms', p99),
  ];
}

function loneRows(results: BenchResults): Row[] {
  const section = 'plain JSON, lone requests 100 ms apart (node:http client)';
  const summaries = perPath((path) => summarize(results.loneMs[path] ?? []));
  const figure = (pick: (summary: Summary) => number) => perPath((path) => {
    const summary = summaries[path];
    return summary ? pick(summary) : undefined;
  });
  const p50 = figure((summary) => summary.p50);
  const p90 = figure((summary) => summary.p90);
  const cpu = perPath((path) => median(results.loneCpuMs[path] ?? []));
  return [
    valueRow(section, 'latency p50', 'ms', p50),
    valueRow(section, 'latency p90', 'ms', p90),
    addedRow(section, 'added latency p50', 'ms', p50),
    addedRow(section, 'added latency p90', 'ms', p90),
    valueRow(section, 'main-thread CPU per request p50 (direct: origin)', 'ms', cpu),
  ];
}

function longPromptRows(results: BenchResults): Row[] {
  const section = 'streaming, ~200 KiB prompt, one at a time 100 ms apart';
  const summaries = perPath((path) => summarize(results.longPromptTtfbMs[path] ?? []));
  const p50 = perPath((path) => summaries[path]?.p50);
  return [valueRow(section, 'time to first byte p50', 'ms', p50), addedRow(section, 'added time to first byte p50', 'ms', p50)];
}

function bigEventRows(results: BenchResults): Row[] {
  const section = 'streaming, one 3 MiB event in 1 KiB pieces, one at a time';
  const p50 = perPath((path) => summarize(results.bigEventMs[path] ?? [])?.p50);
  return [valueRow(section, 'time to last byte p50', 'ms', p50), addedRow(section, 'added time to last byte p50', 'ms', p50)];
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
  const section = 'resources (sidecar process vs nginx proxy and bare Node forwarder processes)';
  const { resources } = results;
  const mb = (kb: number | undefined): number | undefined => (kb === undefined ? undefined : kb / KB_PER_MB);
  const startup = perPath((path) => median(resources.startupMs[path] ?? []));
  const cpu = perPath((path) => jsonFigure(results, path, 16, (run) => run.cpuMsPer1k));
  const streamCpu = (path: PathName): number | undefined => {
    const measured = results.streamCpu[path];
    return measured && measured.events > 0 ? (measured.cpuMs / measured.events) * 1000 : undefined;
  };
  const rows: Row[] = [
    valueRow(section, 'startup to ready (median)', 'ms', { sidecar: startup.sidecar, nginx: startup.nginx }, { op: '<=', value: TARGETS.startupMs }),
    valueRow(section, 'RSS idle (start + 2 s)', 'MiB', { sidecar: mb(resources.idleRssKb.sidecar), nginx: mb(resources.idleRssKb.nginx), bare: mb(resources.idleRssKb.bare) }, { op: '<=', value: TARGETS.idleRssMb }),
    valueRow(section, 'anonymous memory idle (RssAnon: what each further pod adds)', 'MiB', { sidecar: mb(resources.idleAnonKb.sidecar), nginx: mb(resources.idleAnonKb.nginx), bare: mb(resources.idleAnonKb.bare) }),
    valueRow(section, 'RSS peak through the load (VmHWM)', 'MiB', { sidecar: mb(resources.peakRssKb.sidecar), nginx: mb(resources.peakRssKb.nginx), bare: mb(resources.peakRssKb.bare) }, { op: '<=', value: TARGETS.peakRssMb }),
    valueRow(section, 'anonymous memory peak through the load (sampled)', 'MiB', { sidecar: mb(resources.peakAnonKb.sidecar), nginx: mb(resources.peakAnonKb.nginx), bare: mb(resources.peakAnonKb.bare) }),
    valueRow(section, 'CPU per 1,000 requests at 16 conns (direct: origin)', 'ms', cpu),
    valueRow(section, 'of which kernel (system) time', '%', perPath((path) => percentOf(jsonFigure(results, path, 16, (run) => run.cpuSystemShare)))),
    valueRow(section, 'CPU per 1,000 stream events relayed', 'ms', { sidecar: streamCpu('sidecar'), nginx: streamCpu('nginx'), bare: streamCpu('bare') }),
  ];
  for (const answer of resources.largeAnswers) {
    const size = answer.bytes >= 1024 * 1024 ? `${Math.round(answer.bytes / (1024 * 1024))} MiB` : `${Math.round(answer.bytes / 1024)} KiB`;
    rows.push(valueRow(section, `RSS growth passing a ${size} answer`, 'MiB', { sidecar: mb(answer.growthKb.sidecar), nginx: mb(answer.growthKb.nginx) }));
  }
  return rows;
}

function scrapeRows(results: BenchResults): Row[] {
  const scrape = results.scrape;
  if (scrape === undefined) return [];
  const section = `/metrics with ${scrape.labelSets} label sets (${scrape.samples} samples), scraped back to back`;
  const rows: Row[] = [
    valueRow(section, '1-connection latency p99, no scrapes', 'ms', { sidecar: scrape.loopP99Ms }),
    valueRow(section, '1-connection latency max, no scrapes', 'ms', { sidecar: scrape.loopMaxMs }),
  ];
  // Every format's CPU rows carry the target: a Prometheus without native histograms asks for text.
  const target = { op: '<=' as const, value: TARGETS.scrapeCpuMs };
  for (const f of scrape.formats) {
    rows.push(
      valueRow(section, `${f.format}: page size`, 'KiB', { sidecar: f.pageKiB }),
      valueRow(section, `${f.format}: sidecar CPU per scrape, series unchanged since the last`, 'ms', { sidecar: f.cpuMsPerScrape }, target),
      valueRow(section, `${f.format}: main-thread CPU per scrape, every series changed since the last`, 'ms', { sidecar: f.cpuMsPerChangedScrape }, target),
      valueRow(section, `${f.format}: scrape wall time p50`, 'ms', { sidecar: f.wallMsP50 }),
      valueRow(section, `${f.format}: 1-connection latency p99, ${f.scrapesDuringLoop} scrapes alongside`, 'ms', { sidecar: f.loopP99WhileScrapedMs }),
      valueRow(section, `${f.format}: 1-connection latency max, scrapes alongside`, 'ms', { sidecar: f.loopMaxWhileScrapedMs }),
    );
  }
  return rows;
}

export function buildRows(results: BenchResults): Row[] {
  return [...jsonRows(results, 1, false, true), ...timedLoopRows(results), ...jsonRows(results, 16, true, true), ...jsonRows(results, 64, true, false), ...loneRows(results), ...streamRows(results), ...longPromptRows(results), ...bigEventRows(results), ...resourceRows(results), ...scrapeRows(results)];
}
