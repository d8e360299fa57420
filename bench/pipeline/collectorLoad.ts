/**
 * Step 3 of the pipeline bench: what the collector tiers cost per point. A captured sidecar export
 * is replayed as many pods at a few fixed rates into (a) the shipped writer alone and (b) the
 * shipped router in front of it; each tier's CPU time comes from /proc/<pid>/stat over the
 * measured window (other work on the machine does not count), its points from the collector's
 * own accepted-points counter. The writer remote-writes to a sink that counts bytes and answers
 * 204, so no Prometheus competes for the two cores.
 */
import { sampleSum, startCollector, ROUTER_CONFIG, WRITER_CONFIG, type RunningCollector } from '../../test/helpers/otelcol';
import { COLLECTOR } from '../../src/telemetry/collectorNames';
import { cpuMsPer1kPoints, leastSquares } from '../lib/capacityModel';
import type { ExportTemplate } from '../lib/otlpWire';
import type { TierFigures, TierLevel } from '../lib/pipelineResults';
import { clockTicksPerSecond, readCpuTicks, RssSampler } from '../lib/procfs';
import { startCountingProxy } from './countingProxy';
import { replayExports } from './replay';

/** Each synthetic pod exports this often: every pod is seen several times per level. */
const POD_INTERVAL_S = 5;
const WARM_UP_MS = 3_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function acceptedPoints(collector: RunningCollector): Promise<number> {
  return sampleSum(await collector.selfMetrics(), COLLECTOR.receiverAccepted) ?? 0;
}

async function refusedOrFailed(collector: RunningCollector): Promise<number> {
  const text = await collector.selfMetrics();
  return [COLLECTOR.receiverRefused, COLLECTOR.receiverFailed, COLLECTOR.exporterSendFailed, COLLECTOR.exporterEnqueueFailed].reduce((sum, name) => sum + (sampleSum(text, name) ?? 0), 0);
}

function cpuMs(pid: number | undefined): number {
  const ticks = pid === undefined ? undefined : readCpuTicks(pid);
  if (ticks === undefined) throw new Error(`cannot read the CPU time of process ${pid}`);
  return (ticks.ticks / clockTicksPerSecond()) * 1000;
}

async function runLevel(
  entry: RunningCollector,
  processes: Record<string, RunningCollector>,
  template: ExportTemplate,
  targetPointsPerS: number,
  seconds: number,
  sinkBytes: () => number,
): Promise<TierLevel> {
  const sendsPerSecond = targetPointsPerS / template.layout.points;
  const pods = Math.max(1, Math.round(sendsPerSecond * POD_INTERVAL_S));
  const load = replayExports({ url: `${entry.otlpHttpUrl}/v1/metrics`, template, pods, sendsPerSecond, durationMs: WARM_UP_MS + seconds * 1000 });
  await sleep(WARM_UP_MS);
  const samplers = Object.fromEntries(Object.entries(processes).map(([name, collector]) => [name, new RssSampler(collector.pid() as number, 250).start()]));
  const before = { cpu: Object.fromEntries(Object.entries(processes).map(([name, c]) => [name, cpuMs(c.pid())])), points: await acceptedPoints(entry), bytes: sinkBytes(), at: performance.now() };
  await sleep(seconds * 1000);
  const after = { cpu: Object.fromEntries(Object.entries(processes).map(([name, c]) => [name, cpuMs(c.pid())])), points: await acceptedPoints(entry), bytes: sinkBytes(), at: performance.now() };
  const result = await load;
  const windowS = (after.at - before.at) / 1000;
  const points = after.points - before.points;
  const millicores: Record<string, number> = {};
  const perPoint: Record<string, number | undefined> = {};
  const peakRssMiB: Record<string, number> = {};
  for (const name of Object.keys(processes)) {
    const used = (after.cpu[name] as number) - (before.cpu[name] as number);
    millicores[name] = used / windowS;
    perPoint[name] = cpuMsPer1kPoints(used, points);
    peakRssMiB[name] = (samplers[name] as RssSampler).stop().peakKb / 1024;
  }
  return {
    targetPointsPerS,
    pointsPerS: points / windowS,
    pods,
    millicores,
    cpuMsPer1kPoints: perPoint,
    peakRssMiB,
    remoteWriteBytesPerS: (after.bytes - before.bytes) / windowS,
    failedSends: result.failed,
    skippedSends: result.skipped,
  };
}

function fitLevels(levels: readonly TierLevel[]): TierFigures['fit'] {
  const names = Object.keys(levels[0]?.millicores ?? {});
  return Object.fromEntries(
    names.map((name) => {
      const line = leastSquares(levels.map((level) => ({ x: level.pointsPerS / 1000, y: level.millicores[name] as number })));
      return [name, { idleMillicores: line.intercept, cpuMsPer1kPoints: line.slope }];
    }),
  );
}

export async function measureCollectorCpu(options: {
  template: ExportTemplate;
  levelsPointsPerS: readonly number[];
  seconds: number;
  log: (message: string) => void;
  problems: string[];
}): Promise<TierFigures[]> {
  const stoppers: Array<() => Promise<unknown>> = [];
  try {
    const sink = await startCountingProxy({});
    stoppers.push(() => sink.close());
    const writer = await startCollector({ config: WRITER_CONFIG, remoteWriteUrl: `${sink.url}/api/v1/write` });
    stoppers.push(() => writer.close());
    const router = await startCollector({ config: ROUTER_CONFIG, writers: [writer.otlpGrpcAddress] });
    stoppers.push(() => router.close());
    const tiers: Array<{ name: string; entry: RunningCollector; processes: Record<string, RunningCollector> }> = [
      { name: 'writer alone', entry: writer, processes: { writer } },
      { name: 'router in front of the writer', entry: router, processes: { router, writer } },
    ];
    const figures: TierFigures[] = [];
    for (const tier of tiers) {
      const levels: TierLevel[] = [];
      for (const target of options.levelsPointsPerS) {
        const level = await runLevel(tier.entry, tier.processes, options.template, target, options.seconds, () => sink.totals().bytes);
        levels.push(level);
        options.log(
          `collector ${tier.name}: ${level.pointsPerS.toFixed(0)} points/s (target ${target}, ${level.pods} pods): ${Object.entries(level.millicores)
            .map(([name, mc]) => `${name} ${mc.toFixed(0)} millicores, ${level.cpuMsPer1kPoints[name]?.toFixed(1)} ms per 1,000 points, peak RSS ${level.peakRssMiB[name]?.toFixed(0)} MiB`)
            .join('; ')}`,
        );
        if (level.failedSends > 0 || level.skippedSends > 0) options.problems.push(`collector ${tier.name} at ${target} points/s: ${level.failedSends} sends failed, ${level.skippedSends} skipped`);
      }
      figures.push({ name: tier.name, levels, fit: fitLevels(levels) });
    }
    for (const collector of [router, writer]) {
      const lost = await refusedOrFailed(collector);
      if (lost > 0) options.problems.push(`a collector refused or failed ${lost} points during the CPU measurement`);
    }
    return figures;
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  }
}
