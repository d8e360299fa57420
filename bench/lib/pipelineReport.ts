/**
 * The pipeline bench's report: every measured table, then the fleet those figures imply at the
 * default export interval. Pure: renders Markdown from the results.
 */
import { DEFAULT_EXPORT_INTERVAL_S, PLANNING, projectFleet, RETENTION_TIERS, type MeasuredCosts, type PodProfile } from './capacityModel';
import type { PipelineResults, ShapeFigures } from './pipelineResults';
import { formatNumber } from './table';

export const FLEET_SIZES = [100, 10_000, 100_000] as const;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>): string {
  const cell = (value: string | number | undefined): string => (typeof value === 'number' ? count(value) : (value ?? '-'));
  return [`| ${headers.join(' | ')} |`, `|${headers.map((_, index) => (index === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
}

/** Whole numbers with thousands separators, the rest to three significant figures. */
const count = (value: number): string => (Number.isInteger(value) ? value.toLocaleString('en-US') : formatNumber(value));

const billions = (value: number | undefined): string => (value === undefined ? '-' : formatNumber(value / 1e9));

const percentChange = (from: number, to: number): string => `${count(to)} (${from === 0 ? '-' : `${(((to - from) / from) * 100).toFixed(0)}%`})`;

function seriesSection(results: PipelineResults): string[] {
  const operations = [...new Set(results.shapes.flatMap((s) => Object.keys(s.byOperation)))];
  const predicted = new Map(results.seriesModel?.residuals.map((r) => [r.shape, r.predicted]) ?? []);
  const lines = [
    '## Series per pod (after the writer\'s allow-list and re-aggregation, counted in Prometheus)',
    '',
    table(
      ['shape (models x tenants x operations)', 'calls', 'series per pod', 'without an operation', ...operations.map((op) => `${op} series`), 'model predicts'],
      results.shapes.map((s) => [s.label, s.calls, s.series, s.series - Object.values(s.byOperation).reduce((a, b) => a + b, 0), ...operations.map((op) => s.byOperation[op]), predicted.get(s.label)]),
    ),
  ];
  const model = results.seriesModel;
  if (model) {
    const perPair = operations.map((op) => `${op} ${count(model.perCombination[op] ?? Number.NaN)}`).join(', ');
    lines.push('', `Model: series per pod = ${count(model.fixed)} + models x tenants x (${perPair}) for the operations in use.`);
  }
  const largest = results.shapes[results.shapes.length - 1];
  if (largest) {
    lines.push('', `### Series by family, shape ${largest.label}`, '', table(['family', 'series'], Object.entries(largest.byFamily).sort(([a], [b]) => a.localeCompare(b))));
  }
  return lines;
}

function leverSection(shapes: readonly ShapeFigures[]): string[] {
  const names = shapes[0]?.levers.map((lever) => lever.name) ?? [];
  return [
    '## Cardinality levers: series per pod if the writer dropped each (computed in Prometheus over the measured series)',
    '',
    table(
      ['dropped', ...shapes.map((s) => `${s.label} (now ${count(s.series)})`)],
      names.map((name) => [name, ...shapes.map((s) => {
        const lever = s.levers.find((l) => l.name === name);
        return lever === undefined ? undefined : percentChange(s.series, lever.series);
      })]),
    ),
  ];
}

function bytesSection(shapes: readonly ShapeFigures[]): string[] {
  return [
    '## Bytes per export',
    '',
    table(
      ['shape', 'OTLP body (bytes)', 'Content-Encoding', 'gzip of it (bytes)', 'data points', 'OTLP bytes per series', 'remote write bytes per sample', 'remote-write samples per export'],
      shapes.map((s) => [s.label, s.otlp.bytes, s.otlp.encoding, s.otlp.gzipBytes, s.otlp.points, s.otlp.bytes / s.series, s.remoteWrite.bytesPerSample, s.remoteWrite.samplesPerExport]),
    ),
  ];
}

function collectorSection(results: PipelineResults): string[] {
  const lines = ['## Collector CPU per 1,000 points/s', '', `Replayed export: shape ${results.replayedShape ?? '-'}. CPU time from /proc/<pid>/stat over each level's window.`, ''];
  const rows = results.collector.flatMap((tier) =>
    tier.levels.flatMap((level) =>
      Object.keys(level.millicores).map((process) => [tier.name, level.targetPointsPerS, level.pointsPerS, level.pods, process, level.millicores[process], level.cpuMsPer1kPoints[process], level.peakRssMiB[process], level.remoteWriteBytesPerS / 1024]),
    ),
  );
  lines.push(table(['setup', 'target points/s', 'points/s', 'synthetic pods', 'process', 'millicores', 'CPU ms per 1,000 points', 'peak RSS (MiB)', 'remote write KiB/s'], rows));
  const fits = results.collector.flatMap((tier) => Object.entries(tier.fit).map(([process, fit]) => [tier.name, process, fit.idleMillicores, fit.cpuMsPer1kPoints]));
  lines.push('', 'Least squares over the levels (millicores = idle + slope x thousands of points/s):', '', table(['setup', 'process', 'idle millicores', 'slope: CPU ms per 1,000 points'], fits));
  return lines;
}

