/**
 * The recorded corpus as traffic through a sidecar (each exchange answered by the fake provider
 * as recorded), what that traffic must add up to, and dashboard queries made concrete the way
 * Grafana would run them.
 */
import { loadCorpus, normalisedTokens, PROVIDER_NAME, ROUTE_FOR_PROVIDER, type CorpusExchange } from './corpus';
import { splitLines, splitSseEvents, type FakeProvider } from './fakeProvider';

export const TENANTS = ['acme', 'globex', 'initech'];

function chunksOf(exchange: CorpusExchange): string[] {
  const type = exchange.response.headers['content-type'] ?? '';
  if (type.includes('event-stream')) return splitSseEvents(exchange.response.body_text);
  if (type.includes('ndjson') || type.includes('stream+json')) return splitLines(exchange.response.body_text);
  return [exchange.response.body_text];
}

/** Every exchange once through the sidecar at `sidecarUrl`, a tenant header rotating per call and round. */
export async function replayCorpus(sidecarUrl: string, provider: FakeProvider, round: number, corpus: CorpusExchange[] = loadCorpus()): Promise<void> {
  for (const [index, exchange] of corpus.entries()) {
    provider.enqueue({ status: exchange.response.status, headers: exchange.response.headers, chunks: chunksOf(exchange) });
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
