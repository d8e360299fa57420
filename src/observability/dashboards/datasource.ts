/**
 * The Prometheus datasource the dashboards query. Grafana provisions it from
 * `grafana/provisioning/datasources/prometheus.yaml` with this stable uid; every panel and
 * target goes through the `$datasource` variable, whose default is that uid, so users with
 * another Prometheus can pick it without editing the dashboards.
 */
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

export const DATASOURCE_TYPE = 'prometheus';
export const DATASOURCE_UID = 'genai-prometheus';
export const DATASOURCE_NAME = 'Prometheus';
export const DATASOURCE_URL = 'http://prometheus:9090';
/** Thanos Query's Service in k8s/overlays/thanos, which serves the same datasource there. */
export const THANOS_QUERY_URL = 'http://thanos-query:9090';
export const DATASOURCE_VARIABLE = 'datasource';

/**
 * The sidecar exports every 60 s by default (`OTEL_METRIC_EXPORT_INTERVAL`), so remote-written
 * samples arrive a minute apart. Grafana's `$__rate_interval` is at least four times this,
 * which keeps `rate()` windows wide enough to hold two samples.
 */
export const SAMPLE_INTERVAL = '60s';

/** What every panel and target points at. */
export const DATASOURCE_REF: DataSourceRef = { type: DATASOURCE_TYPE, uid: `\${${DATASOURCE_VARIABLE}}` };
