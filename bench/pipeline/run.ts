/**
 * `make bench ARGS=--pipeline`: what the metrics pipeline costs per pod, with real processes on
 * loopback (the sidecar, the shipped collector configs on our collector build, Prometheus and
 * Thanos Receive as `make test` builds them). The figures behind docs/scaling.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectorBinary } from '../../test/helpers/otelcol';
import { PROMETHEUS_VERSION, requirePrometheus } from '../../test/helpers/prometheus';
import { requireThanos, THANOS_VERSION } from '../../test/helpers/thanos';
import { DEFAULT_EXPORT_INTERVAL_S, fitSeriesModel, shapeLabel, type SeriesShape } from '../lib/capacityModel';
import type { PipelineResults } from '../lib/pipelineResults';
import { sidecarEntry } from '../tools';
import { measureCollectorCpu } from './collectorLoad';
import { measureReceiveMemory } from './receiveMemory';
import { BENCH_EXPORT_INTERVAL_MS, measureSeriesPerPod } from './seriesPerPod';

export const SHAPES: readonly SeriesShape[] = [
  { models: 1, tenants: 1, operations: 1 },
  { models: 4, tenants: 4, operations: 2 },
  { models: 10, tenants: 10, operations: 3 },
];
/** The shape replayed as many pods for the collector and Receive: a pod of several models, tenants and operations. */
const REPLAYED: SeriesShape = { models: 4, tenants: 4, operations: 2 };
const COLLECTOR_LEVELS_POINTS_PER_S = [2_000, 5_000, 10_000];
const RECEIVE_SERIES = [50_000, 125_000, 200_000];

export interface PipelineOptions {
  root: string;
  /** Seconds each collector load level is measured (after a 3 s warm-up). */
  levelSeconds: number;
  keepTemp: boolean;
}

/** The builds this section runs, or an error naming the make targets that build them. */
function checkBuilds(): void {
  try {
    collectorBinary();
    requirePrometheus();
    requireThanos();
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nThe pipeline bench needs: make collector prometheus-tools thanos-tools`);
  }
}

function commit(root: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return 'unknown';
  }
}

export async function runPipelineBench(options: PipelineOptions, log: (message: string) => void): Promise<PipelineResults> {
  checkBuilds();
  const started = performance.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-pipeline-'));
  const results: PipelineResults = {
    meta: {
      date: new Date().toISOString(),
      sidecar: commit(options.root),
      node: process.version,
      cpu: `${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}`,
      'load average at start (1 min)': os.loadavg()[0]?.toFixed(2) ?? '',
      prometheus: PROMETHEUS_VERSION,
      thanos: THANOS_VERSION,
      'sidecar export interval here (ms)': BENCH_EXPORT_INTERVAL_MS,
      'default export interval (s)': DEFAULT_EXPORT_INTERVAL_S,
      'collector load levels (points/s)': COLLECTOR_LEVELS_POINTS_PER_S.join(', '),
      'seconds measured per level': options.levelSeconds,
    },
    shapes: [],
    collector: [],
    problems: [],
  };
  try {
    log('series per pod and bytes per export: one sidecar per shape -> writer collector -> Prometheus');
    const series = await measureSeriesPerPod({ entry: sidecarEntry(options.root), dir, shapes: SHAPES, log });
    results.shapes = series.shapes;
    results.seriesModel = fitSeriesModel(series.shapes);
    for (const residual of results.seriesModel.residuals) {
      if (residual.predicted !== residual.measured) results.problems.push(`series model predicts ${residual.predicted} series for ${residual.shape}, measured ${residual.measured}`);
    }
    const replayed = shapeLabel(REPLAYED);
    const template = series.templates.get(replayed);
    const replayedSeries = series.shapes.find((s) => s.label === replayed)?.series;
    if (template === undefined || replayedSeries === undefined) throw new Error(`no export captured for shape ${replayed}`);
    results.replayedShape = replayed;

    log(`collector CPU: shape ${replayed} exports replayed as many pods into the writer, then the router in front of it`);
    results.collector = await measureCollectorCpu({ template, levelsPointsPerS: COLLECTOR_LEVELS_POINTS_PER_S, seconds: options.levelSeconds, log, problems: results.problems });

    log(`Thanos Receive memory: ${RECEIVE_SERIES.join(', ')} series through the writer into one Receive`);
    results.receive = await measureReceiveMemory({ template, seriesPerPod: replayedSeries, targets: RECEIVE_SERIES, log, problems: results.problems });
    return results;
  } finally {
    results.meta['bench seconds'] = ((performance.now() - started) / 1000).toFixed(0);
    if (!options.keepTemp) rmSync(dir, { recursive: true, force: true });
  }
}
