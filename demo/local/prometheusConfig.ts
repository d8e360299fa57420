/**
 * The demo's prometheus.yml: the sidecars scraped on their admin ports every 5 s, the project's
 * alert rules loaded, evaluated every 15 s. Rendered with the yaml library, as every config the
 * project writes.
 */
import { stringify } from 'yaml';

export interface DemoPrometheusConfig {
  /** `host:port` of each sidecar's admin listener. */
  sidecarTargets: readonly string[];
  /** Absolute paths of rule files. */
  ruleFiles: readonly string[];
}

export const SCRAPE_INTERVAL = '5s';

export function renderPrometheusConfig(config: DemoPrometheusConfig): string {
  return stringify({
    global: { scrape_interval: SCRAPE_INTERVAL, scrape_timeout: SCRAPE_INTERVAL, evaluation_interval: '15s' },
    rule_files: [...config.ruleFiles],
    scrape_configs: [
      {
        // The job name the collector path gives the sidecars' series too (service.name), so the rules read the same.
        job_name: 'genai-sidecar',
        metrics_path: '/metrics',
        // As prometheus/kubernetes/sidecars.yml: the cheapest page for the sidecar, native histograms or not.
        scrape_protocols: ['PrometheusProto', 'OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText0.0.4'],
        static_configs: [{ targets: [...config.sidecarTargets] }],
      },
    ],
  });
}
