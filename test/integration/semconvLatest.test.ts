/**
 * OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental over OTLP: exactly the newer set's
 * names, units, kinds, bucket boundaries and attributes (names.ts LATEST_METRICS), every call
 * recorded with 0 for a token count it did not report, and none of the v1.41 GenAI metrics.
 */
import { ATTR, DURATION_BUCKETS, LATEST_METRICS, METRICS, SEMCONV, TOKEN_BUCKETS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ routes: ['openai'], flags: { semconvOptIn: `http,${SEMCONV.optInValue}` } });
  harness.provider.enqueue({
    status: 200,
    headers: { 'content-type': 'application/json' },
    chunks: ['{"model":"gpt-4o","usage":{"prompt_tokens":120,"completion_tokens":30,"prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":10}}}'],
  });
  harness.provider.enqueue({ status: 500, headers: { 'content-type': 'application/json' }, chunks: ['{"error":{"message":"boom","code":"server_error"}}'] });
  for (let index = 0; index < 2; index += 1) {
    await (await fetch(`${harness.sidecar.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o","messages":[]}' })).text();
  }
});
afterAll(() => harness.close());

const sumOf = (points: ReturnType<typeof pointsOf>): number => points.reduce((total, point) => total + (point.value ?? 0), 0);

test('the newer names, units, kinds and buckets, and no v1.41 GenAI metric', async () => {
  const points = await harness.metrics((all) => pointsOf(all, LATEST_METRICS.inferenceDuration.name).reduce((n, p) => n + (p.count ?? 0), 0) >= 2);
  for (const definition of Object.values(LATEST_METRICS)) {
    if (definition === LATEST_METRICS.inferenceTimeToFirstChunk || definition === LATEST_METRICS.inferenceTimePerOutputChunk) continue; // streaming only
    const found = pointsOf(points, definition.name);
    expect({ name: definition.name, found: found.length > 0 }).toEqual({ name: definition.name, found: true });
    for (const point of found) {
      expect({ name: definition.name, unit: point.unit, kind: point.kind }).toEqual({ name: definition.name, unit: definition.unit, kind: definition.kind === 'counter' ? 'sum' : 'histogram' });
      if (definition.kind === 'histogram') expect(point.explicitBounds).toEqual(definition.unit === 's' ? DURATION_BUCKETS : TOKEN_BUCKETS);
    }
  }
  for (const old of [METRICS.tokenUsage, METRICS.operationDuration, METRICS.timeToFirstChunk, METRICS.timePerOutputChunk, METRICS.tokenDetail]) {
    expect({ name: old.name, points: pointsOf(points, old.name).length }).toEqual({ name: old.name, points: 0 });
  }
});

test('token counters carry gen_ai.token.modality and add up; a call without usage adds 0', async () => {
  const points = await harness.metrics((all) => pointsOf(all, LATEST_METRICS.inferenceDuration.name).reduce((n, p) => n + (p.count ?? 0), 0) >= 2);
  const counters = [LATEST_METRICS.usageInputTokens, LATEST_METRICS.usageOutputTokens, LATEST_METRICS.usageCacheReadInputTokens, LATEST_METRICS.usageCacheWriteInputTokens, LATEST_METRICS.usageReasoningOutputTokens];
  for (const counter of counters) {
    for (const point of pointsOf(points, counter.name)) expect(point.attributes[ATTR.tokenModality]).toBe('unknown');
  }
  expect(counters.map((counter) => sumOf(pointsOf(points, counter.name)))).toEqual([120, 30, 100, 0, 10]);
  // The failed call (error.type 500) has its own series: 0 tokens recorded, as the conventions ask.
  const failed = pointsOf(points, LATEST_METRICS.usageInputTokens.name, { [ATTR.errorType]: 'server_error' });
  expect(failed.map((point) => point.value)).toEqual([0]);
  const perCall = pointsOf(points, LATEST_METRICS.operationInputTokens.name);
  expect(perCall.map((point) => [point.attributes[ATTR.errorType] ?? null, point.count, point.sum]).sort()).toEqual([
    [null, 1, 120],
    ['server_error', 1, 0],
  ].sort());
});
