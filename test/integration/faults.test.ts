/**
 * Faults the sidecar survives with the app's traffic unaffected, and bad input that gets a
 * clear answer while nothing is lost.
 */
import http from 'node:http';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';

const OK_JSON = '{"id":"x","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}';

function chat(harness: Harness, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${harness.sidecar.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

// The collector slow, refusing or answering 503: test/integration/collectorOutage.test.ts.

describe('bad input: a clear answer, nothing lost', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ routes: ['openai'], flags: { maxBodyBytes: '1024', headerAttribute: ['x-test-case=test_case'] } });
  });
  afterAll(async () => {
    await harness.close();
  });

  async function lastUpstreamBody(): Promise<string> {
    const last = harness.provider.received[harness.provider.received.length - 1];
    return last?.body.toString('utf8') ?? '';
  }

  test.each([
    ['malformed JSON', '{"model": "gpt-4o", "messages": [', 'application/json'],
    ['a body over the parse limit', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }), 'application/json'],
    ['a non-JSON content type', 'model=gpt-4o&stream=true', 'application/x-www-form-urlencoded'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1'), 'application/json'],
  ])('%s is forwarded byte for byte and still counted', async (name, body, contentType) => {
    harness.provider.enqueue({ status: 400, headers: { 'content-type': 'application/json' }, chunks: ['{"error":{"message":"bad","code":"invalid_request"}}'] });
    const bytes = Buffer.from(body, 'latin1');
    const response = await fetch(`${harness.sidecar.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-test-case': name },
      body: bytes,
    });
    expect(response.status).toBe(400);
    await response.arrayBuffer();
    const received = harness.provider.received[harness.provider.received.length - 1];
    expect(received?.body.equals(bytes)).toBe(true);
    const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: name }).length > 0);
    expect(pointsOf(points, METRICS.operationDuration.name, { test_case: name })[0]?.attributes[ATTR.errorType]).toBe('invalid_request');
  });

  /** A client that sends `Expect: 100-continue` and holds its body until the 100 arrives, as curl does for uploads. */
  function postExpectingContinue(path: string, contentType: string, body: Buffer, chunked = false): Promise<{ status: number; continued: boolean }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'content-type': contentType, expect: '100-continue' };
      if (!chunked) headers['content-length'] = String(body.length);
      const req = http.request(`${harness.sidecar.url}${path}`, { method: 'POST', headers });
      let continued = false;
      req.on('continue', () => {
        continued = true;
        if (chunked) {
          req.write(body.subarray(0, 100));
          req.end(body.subarray(100));
        } else {
          req.end(body);
        }
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      });
      req.on('error', reject);
    });
  }

  test.each([
    ['a JSON body the sidecar reads', 'application/json', Buffer.from(JSON.stringify({ model: 'whisper-1', messages: [] })), false],
    ['an upload it forwards unread', 'application/octet-stream', Buffer.alloc(4096, 7), false],
    ['a chunked upload it forwards unread', 'application/octet-stream', Buffer.alloc(4096, 9), true],
  ])('Expect: 100-continue with %s: the client is told to continue, the provider gets the body without Expect', async (_name, contentType, body, chunked) => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [OK_JSON] });
    const answer = await postExpectingContinue('/openai/v1/audio/transcriptions', contentType, body, chunked);
    expect(answer).toEqual({ status: 200, continued: true });
    const received = harness.provider.received[harness.provider.received.length - 1];
    expect(received?.body.equals(body)).toBe(true);
    expect(received?.headers.expect).toBeUndefined();
  });

  test('a body over the parse limit is counted as a telemetry event, not an error for the client', async () => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [OK_JSON] });
    const big = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'y'.repeat(4000) }] });
    const response = await chat(harness, big);
    expect(response.status).toBe(200);
    expect(await lastUpstreamBody()).toBe(big);
    const points = await harness.metrics((all) => pointsOf(all, METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: 'request_too_large' }).length > 0);
    expect(pointsOf(points, METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: 'request_too_large' })[0]?.value).toBeGreaterThanOrEqual(1);
  });

  test('invalid SSE framing from the provider reaches the client unchanged', async () => {
    const garbage = 'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {not json\n\nevent\x00: ???\r\n\r\ndata: [DONE]\n\n';
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: [garbage] });
    const response = await chat(harness, '{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}');
    expect(await response.text()).toBe(garbage);
  });

  test('invalid NDJSON framing from the provider reaches the client unchanged', async () => {
    const garbage = '{"message":{"content":"a"},"done":false}\n{not json\n\u0000\u0001\n   \n{"done":true,"eval_count":2}';
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/x-ndjson' }, chunks: [garbage] });
    const response = await chat(harness, '{"model":"llama3","messages":[]}');
    expect(await response.text()).toBe(garbage);
  });

  test('many small headers (800, just under the 16 KiB header limit) are forwarded as sent, and the sidecar keeps serving', async () => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [OK_JSON] });
    const many: Record<string, string> = {};
    for (let i = 0; i < 800; i += 1) many[`x-many-${i}`] = String(i);
    const response = await chat(harness, '{"model":"gpt-4o","messages":[]}', many);
    expect(response.status).toBe(200);
    await response.text();
    const received = harness.provider.received[harness.provider.received.length - 1];
    const forwarded = Object.keys(received?.headers ?? {}).filter((name) => name.startsWith('x-many-'));
    expect(forwarded).toHaveLength(800);
    expect(received?.headers['x-many-799']).toBe('799');
  });

  test('huge headers get 431 from the server, and the sidecar keeps serving', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${harness.sidecar.url}/openai/v1/models`, { headers: { 'x-huge': 'h'.repeat(64 * 1024) } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [OK_JSON] });
    expect((await chat(harness, '{"model":"gpt-4o","messages":[]}')).status).toBe(200);
  });
});

describe('SIGTERM-style shutdown', () => {
  test('readiness goes false first, the in-flight stream finishes, metrics are flushed', async () => {
    const harness = await startHarness({ routes: ['anthropic'], flags: { headerAttribute: ['x-test-case=test_case'] } });
    const events = [
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-20250514","usage":{"input_tokens":11,"output_tokens":1}}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ];
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: events, pauseMs: 200 });
    const streamed = fetch(`${harness.sidecar.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-case': 'shutdown' },
      body: '{"model":"claude-sonnet-4-0","stream":true,"max_tokens":5,"messages":[]}',
    }).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopping = harness.sidecar.stop();
    const readiness = await fetch(`${harness.sidecar.adminUrl}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await streamed).toBe(events.join(''));
    await stopping;
    // The final flush carried the call that finished during shutdown.
    const duration = pointsOf(harness.receiver.latest(), METRICS.operationDuration.name, { test_case: 'shutdown' })[0];
    expect(duration?.count).toBe(1);
    await expect(fetch(`${harness.sidecar.url}/anthropic/v1/messages`, { method: 'POST', body: '{}' })).rejects.toThrow();
    await harness.provider.close();
    await harness.receiver.close();
  });
});
