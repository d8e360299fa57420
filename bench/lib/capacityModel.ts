/**
 * The arithmetic of docs/scaling.md: series per pod from the measured shapes, and from there the
 * collector replicas, Receive memory and object storage of a fleet. Pure; every input is a figure
 * the pipeline bench measures or one the document states.
 */

/** Distinct models, tenants and operations a pod's calls spread over. */
export interface SeriesShape {
  models: number;
  tenants: number;
  operations: number;
}

export const shapeLabel = (shape: SeriesShape): string => `${shape.models}x${shape.tenants}x${shape.operations}`;

/** One pod's series in Prometheus after the collector's allow-list and re-aggregation. */
export interface SeriesMeasurement {
  shape: SeriesShape;
  series: number;
  /** Series that carry gen_ai.operation.name, by its value. */
  byOperation: Readonly<Record<string, number>>;
}

/** series = fixed + sum over operations of (models x tenants) x perCombination[operation]. */
export interface SeriesModel {
  /** Series that do not depend on the combinations (target_info, rate-limit gauges). */
  fixed: number;
  /** Series per (model, tenant) pair, for each operation. */
  perCombination: Readonly<Record<string, number>>;
}

export interface SeriesFit extends SeriesModel {
  /** For each measured shape: what the model predicts minus what was measured. */
  residuals: Array<{ shape: string; measured: number; predicted: number }>;
}

const pairs = (shape: SeriesShape): number => shape.models * shape.tenants;

/**
 * Splits each measurement into the part without an operation and the part per combination of
 * each operation, taking each figure from the largest shape that has it, and checks the model
 * against every shape (a shape whose series do not add up this way shows as a residual).
 */
export function fitSeriesModel(measurements: readonly SeriesMeasurement[]): SeriesFit {
  if (measurements.length === 0) throw new Error('no series measurements to fit');
  const largestFirst = [...measurements].sort((a, b) => pairs(b.shape) * b.shape.operations - pairs(a.shape) * a.shape.operations);
  const largest = largestFirst[0] as SeriesMeasurement;
  const withOperation = (m: SeriesMeasurement): number => Object.values(m.byOperation).reduce((sum, count) => sum + count, 0);
  const fixed = largest.series - withOperation(largest);
  const perCombination: Record<string, number> = {};
  for (const measurement of largestFirst) {
    for (const [operation, count] of Object.entries(measurement.byOperation)) perCombination[operation] ??= count / pairs(measurement.shape);
  }
  const model = { fixed, perCombination };
  const residuals = measurements.map((m) => ({
    shape: shapeLabel(m.shape),
    measured: m.series,
    predicted: predictSeries(model, m.shape.models, m.shape.tenants, Object.keys(m.byOperation)),
  }));
  return { ...model, residuals };
}

export function predictSeries(model: SeriesModel, models: number, tenants: number, operations: readonly string[]): number {
  return model.fixed + models * tenants * operations.reduce((sum, operation) => sum + (model.perCombination[operation] ?? Number.NaN), 0);
}

/** Series after cutting every histogram from `fromBoundaries` to `toBoundaries` bucket boundaries. */
export function withFewerBuckets(series: number, histograms: number, fromBoundaries: number, toBoundaries: number): number {
  return series - histograms * (fromBoundaries - toBoundaries);
}

/** CPU milliseconds per 1,000 points (= millicores per 1,000 points/s). */
export function cpuMsPer1kPoints(cpuMs: number, points: number): number | undefined {
  return points > 0 ? cpuMs / (points / 1000) : undefined;
}

/** What one pod sends, per export. */
export interface PodProfile {
  series: number;
  /** OTLP data points per export (a histogram is one point and many series). */
  points: number;
  exportIntervalS: number;
}

export const samplesPerSecond = (pods: number, pod: PodProfile): number => (pods * pod.series) / pod.exportIntervalS;
export const pointsPerSecond = (pods: number, pod: PodProfile): number => (pods * pod.points) / pod.exportIntervalS;

/** One collector tier's measured cost and the size its replicas are given. */
export interface TierSizing {
  cpuMsPer1kPoints: number;
  coresPerReplica: number;
  /** Share of a replica's CPU to plan for (the rest is headroom). */
  targetUtilisation: number;
  minReplicas: number;
}

export function collectorReplicas(pods: number, pod: PodProfile, tier: TierSizing): { cores: number; replicas: number } {
  const cores = (pointsPerSecond(pods, pod) / 1000) * (tier.cpuMsPer1kPoints / 1000);
  return { cores, replicas: Math.max(tier.minReplicas, Math.ceil(cores / (tier.coresPerReplica * tier.targetUtilisation))) };
}

export interface ReceiveSizing {
  bytesPerSeries: number;
  replicationFactor: number;
  memoryPerReplicaBytes: number;
  targetUtilisation: number;
  minReplicas: number;
}

