/**
 * The recorded corpus as traffic through a sidecar (each exchange answered by the fake provider
 * as recorded), what that traffic must add up to, and dashboard queries made concrete the way
 * Grafana would run them.
 */
import { LABEL, PROM } from '../../src/telemetry/prometheusNames';
import { loadCorpus, normalisedTokens, PROVIDER_NAME, responseChunks, ROUTE_FOR_PROVIDER, type CorpusExchange } from './corpus';
import type { FakeProvider } from './fakeProvider';
import type { QueryApi } from './prometheus';
import { startSidecarProcess, type SidecarProcess, type SidecarProcessOptions } from './sidecarProcess';

export const TENANTS = ['acme', 'globex', 'initech'];

/** Every exchange once through the sidecar at `sidecarUrl`, a tenant header rotating per call and round. */
export async function replayCorpus(sidecarUrl: string, provider: FakeProvider, round: number, corpus: CorpusExchange[] = loadCorpus()): Promise<void> {
  for (const [index, exchange] of corpus.entries()) {
    provider.enqueue({ status: exchange.response.status, headers: exchange.response.headers, chunks: responseChunks(exchange) });
    const route = ROUTE_FOR_PROVIDER[exchange.provider];
    const response = await fetch(`${sidecarUrl}/${route}${exchange.request.path}`, {
      method: exchange.request.method,
      headers: { ...exchange.request.headers, 'content-type': 'application/json', 'x-tenant-id': TENANTS[(index + round) % TENANTS.length] ?? 'acme' },
      body: JSON.stringify(exchange.request.body),
    });
    await response.arrayBuffer();
  }
}

/** Expected token totals by `provider/type`, for `rounds` replays of the corpus. */
export function expectedTokens(rounds: number, corpus: CorpusExchange[] = loadCorpus()): Map<string, number> {
  const totals = new Map<string, number>();
  const add = (provider: string, type: string, value: number | undefined): void => {
    if (value === undefined) return;
    const key = `${provider}/${type}`;
    totals.set(key, (totals.get(key) ?? 0) + value * rounds);
  };
  for (const exchange of corpus) {
    const tokens = normalisedTokens(exchange);
    const provider = PROVIDER_NAME[exchange.provider] ?? exchange.provider;
    add(provider, 'input', tokens.input);
    add(provider, 'output', tokens.output);
  }
  return totals;
}

/** Grafana's variables, as a user with "All" selected would have them; `window` replaces the rate interval and the range. */
export function withVariables(expr: string, window?: string): string {
  return expr
    .replace(/\$\{?__rate_interval\}?/g, window ?? '1m')
    .replace(/\$\{?__interval\}?/g, '15s')
    .replace(/\$\{?__range\}?/g, window ?? '5m')
    .replace(/\$\{?(header_label|header|tenant_label|label)\}?/g, 'tenant')
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*(:[a-z]+)?\}?/g, '.*');
}

/** The workloads the pipeline tests run sidecars for, each a pod of namespace `shop` in cluster `test`. */
export const WORKLOADS = ['checkout', 'search'];

/**
 * A sidecar process with a route per corpus provider to `provider`, the tenant header mapped, and
 * the pod identity the collector config promotes; `more` adds or overrides options.
 */
export function startCorpusSidecar(
  provider: FakeProvider,
  otlpEndpoint: string,
  exportIntervalMs: number,
  workload: string,
  podName: string,
  more: Partial<SidecarProcessOptions> = {},
): Promise<SidecarProcess> {
  return startSidecarProcess({
    routes: [...new Set(Object.values(ROUTE_FOR_PROVIDER))],
    providerUrl: provider.url,
    otlpEndpoint,
    exportIntervalMs,
    headerAttributes: ['x-tenant-id=tenant'],
    resourceAttributes: { 'k8s.namespace.name': 'shop', 'k8s.workload.name': workload, 'k8s.pod.name': podName, 'k8s.cluster.name': 'test' },
    ...more,
  });
}

/** v1.41 token totals in `prometheus` by `provider/type`, as expectedTokens() gives them. */
export async function tokenTotals(prometheus: QueryApi, at?: number): Promise<Map<string, number>> {
  const results = await prometheus.query(`sum by (${LABEL.provider}, ${LABEL.tokenType}) (${PROM.tokenUsage.sum})`, at);
  return new Map(results.map((r) => [`${r.metric[LABEL.provider]}/${r.metric[LABEL.tokenType]}`, Number(r.value[1])]));
}
