/**
 * Prometheus names of the OpenTelemetry Collector's own metrics (its internal telemetry,
 * scraped by Prometheus from the collector's :8888/metrics). Dashboards and alerts about the
 * pipeline take their names from here; `genai-sidecar` does not produce these.
 */
export const COLLECTOR = {
  receiverAccepted: 'otelcol_receiver_accepted_metric_points_total',
  receiverRefused: 'otelcol_receiver_refused_metric_points_total',
  exporterSent: 'otelcol_exporter_sent_metric_points_total',
  exporterSendFailed: 'otelcol_exporter_send_failed_metric_points_total',
  exporterEnqueueFailed: 'otelcol_exporter_enqueue_failed_metric_points_total',
  exporterQueueSize: 'otelcol_exporter_queue_size',
  exporterQueueCapacity: 'otelcol_exporter_queue_capacity',
  // Since v0.110 processors report incoming/outgoing items; refusals by memory_limiter show up
  // as receiver refusals. Receiver failures are points a receiver could not pass on.
  receiverFailed: 'otelcol_receiver_failed_metric_points_total',
} as const;

/** Prometheus job name the collector's own metrics are scraped under. */
export const COLLECTOR_JOB = 'otel-collector';

export function collectorSeriesNames(): string[] {
  return Object.values(COLLECTOR);
}