export function receiveReplicas(activeSeries: number, sizing: ReceiveSizing): { memoryBytes: number; replicas: number } {
  const memoryBytes = activeSeries * sizing.bytesPerSeries * sizing.replicationFactor;
  return { memoryBytes, replicas: Math.max(sizing.minReplicas, Math.ceil(memoryBytes / (sizing.memoryPerReplicaBytes * sizing.targetUtilisation))) };
}

const DAY_S = 86_400;

/** One retention tier of the Compactor. */
export interface ResolutionTier {
  name: string;
  retentionDays: number;
}

/** The shipped Compactor retention: raw 7d, 5m 90d, 1h 2y. */
export const RETENTION_TIERS: readonly ResolutionTier[] = [
  { name: 'raw', retentionDays: 7 },
  { name: '5m', retentionDays: 90 },
  { name: '1h', retentionDays: 730 },
];

/**
 * The raw samples a tier's retention spans once it is full. A downsampled tier holds aggregates,
 * not these samples, but its blocks are measured in bytes per raw sample they cover (at the same
 * export interval), so every tier's bytes are this count times its own figure.
 */
export function samplesCovered(pods: number, pod: PodProfile, tier: ResolutionTier): number {
  return samplesPerSecond(pods, pod) * tier.retentionDays * DAY_S;
}

/** Ordinary least squares y = intercept + slope x. */
export function leastSquares(points: ReadonlyArray<{ x: number; y: number }>): { intercept: number; slope: number } {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  const sxx = points.reduce((sum, p) => sum + (p.x - meanX) ** 2, 0);
  const sxy = points.reduce((sum, p) => sum + (p.x - meanX) * (p.y - meanY), 0);
  const slope = sxx === 0 ? Number.NaN : sxy / sxx;
  return { intercept: meanY - slope * meanX, slope };
}

/** `--export-interval`'s default (src/cli/runFlags.ts; a unit test keeps the two equal). */
export const DEFAULT_EXPORT_INTERVAL_S = 60;

/**
 * What replicas are planned against: each tier's limits as the manifests ship them (unit-tested
 * against the files), and the share of a limit to plan for, leaving the rest for bursts, a
 * replica lost or rolling, and Receive's head compaction every two hours.
 */
export const PLANNING = {
  /** k8s/collector/router-deployment.yaml: limits.cpu "1". */
  router: { coresPerReplica: 1, targetUtilisation: 0.5, minReplicas: 2 },
  /** k8s/collector/writer-statefulset.yaml: limits.cpu "2". */
  writer: { coresPerReplica: 2, targetUtilisation: 0.5, minReplicas: 2 },
  /** k8s/overlays/thanos/thanos/receive.yaml: limits.memory 4Gi, 3 replicas, replication factor 2. */
  receive: { memoryPerReplicaBytes: 4 * 2 ** 30, targetUtilisation: 0.5, minReplicas: 3, replicationFactor: 2 },
  /** Past a few million series, fewer and larger Receive replicas: the limit a large fleet would raise it to. */
  largeReceiveMemoryPerReplicaBytes: 32 * 2 ** 30,
} as const;

export interface FleetRow {
  pods: number;
  activeSeries: number;
  samplesPerS: number;
  pointsPerS: number;
  router: { cores: number; replicas: number };
  writer: { cores: number; replicas: number };
  /** Replicas at the overlay's memory limit, and at PLANNING.largeReceiveMemoryPerReplicaBytes. */
  receive: { memoryBytes: number; replicas: number; largeReplicas: number };
  /** Raw samples each retention tier spans once full. */
  covered: Record<string, number>;
}

export interface MeasuredCosts {
  routerCpuMsPer1kPoints: number;
  writerCpuMsPer1kPoints: number;
  receiveBytesPerSeries: number;
}

export function projectFleet(pods: number, pod: PodProfile, costs: MeasuredCosts): FleetRow {
  const activeSeries = pods * pod.series;
  return {
    pods,
    activeSeries,
    samplesPerS: samplesPerSecond(pods, pod),
    pointsPerS: pointsPerSecond(pods, pod),
    router: collectorReplicas(pods, pod, { ...PLANNING.router, cpuMsPer1kPoints: costs.routerCpuMsPer1kPoints }),
    writer: collectorReplicas(pods, pod, { ...PLANNING.writer, cpuMsPer1kPoints: costs.writerCpuMsPer1kPoints }),
    receive: {
      ...receiveReplicas(activeSeries, { ...PLANNING.receive, bytesPerSeries: costs.receiveBytesPerSeries }),
      largeReplicas: receiveReplicas(activeSeries, { ...PLANNING.receive, bytesPerSeries: costs.receiveBytesPerSeries, memoryPerReplicaBytes: PLANNING.largeReceiveMemoryPerReplicaBytes }).replicas,
    },
    covered: Object.fromEntries(RETENTION_TIERS.map((tier) => [tier.name, samplesCovered(pods, pod, tier)])),
  };
}
