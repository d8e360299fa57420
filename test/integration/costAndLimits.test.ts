/**
 * Cost (built-in table and a user price file), rate-limit headroom gauges and the cap on
 * distinct attribute values, end to end through the real sidecar.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ATTR, METRICS, OVERFLOW_VALUE } from '../../src/telemetry/names';
import { loadCorpus, responseChunks, type CorpusExchange } from '../helpers/corpus';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';

const corpus = new Map(loadCorpus().map((exchange) => [exchange.file, exchange]));
let harness: Harness;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'genai-sidecar-prices-'));
  const priceFile = path.join(dir, 'prices.json');
  writeFileSync(
    priceFile,
    JSON.stringify({ models: [{ provider: 'ollama', model: 'llama3', match: 'prefix', input_per_mtok: 2, output_per_mtok: 10 }] }),
  );
  harness = await startHarness({
    routes: ['openai', 'anthropic', 'ollama', 'groq'],
    flags: { headerAttribute: ['x-test-case=test_case', 'x-tenant=tenant'], maxAttributeValues: '20', prices: priceFile },
  });
});

afterAll(async () => {
  await harness.close();
});

async function replay(file: string, route: string, testCase: string, extraHeaders: Record<string, string> = {}): Promise<void> {
  const exchange = corpus.get(file) as CorpusExchange;
  harness.provider.enqueue({ status: exchange.response.status, headers: exchange.response.headers, chunks: responseChunks(exchange) });
  const response = await fetch(`${harness.sidecar.url}/${route}${exchange.request.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-case': testCase, ...extraHeaders },
    body: JSON.stringify(exchange.request.body),
  });
  await response.arrayBuffer();
}

test('cost comes from the built-in price table (OpenAI, cached input billed at the cache rate)', async () => {
  await replay('openai/chat_prompt_cache_hit.json', 'openai', 'cost-openai');
  const points = await harness.metrics((all) => pointsOf(all, METRICS.cost.name, { test_case: 'cost-openai' }).length > 0);
  // gpt-4o-mini: 125 uncached x $0.15 + 1024 cached x $0.075 + 353 output x $0.60, per million.
  expect(pointsOf(points, METRICS.cost.name, { test_case: 'cost-openai' })[0]?.value).toBeCloseTo(0.00030735, 10);
});

test('cost of an Anthropic cache write uses the cache-write rate', async () => {
  await replay('anthropic/messages_prompt_cache_write.json', 'anthropic', 'cost-anthropic');
  const points = await harness.metrics((all) => pointsOf(all, METRICS.cost.name, { test_case: 'cost-anthropic' }).length > 0);
  // claude-3-5-sonnet: 4 x $3 + 1163 x $3.75 + 187 x $15, per million.
  expect(pointsOf(points, METRICS.cost.name, { test_case: 'cost-anthropic' })[0]?.value).toBeCloseTo(0.00717825, 10);
});

test('a user price file prices a self-hosted model', async () => {
  await replay('ollama/api_chat_llama3.json', 'ollama', 'cost-ollama');
  const points = await harness.metrics((all) => pointsOf(all, METRICS.cost.name, { test_case: 'cost-ollama' }).length > 0);
  // 17 input x $2 + 66 output x $10, per million.
  expect(pointsOf(points, METRICS.cost.name, { test_case: 'cost-ollama' })[0]?.value).toBeCloseTo((17 * 2 + 66 * 10) / 1e6, 12);
});

test('rate-limit headroom gauges follow the provider headers', async () => {
  await replay('openai/chat_stream_include_usage_tool_call.json', 'openai', 'limits');
  const points = await harness.metrics(
    (all) => pointsOf(all, METRICS.rateLimitRemaining.name, { [ATTR.rateLimitResource]: 'requests' }).length > 0,
  );
  const match = { [ATTR.providerName]: 'openai', [ATTR.rateLimitResource]: 'requests' };
  expect(pointsOf(points, METRICS.rateLimitRemaining.name, match)[0]?.value).toBe(29999);
  expect(pointsOf(points, METRICS.rateLimitLimit.name, match)[0]?.value).toBe(30000);
  expect(pointsOf(points, METRICS.rateLimitResetSeconds.name, match)[0]?.value).toBeCloseTo(0.002, 6);
  const tokens = { [ATTR.providerName]: 'openai', [ATTR.rateLimitResource]: 'tokens' };
  expect(pointsOf(points, METRICS.rateLimitRemaining.name, tokens)[0]?.value).toBe(149999993);
});

test('an answer with only some rate-limit headers leaves the other gauges at their last value', async () => {
  const send = async (headers: Record<string, string>): Promise<void> => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json', ...headers }, chunks: ['{"model":"m","usage":{"prompt_tokens":1}}'] });
    await (await fetch(`${harness.sidecar.url}/groq/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' })).text();
  };
  await send({ 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': '40' });
  // The next answer says the limit only: what is left stays the last value seen, not gone.
  await send({ 'x-ratelimit-limit-requests': '120' });
  const match = { [ATTR.providerName]: 'groq', [ATTR.rateLimitResource]: 'requests' };
  const points = await harness.metrics((all) => pointsOf(all, METRICS.rateLimitLimit.name, match)[0]?.value === 120);
  expect(pointsOf(points, METRICS.rateLimitRemaining.name, match).map((point) => point.value)).toEqual([40]);
});

test('a mapped header takes at most --max-attribute-values distinct values; the rest become _OTHER', async () => {
  for (let i = 0; i < 25; i += 1) {
    await replay('openai/chat_basic_gpt35.json', 'openai', 'tenants', { 'x-tenant': `tenant-${i}` });
  }
  const points = await harness.metrics(
    (all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'tenants', tenant: OVERFLOW_VALUE }).length > 0,
  );
  const series = pointsOf(points, METRICS.operationDuration.name, { test_case: 'tenants' });
  const tenants = new Set(series.map((point) => point.attributes.tenant));
  expect(tenants.size).toBe(21);
  expect(series.reduce((total, point) => total + (point.count ?? 0), 0)).toBe(25);
  expect(pointsOf(points, METRICS.operationDuration.name, { test_case: 'tenants', tenant: OVERFLOW_VALUE })[0]?.count).toBe(5);
});
