/**
 * `make bench ARGS=--pipeline`: its options, and the report's fleet tables computed from the
 * measured figures (bench/lib/pipelineReport.ts). No processes.
 */
import { OptionsError, parseBenchOptions } from '../../bench/lib/options';
import { measuredCosts, renderPipelineMarkdown } from '../../bench/lib/pipelineReport';
import type { PipelineResults, ShapeFigures } from '../../bench/lib/pipelineResults';

function shape(models: number, tenants: number, operations: number, series: number, points: number): ShapeFigures {
  return {
    shape: { models, tenants, operations },
    label: `${models}x${tenants}x${operations}`,
    calls: 2 * models * tenants * operations,
    series,
    byOperation: { chat: series - 7 },
    byFamily: { target_info: 1 },
    histograms: 1,
    levers: [{ name: 'tenant', series: Math.round(series / tenants) }],
    otlp: { bytes: 100 * points, gzipBytes: 10 * points, encoding: 'none', points, exportsSeen: 5 },
    remoteWrite: { bytes: 35 * series * 5, samples: series * 5, bytesPerSample: 35, samplesPerExport: series },
  };
}

const RESULTS: PipelineResults = {
  meta: { date: 'test' },
  shapes: [shape(1, 1, 1, 112, 15), shape(4, 4, 1, 1687, 150)],
  replayedShape: '4x4x1',
  collector: [
    { name: 'writer alone', levels: [], fit: { writer: { idleMillicores: 10, cpuMsPer1kPoints: 60 } } },
    { name: 'router in front of the writer', levels: [], fit: { router: { idleMillicores: 5, cpuMsPer1kPoints: 10 }, writer: { idleMillicores: 10, cpuMsPer1kPoints: 50 } } },
  ],
  receive: { seriesPerPod: 1687, idle: { targetSeries: 0, pods: 0, headSeries: 0, heapInuseBytes: 1, rssBytes: 1 }, readings: [], heapBytesPerSeries: 1500, rssBytesPerSeries: 2000 },
  problems: [],
};

describe('options', () => {
  test('--pipeline runs only the pipeline section, 20 s per load level (8 with --quick)', () => {
    expect(parseBenchOptions([])).toMatchObject({ pipeline: false });
    expect(parseBenchOptions(['--pipeline'])).toMatchObject({ pipeline: true, levelSeconds: 20 });
    expect(parseBenchOptions(['--pipeline', '--quick'])).toMatchObject({ pipeline: true, levelSeconds: 8 });
    expect(parseBenchOptions(['--pipeline', '--level-seconds', '30'])).toMatchObject({ levelSeconds: 30 });
  });

  test.each([['--level-seconds', '3'], ['--level-seconds', '121'], ['--level-seconds', '2.5']])('%s %s is refused', (...argv) => {
    expect(() => parseBenchOptions(argv)).toThrow(OptionsError);
  });
});

describe('report', () => {
  test('the fleet is planned with the router and writer as deployed (router in front) and Receive\'s RSS slope', () => {
    expect(measuredCosts(RESULTS)).toEqual({ routerCpuMsPer1kPoints: 10, writerCpuMsPer1kPoints: 50, receiveBytesPerSeries: 2000 });
    expect(measuredCosts({ ...RESULTS, receive: undefined })).toBeUndefined();
  });

  test('fleet rows for 100, 10,000 and 100,000 pods of each multi-model shape', () => {
    const markdown = renderPipelineMarkdown(RESULTS);
    expect(markdown).toContain('### Pods of shape 4x4x1 (1687 series, 150 points per export)');
    expect(markdown).not.toContain('### Pods of shape 1x1x1');
    // 10,000 pods x 150 points / 60 s = 25,000 points/s: writer 25 x 50 ms = 1.25 cores -> 2 replicas (50% of 2 cores);
    // Receive 16,870,000 series x 2,000 bytes x 2 = 62.8 GiB -> 32 replicas at 2 of 4 GiB, 4 at 16 of 32 GiB.
    expect(markdown).toMatch(/^\| 10,000 \| 16,870,000 \| 281,167 \| 25,000 \| 0\.250 \/ 2 \| 1\.25 \/ 2 \| 62\.8 \/ 32 \/ 4 \|/m);
    expect(markdown).toContain('| tenant | 112 (0%) | 422 (-75%) |');
  });
});
