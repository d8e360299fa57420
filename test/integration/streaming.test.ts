/**
 * Streaming behaviour over real sockets: nothing is buffered, timing metrics reflect what the
 * provider did, a client that leaves is recorded as cancelled, and the proxy's own answers
 * (unknown route, unreachable upstream, health) are what users expect.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { ATTR, METRICS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import type { ReceivedPoint } from '../helpers/otlpReceiver';
import { openAiChatStream } from '../helpers/openAiStream';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({
    routes: ['openai', 'anthropic', 'ollama', 'gateway:openai', 'slashless:openai'],
    upstreamPaths: { 'gateway:openai': '/team-a/openai/', 'slashless:openai': '/team-b' },
    flags: { headerAttribute: ['x-test-case=test_case'] },
  });
});

afterAll(async () => {
  await harness.close();
});

interface Arrival {
  at: number;
  text: string;
}

/** POST through the sidecar and note when each piece of the body arrives. */
function post(path: string, body: unknown, testCase: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; arrivals: Arrival[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${harness.sidecar.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-case': testCase },
    });
    req.on('response', (res) => {
      const arrivals: Arrival[] = [];
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        arrivals.push({ at: performance.now(), text: chunk.toString('utf8') });
        parts.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, arrivals, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const ANTHROPIC_EVENTS = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}}}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}}\n\n',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
];

describe('no buffering', () => {
  test.each([
    ['pass-through stream (anthropic)', '/anthropic/v1/messages', { model: 'claude-sonnet-4-0', stream: true, max_tokens: 10, messages: [] }, ANTHROPIC_EVENTS],
    [
      'stream whose injected usage is hidden (openai)',
      '/openai/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, messages: [] },
      openAiChatStream({ model: 'gpt-4o-mini', words: ['a', 'b', 'c'], usage: { prompt_tokens: 5, completion_tokens: 3 } }, true),
    ],
  ])('%s: each event reaches the client before the provider sends the next', async (_name, path, body, events) => {
    const written: number[] = [];
    harness.provider.enqueue({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      chunks: events,
      pauseMs: 120,
      onChunkWritten: () => written.push(performance.now()),
    });
    const result = await post(path, body, `nobuffer-${path}`);
    expect(result.status).toBe(200);
    // The first event arrived before the provider even wrote the second one.
    const secondWrite = written[1] ?? Infinity;
    expect(result.arrivals[0]?.at).toBeLessThan(secondWrite);
    // And arrivals are spread out like the provider's writes, not bunched at the end.
    const lastArrival = result.arrivals[result.arrivals.length - 1]?.at ?? 0;
    expect(lastArrival - (result.arrivals[0]?.at ?? 0)).toBeGreaterThan(120 * (events.length - 2));
  });
});

test('time to first chunk and time per output chunk reflect the provider pauses', async () => {
  harness.provider.enqueue({
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    chunks: ANTHROPIC_EVENTS,
    firstChunkDelayMs: 300,
    pauseMs: 100,
  });
  const result = await post('/anthropic/v1/messages', { model: 'claude-sonnet-4-0', stream: true, max_tokens: 10, messages: [] }, 'timing');
  expect(result.body.toString('utf8')).toBe(ANTHROPIC_EVENTS.join(''));
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'timing' }).length > 0);
  const ttfc = pointsOf(points, METRICS.timeToFirstChunk.name, { test_case: 'timing' })[0];
  // message_start carries no content: the first content chunk is content_block_start, written at 300 + 100 ms.
  expect(ttfc?.count).toBe(1);
  expect(ttfc?.sum).toBeGreaterThanOrEqual(0.39);
  expect(ttfc?.sum).toBeLessThan(1.5);
  const perChunk = pointsOf(points, METRICS.timePerOutputChunk.name, { test_case: 'timing' })[0];
  // content_block_start and two deltas are content: two gaps after the first.
  expect(perChunk?.count).toBe(2);
  expect((perChunk?.sum ?? 0) / 2).toBeGreaterThanOrEqual(0.09);
  const duration = pointsOf(points, METRICS.operationDuration.name, { test_case: 'timing' })[0];
  expect(duration?.sum).toBeGreaterThanOrEqual(0.9);
});

