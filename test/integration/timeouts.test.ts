/**
 * Upstream deadlines: a provider that never answers gets a 504 in the sidecar's error shape;
 * one that goes silent mid-stream is cut; both are recorded as `error.type=timeout`.
 */
import http from 'node:http';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({
    routes: ['openai'],
    flags: { headerAttribute: ['x-test-case=test_case'], firstByteTimeout: '300', idleTimeout: '300' },
  });
});

afterAll(async () => {
  await harness.close();
});

async function errorTypeOf(testCase: string): Promise<string | number | boolean | undefined> {
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: testCase }).length > 0);
  return pointsOf(points, METRICS.operationDuration.name, { test_case: testCase })[0]?.attributes[ATTR.errorType];
}

test('no first byte within the deadline: 504 JSON error, recorded as timeout', async () => {
  harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{}'], headersDelayMs: 1500 });
  const started = Date.now();
  const response = await fetch(`${harness.sidecar.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-case': 'first-byte' },
    body: JSON.stringify({ model: 'o3', messages: [] }),
  });
  expect(response.status).toBe(504);
  expect(Date.now() - started).toBeLessThan(1400);
  const body = (await response.json()) as { error: { code: string } };
  expect(body.error.code).toBe('upstream_timeout');
  expect(await errorTypeOf('first-byte')).toBe('timeout');
});

test('a stream silent for longer than the idle deadline is cut and recorded as timeout', async () => {
  harness.provider.enqueue({
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    chunks: ['data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n', 'data: [DONE]\n\n'],
    pauseMs: 1500,
  });
  const outcome = await new Promise<{ received: string; ended: boolean }>((resolve) => {
    let received = '';
    const req = http.request(`${harness.sidecar.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-case': 'idle' },
    });
    req.on('response', (res) => {
      res.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      res.on('end', () => resolve({ received, ended: true }));
      res.on('error', () => resolve({ received, ended: false }));
    });
    req.on('error', () => resolve({ received, ended: false }));
    req.end(JSON.stringify({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [] }));
  });
  expect(outcome.received).toContain('"content":"a"');
  expect(outcome.ended).toBe(false);
  expect(await errorTypeOf('idle')).toBe('timeout');
});
