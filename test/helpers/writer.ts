/**
 * A metrics writer made of the sidecar's own telemetry pipeline (src/telemetry/pipeline.ts: the
 * OTLP/HTTP exporter, resource and cumulative temporality every sidecar uses), driven by the test:
 * it records exactly what the test says and exports when the test flushes, so a test knows each
 * export's values and can count every sample that must reach Prometheus.
 */
import { createLogger } from '../../src/log/logger';
import { METRICS, TOKEN_BUCKETS } from '../../src/telemetry/names';
import { startTelemetry, type TelemetryPipeline } from '../../src/telemetry/pipeline';

export type Attributes = Record<string, string | number>;

export interface Writer {
  /** service.instance.id: Prometheus's `instance` label of this writer's series. */
  instance: string;
  /** Adds to gen_ai.client.token.usage (a histogram) and genai_sidecar.client.cost.usd (a counter). */
  record(tokens: number, attributes: Attributes): void;
  /** Exports now; true when the collector accepted the export. */
  flush(): Promise<boolean>;
  /** Exports that failed so far. */
  failures(): number;
  close(): Promise<void>;
}

export function startWriter(otlpHttpUrl: string, resource: Record<string, string>): Writer {
  const telemetry: TelemetryPipeline = startTelemetry(
    {
      metricsUrl: `${otlpHttpUrl}/v1/metrics`,
      protocol: 'http/protobuf',
      headers: {},
      // The test flushes; no export of its own in between.
      exportIntervalMs: 3_600_000,
      exportTimeoutMs: 5_000,
      serviceName: 'genai-sidecar',
      resourceAttributes: resource,
      version: 'test',
      exporters: { otlp: true, prometheus: false },
    },
    createLogger('error', 'json', { write: () => undefined }),
    () => undefined,
  );
  telemetry.start();
  let record: Writer['record'] = () => {
    throw new Error('the writer has no meter yet');
  };
  telemetry.withMeter((meter) => {
    const tokens = meter.createHistogram(METRICS.tokenUsage.name, { unit: METRICS.tokenUsage.unit, advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] } });
    const cost = meter.createCounter(METRICS.cost.name, { unit: METRICS.cost.unit });
    record = (value, attributes) => {
      tokens.record(value, attributes);
      cost.add(value / 1000, attributes);
    };
  });
  return {
    instance: String(telemetry.resource['service.instance.id']),
    record: (value, attributes) => record(value, attributes),
    async flush() {
      const before = telemetry.exportFailures();
      await telemetry.flush();
      return telemetry.exportFailures() === before;
    },
    failures: () => telemetry.exportFailures(),
    close: () => telemetry.shutdown().catch(() => undefined),
  };
}
