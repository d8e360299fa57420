/**
 * The OpenTelemetry metrics pipeline: resource, OTLP/HTTP exporter (protobuf or JSON),
 * periodic reader, meter provider. Export failures are counted and logged once per outage,
 * never per request, and never reach the proxied traffic.
 *
 * The SDK side is built by `start()`, which the sidecar calls shortly after it reports ready:
 * loading the SDK packages takes ~100 ms, a third of the start-up budget. Per-call metrics are
 * recorded from the first call on regardless (bound instruments need no SDK), and whatever is
 * recorded before `start()` is in the first export.
 */
import { randomUUID } from 'node:crypto';
import type { Meter } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { OTLPMetricExporterOptions } from '@opentelemetry/exporter-metrics-otlp-http';
import type { AggregationTemporality, IMetricReader, MeterProvider, MetricProducer, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from '../log/logger';
import { redactUrl } from '../log/redact';
import { BoundInstrumentsProducer, type LiveInstrument } from './boundInstruments';
import { METER_NAME, RESOURCE_ATTR } from './names';

type SdkMetrics = typeof import('@opentelemetry/sdk-metrics');

/** Loaded on `start()` (see the module comment); cached by require after that. */
function sdkMetrics(): SdkMetrics {
  return require('@opentelemetry/sdk-metrics') as SdkMetrics;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** The two outlets of the one recording: OTLP push, and a pull reader behind `/metrics`. */
export interface MetricsExporters {
  otlp: boolean;
  prometheus: boolean;
}

export interface TelemetryConfig {
  /** Full URL of the metrics endpoint (…/v1/metrics). */
  metricsUrl: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  exportIntervalMs: number;
  exportTimeoutMs: number;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  version: string;
  exporters: MetricsExporters;
}

export interface TelemetryPipeline {
  /** For the per-call instruments; usable before `start()`. */
  boundInstruments: BoundInstrumentsProducer;
  /** Runs `use` with the SDK's meter (rare instruments: telemetry errors, gauges) once `start()` has run. */
  withMeter(use: (meter: Meter) => void): void;
  /** Build the SDK side now (meter provider, reader, periodic export); later calls do nothing. */
  start(): void;
  /**
   * `start()` and the exporter's creation cut into steps of at most a few tens of milliseconds
   * each (one package loaded per step), for the caller to run on separate turns of the event
   * loop so that traffic in flight is never held up by one long load.
   */
  warmUpSteps(): Array<() => void>;
  resource: Record<string, string>;
  /**
   * The current cumulative state for `/metrics`, the same instruments the OTLP export reads: the
   * SDK's through the pull reader, the per-call bound instruments' series read in place (a
   * collection would copy every series on every scrape). Undefined when the prometheus exporter is off.
   */
  collectForPull(): Promise<{ resourceMetrics: ResourceMetrics; live: LiveInstrument[] }> | undefined;
  /** Export whatever is pending now (used at shutdown and by tests); starts the SDK side if needed. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  exportFailures(): number;
}

export function startTelemetry(config: TelemetryConfig, logger: Logger, onExportFailure: () => void): TelemetryPipeline {
  const resource = buildResourceAttributes(config);
  const boundInstruments = new BoundInstrumentsProducer({ name: METER_NAME, version: config.version });
  let exporter: ObservedExporter | undefined;
  let pullReader: PullReader | undefined;
  let provider: MeterProvider | undefined;
  const waiting: Array<(meter: Meter) => void> = [];

  const start = (): MeterProvider => {
    if (provider !== undefined) return provider;
    const sdk = sdkMetrics();
    const readers: IMetricReader[] = [];
    if (config.exporters.otlp) {
      const exporterOptions = {
        url: config.metricsUrl,
        headers: config.headers,
        timeoutMillis: config.exportTimeoutMs,
        // Prometheus wants cumulative series; each sidecar is one writer identified by service.instance.id.
        temporalityPreference: sdk.AggregationTemporality.CUMULATIVE,
      };
      // Created at the first export: the exporter packages take another 50-85 ms to load.
      exporter = new ObservedExporter(() => createOtlpExporter(config.protocol, exporterOptions), logger, redactUrl(config.metricsUrl), onExportFailure);
      readers.push(
        new sdk.PeriodicExportingMetricReader({
          exporter,
          metricProducers: [boundInstruments],
          exportIntervalMillis: config.exportIntervalMs,
          exportTimeoutMillis: Math.min(config.exportTimeoutMs, config.exportIntervalMs),
        }),
      );
    }
    if (config.exporters.prometheus) {
      pullReader = createPullReader(sdk);
      readers.push(pullReader);
    }
    const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
    provider = new sdk.MeterProvider({ resource: resourceFromAttributes(resource), readers });
    const meter = provider.getMeter(METER_NAME, config.version);
    for (const use of waiting.splice(0)) use(meter);
    return provider;
  };

  return {
    boundInstruments,
    withMeter: (use) => {
      if (provider === undefined) waiting.push(use);
      else use(provider.getMeter(METER_NAME, config.version));
    },
    start: () => void start(),
    warmUpSteps: () => [
      () => require('@opentelemetry/api'),
      () => require('@opentelemetry/core'),
      () => require('@opentelemetry/resources'),
      () => void start(),
      () => exporter?.load(),
    ],
    resource,
    collectForPull: () => {
      if (!config.exporters.prometheus) return undefined;
      start();
      return (pullReader as PullReader).collect().then((result) => ({ resourceMetrics: result.resourceMetrics, live: boundInstruments.live() }));
    },
    flush: () => start().forceFlush(),
    shutdown: () => start().shutdown(),
    exportFailures: () => exporter?.failures ?? 0,
  };
}

/** A reader that collects when asked (a scrape), cumulative like the OTLP export. */
type PullReader = IMetricReader & { collect(): ReturnType<MetricProducer['collect']> };

/** The SDK's own instruments only: collectForPull() reads the bound instruments in place. */
function createPullReader(sdk: SdkMetrics): PullReader {
  // The SDK's base class does the bookkeeping; on demand there is nothing to flush or stop.
  class OnDemandReader extends sdk.MetricReader {
    protected onForceFlush(): Promise<void> {
      return Promise.resolve();
    }
    protected onShutdown(): Promise<void> {
      return Promise.resolve();
    }
  }
  return new OnDemandReader();
}

/**
 * Only the chosen encoding's exporter is loaded: each package takes 50-85 ms to require, and
 * start-up time is on the pod's critical path (the app waits for the sidecar to be ready).
 */
function createOtlpExporter(protocol: OtlpProtocol, options: OTLPMetricExporterOptions & { url: string; headers: Record<string, string> }): PushMetricExporter {
  if (protocol === 'http/json') {
    const json = require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http');
    return new json.OTLPMetricExporter(options);
  }
  const proto = require('@opentelemetry/exporter-metrics-otlp-proto') as typeof import('@opentelemetry/exporter-metrics-otlp-proto');
  return new proto.OTLPMetricExporter(options);
}

/** service.name and a unique service.instance.id always exist; user attributes override neither silently. */
export function buildResourceAttributes(config: Pick<TelemetryConfig, 'serviceName' | 'resourceAttributes' | 'version'>): Record<string, string> {
  return {
    [RESOURCE_ATTR.serviceInstanceId]: randomUUID(),
    [RESOURCE_ATTR.serviceVersion]: config.version,
    ...config.resourceAttributes,
    [RESOURCE_ATTR.serviceName]: config.serviceName,
  };
}

/** Wraps the OTLP exporter to count failures and log state changes instead of every failure. */
class ObservedExporter implements PushMetricExporter {
  failures = 0;
  private healthy = true;
  private created: PushMetricExporter | undefined;

  constructor(
    private readonly createInner: () => PushMetricExporter,
    private readonly logger: Logger,
    private readonly url: string,
    private readonly onFailure: () => void,
  ) {}

  private get inner(): PushMetricExporter {
    this.created ??= this.createInner();
    return this.created;
  }

  /** Create the OTLP exporter now rather than at the first export (warm-up). */
  load(): void {
    void this.inner;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const { ExportResultCode } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
    this.inner.export(metrics, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        if (!this.healthy) this.logger.info('metrics export recovered', { endpoint: this.url });
        this.healthy = true;
      } else {
        this.failures += 1;
        this.onFailure();
        if (this.healthy) {
          this.logger.warn('metrics export failing; traffic is unaffected, will retry', {
            endpoint: this.url,
            error: result.error?.message,
          });
        }
        this.healthy = false;
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.created?.forceFlush() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.created?.shutdown() ?? Promise.resolve();
  }

  selectAggregationTemporality = (): AggregationTemporality => sdkMetrics().AggregationTemporality.CUMULATIVE;
}
