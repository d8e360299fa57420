/**
 * The arithmetic behind docs/scaling.md (bench/lib/capacityModel.ts), and the figures it plans
 * against: the default export interval and the limits the manifests ship.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  collectorReplicas,
  cpuMsPer1kPoints,
  DEFAULT_EXPORT_INTERVAL_S,
  fitSeriesModel,
  leastSquares,
  PLANNING,
  predictSeries,
  projectFleet,
  receiveReplicas,
  RETENTION_TIERS,
  samplesCovered,
  withFewerBuckets,
  type SeriesMeasurement,
} from '../../bench/lib/capacityModel';
import { RUN_FLAGS } from '../../src/cli/runFlags';

const ROOT = path.resolve(__dirname, '../..');

/** Shapes built from a known model: 7 fixed, chat 105 and embeddings 52 per (model, tenant) pair. */
function measured(models: number, tenants: number, operations: Record<string, number>): SeriesMeasurement {
  const byOperation = Object.fromEntries(Object.entries(operations).map(([op, perPair]) => [op, perPair * models * tenants]));
  return { shape: { models, tenants, operations: Object.keys(operations).length }, series: 7 + Object.values(byOperation).reduce((a, b) => a + b, 0), byOperation };
}

describe('series model', () => {
  test('recovers the fixed part and the series per combination of each operation, with no residual', () => {
    const fit = fitSeriesModel([measured(1, 1, { chat: 105 }), measured(4, 4, { chat: 105, embeddings: 52 }), measured(10, 10, { chat: 105, embeddings: 52, text_completion: 69 })]);
    expect(fit.fixed).toBe(7);
    expect(fit.perCombination).toEqual({ chat: 105, embeddings: 52, text_completion: 69 });
    expect(fit.residuals.map((r) => r.predicted - r.measured)).toEqual([0, 0, 0]);
    expect(predictSeries(fit, 3, 2, ['chat', 'embeddings'])).toBe(7 + 6 * 157);
  });

  test('a shape whose series do not add up the same way shows as a residual', () => {
    const odd = measured(1, 1, { chat: 105 });
    const fit = fitSeriesModel([{ ...odd, series: odd.series + 3 }, measured(4, 4, { chat: 105 })]);
    expect(fit.residuals.find((r) => r.shape === '1x1x1')).toEqual({ shape: '1x1x1', measured: 115, predicted: 112 });
  });

  test('an operation no fit has predicts nothing rather than a wrong number', () => {
    expect(predictSeries({ fixed: 7, perCombination: { chat: 105 } }, 1, 1, ['embeddings'])).toBeNaN();
  });
});

describe('measured costs', () => {
  test('fewer bucket boundaries remove that many series per histogram', () => {
    expect(withFewerBuckets(2519, 144, 14, 7)).toBe(2519 - 144 * 7);
  });

  test('CPU per 1,000 points, and none over no points', () => {
    expect(cpuMsPer1kPoints(600, 10_000)).toBe(60);
    expect(cpuMsPer1kPoints(600, 0)).toBeUndefined();
  });

  test('least squares finds the idle CPU and the slope of an exact line', () => {
    const line = leastSquares([2, 5, 10].map((x) => ({ x, y: 12 + 55 * x })));
    expect(line.intercept).toBeCloseTo(12, 9);
    expect(line.slope).toBeCloseTo(55, 9);
  });

  test('bytes per series is the slope over the readings, not the ratio of one (the idle process is not in it)', () => {
    const readings = [50_000, 125_000, 200_000].map((series) => ({ x: series, y: 70e6 + 2000 * series }));
    expect(leastSquares(readings).slope).toBeCloseTo(2000, 6);
    expect(leastSquares([{ x: 1, y: 1 }, { x: 1, y: 2 }]).slope).toBeNaN();
  });
});

