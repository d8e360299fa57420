/**
 * Prometheus names of the OpenTelemetry Collector's own metrics (its internal telemetry,
 * scraped by Prometheus from the collector's :8888/metrics). Dashboards and alerts about the
 * pipeline take their names from here; `genai-sidecar` does not produce these.
 *
 * These are the names otelcol-genai 0.161.0 (collector/builder-config.yaml) exposes with the
 * reader both shipped configs set (`without_units: true`, `without_type_suffix: true`): no
 * `_total`, no unit suffix. Collectors before 0.152 exposed `..._total`; a test scrapes the built
 * collector and fails when a name here is not what it serves.
 */
export const COLLECTOR = {
  receiverAccepted: 'otelcol_receiver_accepted_metric_points',
  // Refusals by memory_limiter (the receiver answers the sender with an error it can retry).
  receiverRefused: 'otelcol_receiver_refused_metric_points',
  // Points a receiver could not pass on for another reason.
  receiverFailed: 'otelcol_receiver_failed_metric_points',
  exporterSent: 'otelcol_exporter_sent_metric_points',
  // Dropped after the exporter gave up (a permanent error, or retries past `timeout`).
  exporterSendFailed: 'otelcol_exporter_send_failed_metric_points',
  // Refused at a full export queue.
  exporterEnqueueFailed: 'otelcol_exporter_enqueue_failed_metric_points',
  exporterQueueSize: 'otelcol_exporter_queue_size',
  exporterQueueCapacity: 'otelcol_exporter_queue_capacity',
} as const;

/** Prometheus job name the collector's own metrics are scraped under. */
export const COLLECTOR_JOB = 'otel-collector';

export function collectorSeriesNames(): string[] {
  return Object.values(COLLECTOR);
}
