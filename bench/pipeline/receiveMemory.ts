/**
 * Step 4 of the pipeline bench: Thanos Receive's memory per active series. One Receive (a ring of
 * one, replication factor 1) takes remote write from the shipped writer collector, which is fed
 * a captured sidecar export replayed as enough pods for each target series count, a few samples
 * per series. At each count, after a forced garbage collection, its RSS and Go heap in use are
 * read; bytes per series is the least-squares slope over the counts (what the process holds
 * regardless of series is not in it). Remote write comes from the collector, so no snappy encoder
 * is needed here and the series have exactly the labels sidecars' series have.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sampleSum, startCollector, WRITER_CONFIG } from '../../test/helpers/otelcol';
import { startReceiveRing, type ThanosProcess } from '../../test/helpers/thanos';
import { leastSquares } from '../lib/capacityModel';
import type { ExportTemplate } from '../lib/otlpWire';
import type { ReceiveFigures, ReceiveReading } from '../lib/pipelineResults';
import { readMemory } from '../lib/procfs';
import { sendEachPod } from './replay';

/** Samples per series: each pod's export sent this many times. */
const ROUNDS = 3;
const SENDS_PER_SECOND = 40;
const SETTLE_TIMEOUT_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function selfMetrics(receive: ThanosProcess): Promise<string> {
  return (await fetch(`${receive.httpUrl}/metrics`)).text();
}

/** After a garbage collection (pprof's gc=1), so the heap holds what is live. */
async function read(receive: ThanosProcess, targetSeries: number, pods: number): Promise<ReceiveReading> {
  await (await fetch(`${receive.httpUrl}/debug/pprof/heap?gc=1`)).arrayBuffer();
  const text = await selfMetrics(receive);
  const rss = readMemory(receive.child().pid)?.rssKb;
  if (rss === undefined) throw new Error('cannot read the Receive process memory');
  return {
    targetSeries,
    pods,
    headSeries: sampleSum(text, 'prometheus_tsdb_head_series') ?? 0,
    heapInuseBytes: sampleSum(text, 'go_memstats_heap_inuse_bytes') ?? 0,
    rssBytes: rss * 1024,
  };
}

/** Waits until the Receive's head holds `series` series; bounded. */
async function waitForSeries(receive: ThanosProcess, series: number): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const head = sampleSum(await selfMetrics(receive), 'prometheus_tsdb_head_series') ?? 0;
    if (head >= series) return;
    if (Date.now() > deadline) throw new Error(`Receive holds ${head} of ${series} series after ${SETTLE_TIMEOUT_MS} ms`);
    await sleep(500);
  }
}

export async function measureReceiveMemory(options: {
  template: ExportTemplate;
  seriesPerPod: number;
  targets: readonly number[];
  log: (message: string) => void;
  problems: string[];
}): Promise<ReceiveFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-capacity-receive-'));
  const stoppers: Array<() => Promise<unknown>> = [];
  try {
    const ring = await startReceiveRing({ dir, count: 1, replicationFactor: 1 });
    const receive = ring.replicas[0] as ThanosProcess;
    stoppers.push(() => receive.stop());
    const writer = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: ring.remoteWriteUrl(0) });
    stoppers.push(() => writer.close());
    const idle = await read(receive, 0, 0);
    const readings: ReceiveReading[] = [];
    let pods = 0;
    for (const target of options.targets) {
      const needed = Math.ceil(target / options.seriesPerPod);
      const sent = await sendEachPod({ url: `${writer.otlpHttpUrl}/v1/metrics`, template: options.template, firstPod: pods, pods: needed - pods, sendsPerSecond: SENDS_PER_SECOND, rounds: ROUNDS });
      if (sent.failed > 0 || sent.skipped > 0) options.problems.push(`Receive load: ${sent.failed} exports failed, ${sent.skipped} skipped ${JSON.stringify(sent.problems)}`);
      pods = needed;
      await waitForSeries(receive, pods * options.seriesPerPod);
      const reading = await read(receive, target, pods);
      if (reading.headSeries !== pods * options.seriesPerPod) options.problems.push(`Receive holds ${reading.headSeries} series for ${pods} pods of ${options.seriesPerPod}`);
      readings.push(reading);
      options.log(`Receive with ${reading.headSeries} series (${pods} pods): heap in use ${(reading.heapInuseBytes / 2 ** 20).toFixed(0)} MiB, RSS ${(reading.rssBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    const slope = (pick: (r: ReceiveReading) => number): number | undefined =>
      readings.length < 2 ? undefined : leastSquares(readings.map((r) => ({ x: r.headSeries, y: pick(r) }))).slope;
    return { seriesPerPod: options.seriesPerPod, idle, readings, heapBytesPerSeries: slope((r) => r.heapInuseBytes), rssBytesPerSeries: slope((r) => r.rssBytes) };
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