test('a client that disconnects mid-stream is recorded as cancelled with the tokens seen so far', async () => {
  harness.provider.enqueue({
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    chunks: ANTHROPIC_EVENTS,
    pauseMs: 150,
  });
  const abortedBefore = harness.provider.aborted;
  await new Promise<void>((resolve, reject) => {
    const req = http.request(`${harness.sidecar.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-case': 'cancelled' },
    });
    req.on('response', (res) => {
      let seen = 0;
      res.on('data', () => {
        seen += 1;
        if (seen === 3) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    req.end(JSON.stringify({ model: 'claude-sonnet-4-0', stream: true, max_tokens: 10, messages: [] }));
  });
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'cancelled' }).length > 0);
  const duration = pointsOf(points, METRICS.operationDuration.name, { test_case: 'cancelled' })[0];
  expect(duration?.attributes[ATTR.errorType]).toBe('cancelled');
  const input = pointsOf(points, METRICS.tokenUsage.name, { test_case: 'cancelled', [ATTR.tokenType]: 'input' })[0];
  expect(input?.sum).toBe(25);
  // The upstream request was aborted too, not left streaming into the void.
  await waitUntil(() => harness.provider.aborted > abortedBefore);
});

test('a provider that resets mid-stream: the client sees the stream cut, the call is a connection_error', async () => {
  harness.provider.enqueue({
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    chunks: ANTHROPIC_EVENTS,
    resetAfterChunks: 3,
  });
  const outcome = await new Promise<{ received: string; error?: string }>((resolve) => {
    let received = '';
    const req = http.request(`${harness.sidecar.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-case': 'upstream-reset' },
    });
    req.on('response', (res) => {
      res.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      res.on('end', () => resolve({ received }));
      res.on('error', (error) => resolve({ received, error: error.message }));
    });
    req.on('error', (error) => resolve({ received, error: error.message }));
    req.end(JSON.stringify({ model: 'claude-sonnet-4-0', stream: true, max_tokens: 10, messages: [] }));
  });
  // What the provider sent arrived; then the stream broke instead of ending cleanly.
  expect(outcome.received).toBe(ANTHROPIC_EVENTS.slice(0, 3).join(''));
  expect(outcome.error).toBeDefined();
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'upstream-reset' }).length > 0);
  const duration = pointsOf(points, METRICS.operationDuration.name, { test_case: 'upstream-reset' })[0];
  expect(duration?.attributes[ATTR.errorType]).toBe('connection_error');
  expect(pointsOf(points, METRICS.tokenUsage.name, { test_case: 'upstream-reset', [ATTR.tokenType]: 'input' })[0]?.sum).toBe(25);
});

test('Ollama NDJSON streams pass through and are measured', async () => {
  const lines = [
    '{"model":"llama3","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}\n',
    '{"model":"llama3","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"!"},"done":false}\n',
    '{"model":"llama3","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":12,"eval_count":2}\n',
  ];
  harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/x-ndjson' }, chunks: lines, pauseMs: 30 });
  // No "stream" field: Ollama streams by default.
  const result = await post('/ollama/api/chat', { model: 'llama3', messages: [{ role: 'user', content: 'hi' }] }, 'ollama-ndjson');
  expect(result.body.toString('utf8')).toBe(lines.join(''));
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'ollama-ndjson' }).length > 0);
  expect(pointsOf(points, METRICS.tokenUsage.name, { test_case: 'ollama-ndjson', [ATTR.tokenType]: 'output' })[0]?.sum).toBe(2);
  expect(pointsOf(points, METRICS.timeToFirstChunk.name, { test_case: 'ollama-ndjson' })[0]?.count).toBe(1);
});

test('a gzip-compressed answer reaches the client compressed and is still measured', async () => {
  const json = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 21, completion_tokens: 4 } });
  const compressed = zlib.gzipSync(json);
  harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, chunks: [compressed] });
  const result = await post('/openai/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, 'gzip');
  expect(result.headers['content-encoding']).toBe('gzip');
  expect(result.body.equals(compressed)).toBe(true);
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'gzip' }).length > 0);
  expect(pointsOf(points, METRICS.tokenUsage.name, { test_case: 'gzip', [ATTR.tokenType]: 'input' })[0]?.sum).toBe(21);
});