function receiveSection(results: PipelineResults): string[] {
  const receive = results.receive;
  if (!receive) return [];
  const rows = [receive.idle, ...receive.readings].map((r) => [r.headSeries, r.pods, r.heapInuseBytes / MiB, r.rssBytes / MiB]);
  return [
    '## Thanos Receive memory per active series (one replica, replication factor 1)',
    '',
    table(['head series', 'pods replayed', 'Go heap in use (MiB, after GC)', 'RSS (MiB)'], rows),
    '',
    `Slope: ${formatNumber(receive.heapBytesPerSeries)} bytes of heap and ${formatNumber(receive.rssBytesPerSeries)} bytes of RSS per series (${receive.seriesPerPod} series per replayed pod).`,
  ];
}

/** The costs the fleet tables use: the router and writer as deployed (router in front), Receive's RSS slope. */
export function measuredCosts(results: PipelineResults): MeasuredCosts | undefined {
  const routed = results.collector.find((tier) => 'router' in tier.fit);
  const router = routed?.fit.router?.cpuMsPer1kPoints;
  const writer = routed?.fit.writer?.cpuMsPer1kPoints;
  const receive = results.receive?.rssBytesPerSeries;
  if (router === undefined || writer === undefined || receive === undefined) return undefined;
  return { routerCpuMsPer1kPoints: router, writerCpuMsPer1kPoints: writer, receiveBytesPerSeries: receive };
}

function fleetSection(results: PipelineResults): string[] {
  const costs = measuredCosts(results);
  if (!costs) return [];
  const lines = [
    `## Fleets at the default export interval (${DEFAULT_EXPORT_INTERVAL_S} s)`,
    '',
    `Router ${formatNumber(costs.routerCpuMsPer1kPoints)} and writer ${formatNumber(costs.writerCpuMsPer1kPoints)} CPU ms per 1,000 points, replicas at ${PLANNING.router.targetUtilisation * 100}% of ${PLANNING.router.coresPerReplica} and ${PLANNING.writer.coresPerReplica} cores; ` +
      `Receive ${formatNumber(costs.receiveBytesPerSeries)} bytes per series x replication factor ${PLANNING.receive.replicationFactor}, replicas at ${PLANNING.receive.targetUtilisation * 100}% of their memory limit. ` +
      `Storage columns: the raw samples each tier's retention spans once full (multiply by the tier's bytes per raw sample covered).`,
  ];
  for (const shape of results.shapes.filter((s) => s.shape.models * s.shape.tenants > 1)) {
    const pod: PodProfile = { series: shape.series, points: shape.otlp.points, exportIntervalS: DEFAULT_EXPORT_INTERVAL_S };
    const rows = FLEET_SIZES.map((pods) => {
      const row = projectFleet(pods, pod, costs);
      return [
        pods,
        row.activeSeries,
        row.samplesPerS,
        row.pointsPerS,
        `${formatNumber(row.router.cores)} / ${row.router.replicas}`,
        `${formatNumber(row.writer.cores)} / ${row.writer.replicas}`,
        `${formatNumber(row.receive.memoryBytes / GiB)} / ${row.receive.replicas} / ${row.receive.largeReplicas}`,
        ...RETENTION_TIERS.map((tier) => billions(row.covered[tier.name])),
      ];
    });
    lines.push(
      '',
      `### Pods of shape ${shape.label} (${shape.series} series, ${shape.otlp.points} points per export)`,
      '',
      table(
        ['pods', 'active series', 'samples/s', 'points/s', 'router cores / replicas', 'writer cores / replicas', `Receive GiB (RF 2) / replicas at ${PLANNING.receive.memoryPerReplicaBytes / GiB} / ${PLANNING.largeReceiveMemoryPerReplicaBytes / GiB} GiB`, ...RETENTION_TIERS.map((tier) => `${tier.name} (${tier.retentionDays} d): raw samples covered, billions`)],
        rows,
      ),
    );
  }
  return lines;
}

export function renderPipelineMarkdown(results: PipelineResults): string {
  const meta = Object.entries(results.meta).map(([key, value]) => `- ${key}: ${value}`);
  const problems = results.problems.length > 0 ? ['', '## Problems', '', ...results.problems.map((p) => `- ${p}`)] : [];
  return `${[
    '# Pipeline capacity bench',
    '',
    ...meta,
    '',
    ...seriesSection(results),
    '',
    ...leverSection(results.shapes),
    '',
    ...bytesSection(results.shapes),
    '',
    ...collectorSection(results),
    '',
    ...receiveSection(results),
    '',
    ...fleetSection(results),
    ...problems,
  ].join('\n')}\n`;
}