describe('fleet arithmetic', () => {
  const pod = { series: 2519, points: 214, exportIntervalS: 60 };

  test('collector replicas: cores from points/s and CPU per point, at the planned share of each replica, never under the minimum', () => {
    // 10,000 pods x 214 points / 60 s = 35,667 points/s; x 52.4 ms per 1,000 = 1.869 cores.
    const writer = collectorReplicas(10_000, pod, { cpuMsPer1kPoints: 52.4, coresPerReplica: 2, targetUtilisation: 0.5, minReplicas: 2 });
    expect(writer.cores).toBeCloseTo((10_000 * 214) / 60 / 1000 * 0.0524, 9);
    expect(writer.replicas).toBe(2);
    expect(collectorReplicas(100_000, pod, { cpuMsPer1kPoints: 52.4, coresPerReplica: 2, targetUtilisation: 0.5, minReplicas: 2 }).replicas).toBe(19);
    expect(collectorReplicas(1, pod, { cpuMsPer1kPoints: 52.4, coresPerReplica: 2, targetUtilisation: 0.5, minReplicas: 2 }).replicas).toBe(2);
  });

  test('Receive memory is series x bytes x replication factor; replicas at the planned share of a replica', () => {
    const sizing = { bytesPerSeries: 2000, replicationFactor: 2, memoryPerReplicaBytes: 4 * 2 ** 30, targetUtilisation: 0.5, minReplicas: 3 };
    const million = receiveReplicas(1e6, sizing);
    expect(million.memoryBytes).toBe(4e9);
    expect(million.replicas).toBe(3);
    expect(receiveReplicas(10e6, sizing).replicas).toBe(Math.ceil(40e9 / 2 ** 31));
  });

  test('what each retention tier spans: raw samples over 7 days, 90 days and 2 years', () => {
    const one = { series: 100, points: 10, exportIntervalS: 60 };
    expect(RETENTION_TIERS.map((tier) => samplesCovered(3, one, tier))).toEqual([7, 90, 730].map((days) => expect.closeTo(3 * 100 * 24 * 60 * days, 3)));
  });

  test('a fleet row puts the parts together', () => {
    const row = projectFleet(1000, pod, { routerCpuMsPer1kPoints: 9.3, writerCpuMsPer1kPoints: 52.4, receiveBytesPerSeries: 2348 });
    expect(row.activeSeries).toBe(2_519_000);
    expect(row.samplesPerS).toBeCloseTo(2_519_000 / 60, 6);
    expect(row.pointsPerS).toBeCloseTo(214_000 / 60, 6);
    expect(row.receive.memoryBytes).toBe(2_519_000 * 2348 * 2);
    expect(Object.keys(row.covered)).toEqual(['raw', '5m', '1h']);
  });
});

describe('what the model plans against', () => {
  test('the default export interval is the CLI\'s', () => {
    const flag = RUN_FLAGS.find((definition) => definition.key === 'exportInterval');
    expect(Number(flag?.defaultText) / 1000).toBe(DEFAULT_EXPORT_INTERVAL_S);
  });

  function container(file: string): { limits: Record<string, string>; args: string[]; replicas?: number } {
    const documents = parseAllDocuments(readFileSync(path.join(ROOT, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
    const workload = documents.find((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet') as { spec: { replicas?: number; template: { spec: { containers: Array<{ args?: string[]; resources: { limits: Record<string, string> } }> } } } };
    const first = workload.spec.template.spec.containers[0];
    if (!first) throw new Error(`${file}: no container`);
    return { limits: first.resources.limits, args: first.args ?? [], replicas: workload.spec.replicas };
  }

  test('collector CPU limits as the manifests ship them', () => {
    expect(Number(container('k8s/collector/router-deployment.yaml').limits.cpu)).toBe(PLANNING.router.coresPerReplica);
    expect(Number(container('k8s/collector/writer-statefulset.yaml').limits.cpu)).toBe(PLANNING.writer.coresPerReplica);
  });

  test('Receive memory limit, replicas and replication factor as the Thanos overlay ships them', () => {
    const receive = container('k8s/overlays/thanos/thanos/receive.yaml');
    expect(receive.limits.memory).toBe(`${PLANNING.receive.memoryPerReplicaBytes / 2 ** 30}Gi`);
    expect(receive.replicas).toBe(PLANNING.receive.minReplicas);
    expect(receive.args).toContain(`--receive.replication-factor=${PLANNING.receive.replicationFactor}`);
  });
});
