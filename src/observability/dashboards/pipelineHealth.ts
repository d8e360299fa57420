/**
 * Pipeline health: is telemetry getting from the sidecars through the OpenTelemetry Collector
 * into Prometheus? Collector panels read the collector's own metrics (scraped under
 * COLLECTOR_JOB) and ignore the namespace/workload/provider/model filters; sidecar panels honour
 * namespace and workload.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { COLLECTOR, COLLECTOR_JOB } from '../../telemetry/collectorNames';
import { LABEL, PROM, READ } from '../../telemetry/prometheusNames';
import { buildDashboard } from './frame';
import { statPanel, timeSeriesPanel, UNIT } from './panels';
import { count, equals, max, orZeroLike, rate, selector, sum } from './promql';
import { SCOPE } from './variables';

export const PIPELINE_HEALTH_UID = 'genai-pipeline-health';

/** `genai_sidecar.telemetry.stage` value the sidecar counts failed OTLP exports under (see src/sidecar.ts). */
export const EXPORT_STAGE = 'export';

const collector = [equals(LABEL.job, COLLECTOR_JOB)];
const sidecar = SCOPE.workload;
const byInstance = [LABEL.instance];
const byWorkload = [LABEL.namespace, LABEL.workload];

/**
 * A sidecar that exported in the window has a rate (possibly 0) on its call histogram: it pushes
 * every series each interval, traffic or not. Counted per instance (service.instance.id).
 */
function activeSidecars(by: readonly string[]): string {
  return count(count(rate(READ.calls, sidecar), [...by, LABEL.instance]), by);
}

const queueSize = selector(COLLECTOR.exporterQueueSize, collector);
const queueCapacity = selector(COLLECTOR.exporterQueueCapacity, collector);
const exportFailures = rate(PROM.telemetryErrors, [...sidecar, equals(LABEL.telemetryStage, EXPORT_STAGE)]);

export function pipelineHealthDashboard(): Dashboard {
  return buildDashboard({
    uid: PIPELINE_HEALTH_UID,
    title: 'GenAI sidecar / Pipeline health',
    description: 'Telemetry path health: sidecar OTLP exports, OpenTelemetry Collector receive/export and queue, active sidecars.',
    panels: [
      statPanel({
        title: 'Active sidecars',
        description: 'Sidecar instances (service.instance.id) whose metrics reached Prometheus within the rate window. Sidecars that have not yet proxied a call are not counted.',
        unit: UNIT.count,
        width: 8,
        targets: [{ expr: activeSidecars([]), legend: 'sidecars' }],
      }),
      statPanel({
        title: 'Sidecar export failures / s',
        description: 'Failed OTLP exports per second across the selected sidecars (counted by the sidecars, delivered once an export succeeds again).',
        unit: UNIT.count,
        width: 8,
        thresholds: [
          { value: null, color: 'green' },
          { value: 0.001, color: 'red' },
        ],
        targets: [{ expr: `${sum(exportFailures)} or vector(0)`, legend: 'failures/s' }],
      }),
      statPanel({
        title: 'Collector queue fill',
        description: 'Highest exporter sending-queue size / capacity across collector instances. Near 100% the collector starts dropping data.',
        unit: UNIT.ratio,
        width: 8,
        min: 0,
        max: 1,
        thresholds: [
          { value: null, color: 'green' },
          { value: 0.5, color: 'orange' },
          { value: 0.8, color: 'red' },
        ],
        targets: [{ expr: max(`${queueSize} / ${queueCapacity}`), legend: 'queue fill' }],
      }),
      timeSeriesPanel({
        title: 'Collector: points received / s',
        description: 'Metric points per second the collector receivers accepted, refused (e.g. memory_limiter back-pressure) or failed to pass on.',
        unit: UNIT.count,
        width: 12,
        targets: [
          { expr: sum(rate(COLLECTOR.receiverAccepted, collector)), legend: 'accepted' },
          { expr: sum(rate(COLLECTOR.receiverRefused, collector)), legend: 'refused by receiver' },
          { expr: sum(rate(COLLECTOR.receiverFailed, collector)), legend: 'failed in receiver' },
        ],
      }),
      timeSeriesPanel({
        title: 'Collector: points exported / s',
        description: 'Metric points per second the collector exporters sent to Prometheus, failed to send, or could not enqueue.',
        unit: UNIT.count,
        width: 12,
        targets: [
          { expr: sum(rate(COLLECTOR.exporterSent, collector)), legend: 'sent' },
          // The collector creates these two counters at its first failure: 0 until then, not "No data".
          { expr: `${sum(rate(COLLECTOR.exporterSendFailed, collector))} or vector(0)`, legend: 'send failed' },
          { expr: `${sum(rate(COLLECTOR.exporterEnqueueFailed, collector))} or vector(0)`, legend: 'enqueue failed' },
        ],
      }),
      timeSeriesPanel({
        title: 'Collector: exporter queue size vs capacity',
        description: 'Batches waiting in the exporters\' sending queues, against the queue capacity, per collector instance.',
        unit: UNIT.count,
        width: 12,
        min: 0,
        targets: [
          { expr: sum(queueSize, byInstance), legend: `size {{${LABEL.instance}}}` },
          { expr: sum(queueCapacity, byInstance), legend: `capacity {{${LABEL.instance}}}` },
        ],
      }),
      timeSeriesPanel({
        title: 'Sidecar telemetry errors / s by stage',
        description: 'Telemetry failures that did not affect traffic (export, parse, price lookup, ...), per stage, across the selected sidecars.',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: sum(rate(PROM.telemetryErrors, sidecar), [LABEL.telemetryStage]), legend: `{{${LABEL.telemetryStage}}}` }],
      }),
      timeSeriesPanel({
        title: 'Sidecar export failures / s by workload',
        description: 'Failed OTLP exports per second, per workload (0 for workloads with active sidecars and no failures).',
        unit: UNIT.count,
        width: 12,
        targets: [{ expr: orZeroLike(sum(exportFailures, byWorkload), activeSidecars(byWorkload)), legend: `{{${LABEL.namespace}}}/{{${LABEL.workload}}}` }],
      }),
      timeSeriesPanel({
        title: 'Active sidecars by workload',
        description: 'Sidecar instances reporting, per workload.',
        unit: UNIT.count,
        width: 12,
        min: 0,
        targets: [{ expr: activeSidecars(byWorkload), legend: `{{${LABEL.namespace}}}/{{${LABEL.workload}}}` }],
      }),
    ],
  });
}