describe('forwarding', () => {
  test.each([
    ['gateway', '/v1/chat/completions?x=1', '/team-a/openai/v1/chat/completions?x=1'],
    ['slashless', '/v1/embeddings', '/team-b/v1/embeddings'],
    ['gateway', '?x=1', '/team-a/openai/?x=1'],
    ['openai', '', '/'],
  ])('a route whose upstream URL has a path keeps it in front: /%s%s -> %s', async (route, rest, expected) => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{}'] });
    const response = await fetch(`${harness.sidecar.url}/${route}${rest}`);
    expect(response.status).toBe(200);
    await response.text();
    expect(harness.provider.received[harness.provider.received.length - 1]?.url).toBe(expected);
  });

  test('method, path, query, headers and body reach the provider unchanged; Host is the upstream', async () => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json', 'x-request-id': 'req_1' }, chunks: ['{"ok":true}'] });
    const rawBody = '{ "model": "gpt-4o",\n  "messages": [] }';
    const response = await fetch(`${harness.sidecar.url}/openai/v1/chat/completions?api-version=2024-02-01&x=%2F`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-secret', 'x-custom': 'kept', te: 'trailers' },
      body: rawBody,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(await response.text()).toBe('{"ok":true}');
    const upstream = harness.provider.received[harness.provider.received.length - 1];
    expect(upstream?.method).toBe('POST');
    expect(upstream?.url).toBe('/v1/chat/completions?api-version=2024-02-01&x=%2F');
    expect(upstream?.body.toString('utf8')).toBe(rawBody);
    expect(upstream?.headers.authorization).toBe('Bearer sk-secret');
    expect(upstream?.headers['x-custom']).toBe('kept');
    expect(upstream?.headers.te).toBeUndefined();
    expect(upstream?.headers.host).toBe(`127.0.0.1:${harness.provider.port}`);
    expect(upstream?.headers['x-forwarded-for']).toBeUndefined();
  });

  test('a streaming request gets include_usage spliced in; every other byte of its body is the client’s', async () => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: openAiChatStream({ model: 'gpt-4o', words: ['a'], usage: { prompt_tokens: 1, completion_tokens: 1 } }, true) });
    // A seed past 2^53, a float written as 1.0 and an escaped character: a parse and re-serialise would change all three.
    const rawBody = '{ "model": "gpt-4o", "seed": 12345678901234567890, "temperature": 1.0, "stream": true,\n  "messages": [{"role": "user", "content": "caf\\u00e9"}] }';
    const response = await fetch(`${harness.sidecar.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: rawBody });
    expect(response.status).toBe(200);
    expect(await response.text()).not.toContain('"usage"');
    const upstream = harness.provider.received[harness.provider.received.length - 1];
    expect(upstream?.body.toString('utf8')).toBe(`{"stream_options":{"include_usage":true},${rawBody.slice(1)}`);
    expect(upstream?.headers['content-length']).toBe(String(upstream?.body.length));
  });

  test('requests no provider module understands are still proxied and counted', async () => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"object":"list","data":[]}'] });
    const response = await fetch(`${harness.sidecar.url}/openai/v1/models`, { headers: { 'x-test-case': 'models-list' } });
    expect(await response.json()).toEqual({ object: 'list', data: [] });
    const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'models-list' }).length > 0);
    const duration = pointsOf(points, METRICS.operationDuration.name, { test_case: 'models-list' })[0];
    expect(duration?.attributes[ATTR.operationName]).toBe('_OTHER');
    expect(duration?.attributes[ATTR.httpStatusCode]).toBe(200);
  });
});

describe("the sidecar's own answers", () => {
  test('an unknown route gets a JSON 404 naming the configured routes, and nothing is forwarded', async () => {
    const before = harness.provider.received.length;
    const response = await fetch(`${harness.sidecar.url}/nope/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe('unknown_route');
    expect(body.error.message).toContain('/openai');
    expect(body.error.message).toContain('/anthropic');
    expect(harness.provider.received.length).toBe(before);
  });

  test('an absolute-URI request cannot reach another host', async () => {
    const before = harness.provider.received.length;
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(harness.sidecar.url);
      const req = http.request({ host: url.hostname, port: url.port, method: 'GET', path: 'http://example.invalid/openai/v1/models' });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    expect(harness.provider.received.length).toBe(before);
  });

  test('an unreachable upstream gives a 502 JSON error and is recorded as connection_error', async () => {
    const dead = await startHarness({ routes: ['openai'], flags: { headerAttribute: ['x-test-case=test_case'] } });
    await dead.provider.close();
    try {
      const duration = await expectUnreachableAnswer(dead, 'dead');
      expect(duration?.attributes[ATTR.requestModel]).toBe('gpt-4o');
    } finally {
      await dead.sidecar.stop();
      await dead.receiver.close();
    }
  });

  test.each([
    ['answers with bytes that are not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
    ['closes right after the request without a word', ''],
    ['sends a head with a malformed status line', 'HTTP/1.1 2OO OK\r\ncontent-length: 2\r\n\r\n{}'],
  ])('an upstream that %s: a 502 in the API error shape, recorded as connection_error', async (_what, reply) => {
    const notHttp = net.createServer((socket) => {
      socket.once('data', () => socket.end(reply));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => notHttp.listen(0, '127.0.0.1', resolve));
    const port = (notHttp.address() as AddressInfo).port;
    const odd = await startHarness({ routes: ['openai'], flags: { upstream: [`openai=http://127.0.0.1:${port}`], headerAttribute: ['x-test-case=test_case'] } });
    try {
      await expectUnreachableAnswer(odd, 'not-http');
      // The sidecar keeps serving.
      expect((await fetch(`${odd.sidecar.adminUrl}/healthz`)).status).toBe(200);
    } finally {
      await odd.close();
      notHttp.close();
    }
  });

  test('health endpoints answer on the admin port', async () => {
    expect((await fetch(`${harness.sidecar.adminUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${harness.sidecar.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});

/**
 * One chat call through `h` whose upstream cannot be used: the client gets a 502
 * `upstream_unreachable`, and the call is recorded as connection_error. Returns its duration point.
 */
async function expectUnreachableAnswer(h: Harness, testCase: string): Promise<ReceivedPoint | undefined> {
  const response = await fetch(`${h.sidecar.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-case': testCase },
    body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
  });
  expect(response.status).toBe(502);
  const body = (await response.json()) as { error: { code: string } };
  expect(body.error.code).toBe('upstream_unreachable');
  const points = await h.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: testCase }).length > 0);
  const duration = pointsOf(points, METRICS.operationDuration.name, { test_case: testCase })[0];
  expect(duration?.attributes[ATTR.errorType]).toBe('connection_error');
  return duration;
}

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
