/**
 * The proxy and admin listeners against a hostile client (issue 22, items 2, 4, 5, 6 and 10),
 * over raw sockets on loopback: a request that is never finished is cut after --request-timeout
 * while a long answer still streams; buffered request bodies share one memory budget, past which
 * bodies stream through unparsed and are still counted; a request with more header fields than
 * the sidecar keeps is refused instead of losing its body; pipelined requests are served one at a
 * time; both listeners cap their connections; refusals and upstream failures are logged without
 * request bytes; the loopback warnings name the right addresses.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveRunConfig } from '../../src/cli/runFlags';
import { createLogger } from '../../src/log/logger';
import { startSidecar } from '../../src/sidecar';
import { METRICS } from '../../src/telemetry/names';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import { startOtlpReceiver } from '../helpers/otlpReceiver';
import { rawClient, sleep, type RawClient } from '../helpers/rawClient';

const CANARY = 'canary-REQUEST-BYTES-5d0c2e';

/** An upstream that notes each request when its head arrives (before any body), and its connections. */
interface HeadUpstream {
  url: string;
  heads: string[];
  connections: number;
  active: number;
  maxActive: number;
  close(): Promise<void>;
}

async function startHeadUpstream(answerDelayMs = 0): Promise<HeadUpstream> {
  const state = { heads: [] as string[], connections: 0, active: 0, maxActive: 0 };
  const server = http.createServer((req, res) => {
    state.heads.push(`${req.method} ${req.url} ${req.headers['x-test-case'] ?? ''}`);
    state.active += 1;
    state.maxActive = Math.max(state.maxActive, state.active);
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => {
      setTimeout(() => {
        state.active -= 1;
        const body = JSON.stringify({ id: 'x', model: 'gpt-4o', received: size, usage: { prompt_tokens: 1, completion_tokens: 1 } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }, answerDelayMs);
    });
  });
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get heads() {
      return state.heads;
    },
    get connections() {
      return state.connections;
    },
    get active() {
      return state.active;
    },
    get maxActive() {
      return state.maxActive;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function chatHead(contentLength: number, testCase: string, extra: string[] = []): string {
  return [
    'POST /openai/v1/chat/completions HTTP/1.1',
    'Host: sidecar',
    'Content-Type: application/json',
    `Content-Length: ${contentLength}`,
    `X-Test-Case: ${testCase}`,
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** A JSON chat body of exactly `size` bytes. */
function jsonBody(size: number): Buffer {
  const prefix = '{"model":"gpt-4o","messages":[{"role":"user","content":"';
  const suffix = '"}]}';
  return Buffer.from(prefix + 'a'.repeat(size - prefix.length - suffix.length) + suffix);
}

describe('item 2: the time to receive a request is bounded, the answer is not', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ routes: ['openai'], flags: { requestTimeout: '1000', headerAttribute: ['x-test-case=test_case'] } });
  });
  afterAll(async () => {
    await harness.close();
  });

  test.each([
    ['a half-sent body', (client: RawClient) => client.socket.write(chatHead(100, 'half') + '{"model":')],
    ['Expect: 100-continue and no body', (client: RawClient) => client.socket.write(chatHead(100, 'expect', ['Expect: 100-continue']))],
    ['headers that never end', (client: RawClient) => client.socket.write('POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\n')],
    ['a silent connection', () => undefined],
  ])('%s: 408 and the connection closed after --request-timeout', async (_name, send) => {
    const client = await rawClient(harness.sidecar.url);
    const started = Date.now();
    send(client);
    const closed = await client.waitClosed(4000);
    client.socket.destroy();
    expect({ closed, within: Date.now() - started < 3500 }).toEqual({ closed: true, within: true });
    if (_name !== 'a silent connection') expect(client.text()).toMatch(/HTTP\/1\.1 408/);
  });

  test('a body trickled one byte at a time is cut at the deadline', async () => {
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(chatHead(1000, 'trickle'));
    const trickle = setInterval(() => client.socket.write('a'), 200);
    const closed = await client.waitClosed(4000);
    clearInterval(trickle);
    client.socket.destroy();
    expect(closed).toBe(true);
  });

  test('a long answer still streams past the request deadline', async () => {
    const events = Array.from({ length: 10 }, (_, i) => `data: {"choices":[{"index":0,"delta":{"content":"${i}"}}]}\n\n`);
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: [...events, 'data: [DONE]\n\n'], pauseMs: 250 });
    const response = await fetch(`${harness.sidecar.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [] }),
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toContain('[DONE]');
  });

  test('an idle keep-alive connection outlives the request deadline', async () => {
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{}'] });
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{}'] });
    const client = await rawClient(harness.sidecar.url);
    const get = 'GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n\r\n';
    client.socket.write(get);
    expect(await client.waitFor(/HTTP\/1\.1 200/, 2000)).toBe(true);
    await sleep(2000);
    client.socket.write(get);
    expect(await client.waitFor(/HTTP\/1\.1 200[\s\S]*HTTP\/1\.1 200/, 2000)).toBe(true);
    client.socket.destroy();
  });
});

describe('item 2: buffered request bodies share one memory budget', () => {
  let harness: Harness;
  let upstream: HeadUpstream;
  beforeAll(async () => {
    upstream = await startHeadUpstream();
    harness = await startHarness({
      routes: ['openai'],
      flags: { upstream: [`openai=${upstream.url}`], maxBufferedBytes: String(1024 * 1024), headerAttribute: ['x-test-case=test_case'] },
    });
  });
  afterAll(async () => {
    await harness.close();
    await upstream.close();
  });

  test('past the budget a body streams through unparsed, is still counted, and the budget comes back', async () => {
    const size = 700 * 1024;
    const first = await rawClient(harness.sidecar.url);
    const firstBody = jsonBody(size);
    first.socket.write(chatHead(size, 'budget-first'));
    first.socket.write(firstBody.subarray(0, 600 * 1024));
    await sleep(200);
    const second = await rawClient(harness.sidecar.url);
    const secondBody = jsonBody(size);
    second.socket.write(chatHead(size, 'budget-second'));
    second.socket.write(secondBody.subarray(0, 600 * 1024));
    // The second body does not fit next to the first: it goes upstream before it is complete,
    // while the first is still being read for telemetry.
    const deadline = Date.now() + 2000;
    while (!upstream.heads.some((head) => head.includes('budget-second')) && Date.now() < deadline) await sleep(20);
    expect(upstream.heads.filter((head) => head.includes('budget'))).toEqual(['POST /v1/chat/completions budget-second']);
    second.socket.write(secondBody.subarray(600 * 1024));
    first.socket.write(firstBody.subarray(600 * 1024));
    expect(await second.waitFor(/HTTP\/1\.1 200/, 2000)).toBe(true);
    expect(await first.waitFor(/HTTP\/1\.1 200/, 2000)).toBe(true);
    expect(first.text()).toContain(`"received":${size}`);
    expect(second.text()).toContain(`"received":${size}`);
    first.socket.destroy();
    second.socket.destroy();
    // Both calls are counted; only the buffered one knew its model.
    const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: 'budget-second' }).length > 0 && pointsOf(all, METRICS.operationDuration.name, { test_case: 'budget-first' }).length > 0);
    expect(pointsOf(points, METRICS.operationDuration.name, { test_case: 'budget-first' })[0]?.attributes['gen_ai.request.model']).toBe('gpt-4o');
    // Once both calls ended, their share is back: a third body is buffered again (not upstream before it ends).
    const third = await rawClient(harness.sidecar.url);
    const thirdBody = jsonBody(size);
    third.socket.write(chatHead(size, 'budget-third'));
    third.socket.write(thirdBody.subarray(0, 600 * 1024));
    await sleep(300);
    expect(upstream.heads.some((head) => head.includes('budget-third'))).toBe(false);
    third.socket.write(thirdBody.subarray(600 * 1024));
    expect(await third.waitFor(/HTTP\/1\.1 200/, 2000)).toBe(true);
    third.socket.destroy();
  });
});

describe('item 4: more header fields than the sidecar keeps are refused, never half-forwarded', () => {
  let harness: Harness;
  let upstream: HeadUpstream;
  beforeAll(async () => {
    upstream = await startHeadUpstream();
    harness = await startHarness({ routes: ['openai'], flags: { upstream: [`openai=${upstream.url}`] } });
  });
  afterAll(async () => {
    await harness.close();
    await upstream.close();
  });

  // Short fields, so the count and not the 16 KiB header size limit is what a request runs into.
  function filler(count: number): string[] {
    return Array.from({ length: count }, (_, i) => `X-F${i}: 1`);
  }

  test.each([998, 1100])('%i filler headers and a body: 431, nothing reaches the upstream', async (count) => {
    const before = upstream.heads.length;
    const body = '{"model":"gpt-4o","messages":[]}    ';
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(['POST /openai/v1/chat/completions HTTP/1.1', 'Host: x', ...filler(count), 'Content-Type: application/json', `Content-Length: ${body.length}`, '', body].join('\r\n'));
    await client.waitFor(/HTTP\/1\.1 \d{3}/, 2000);
    await client.waitClosed(1000);
    client.socket.destroy();
    expect(client.text().split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(upstream.heads.length).toBe(before);
  });

  test.each([40, 150, 990])('%i filler headers pass with their body', async (count) => {
    const body = '{"model":"gpt-4o","messages":[]}';
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(['POST /openai/v1/chat/completions HTTP/1.1', 'Host: x', ...filler(count), 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close', '', body].join('\r\n'));
    await client.waitClosed(2000);
    expect(client.text()).toMatch(/^HTTP\/1\.1 200/);
    expect(client.text()).toContain(`"received":${body.length}`);
  });
});

describe('item 5: pipelined requests are served one at a time', () => {
  let harness: Harness;
  let upstream: HeadUpstream;
  beforeAll(async () => {
    upstream = await startHeadUpstream(20);
    harness = await startHarness({ routes: ['openai'], flags: { upstream: [`openai=${upstream.url}`] } });
  });
  afterAll(async () => {
    await harness.close();
    await upstream.close();
  });

  test('ten pipelined requests: ten answers in order, never two upstream at once', async () => {
    const client = await rawClient(harness.sidecar.url);
    const requests = Array.from({ length: 10 }, (_, i) => `GET /openai/v1/models?n=${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    client.socket.write(requests.join(''));
    const all = await client.waitFor(/(HTTP\/1\.1 200[\s\S]*){10}/, 5000);
    client.socket.destroy();
    expect(all).toBe(true);
    expect(upstream.maxActive).toBe(1);
    expect(upstream.heads.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => `GET /v1/models?n=${i} `));
  });

  test('2,000 pipelined requests do not fan out upstream, and the sidecar keeps serving', async () => {
    const connectionsBefore = upstream.connections;
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(`GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(2000));
    await client.waitClosed(3000);
    client.socket.destroy();
    console.log(`2,000 pipelined requests: ${upstream.connections - connectionsBefore} new upstream connection(s), at most ${upstream.maxActive} upstream request(s) at once`);
    expect(upstream.maxActive).toBe(1);
    expect(upstream.connections - connectionsBefore).toBeLessThanOrEqual(1);
    const response = await fetch(`${harness.sidecar.url}/openai/v1/models`);
    expect(response.status).toBe(200);
    await response.text();
  });
});

describe('item 6: both listeners cap their connections; admin answers only GET and HEAD, briefly', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ routes: ['openai'], flags: { maxConnections: '20', adminMaxConnections: '4' } });
  });
  afterAll(async () => {
    await harness.close();
  });

  async function openSilent(base: string, count: number): Promise<RawClient[]> {
    const clients: RawClient[] = [];
    for (let i = 0; i < count; i += 1) clients.push(await rawClient(base));
    return clients;
  }

  test('proxy: 60 silent connections, at most --max-connections held; a new call works once they leave', async () => {
    const clients = await openSilent(harness.sidecar.url, 60);
    await sleep(500);
    const held = clients.filter((client) => !client.closed()).length;
    console.log(`proxy: ${held} of 60 silent connections held with --max-connections 20`);
    expect(held).toBeLessThanOrEqual(20);
    for (const client of clients) client.socket.destroy();
    await sleep(200);
    harness.provider.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{}'] });
    expect((await fetch(`${harness.sidecar.url}/openai/v1/models`)).status).toBe(200);
  });

  test('admin: at most --admin-max-connections held, silent ones cut within seconds, probes still answered', async () => {
    const clients = await openSilent(harness.sidecar.adminUrl, 12);
    await sleep(300);
    const held = clients.filter((client) => !client.closed()).length;
    console.log(`admin: ${held} of 12 silent connections held with --admin-max-connections 4`);
    expect(held).toBeLessThanOrEqual(4);
    const started = Date.now();
    while (clients.some((client) => !client.closed()) && Date.now() - started < 5000) await sleep(50);
    expect(clients.every((client) => client.closed())).toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await fetch(`${harness.sidecar.adminUrl}/healthz`)).status).toBe(200);
  });

  test.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])('admin: %s answers 405 and allows GET, HEAD', async (method) => {
    const response = await fetch(`${harness.sidecar.adminUrl}/healthz`, { method, body: method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : undefined });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    await response.text();
  });

  test('admin: HEAD /readyz answers 200', async () => {
    expect((await fetch(`${harness.sidecar.adminUrl}/readyz`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('item 10: refusals and upstream failures are logged, without request bytes', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({
      routes: ['openai'],
      flags: { upstream: ['openai=http://127.0.0.1:9'], requestTimeout: '800', logLevel: 'debug' },
    });
  });
  afterAll(async () => {
    await harness.close();
  });

  function lines(): Array<Record<string, unknown>> {
    return harness.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async function send(payload: string): Promise<string> {
    const client = await rawClient(harness.sidecar.url);
    client.socket.write(payload);
    await client.waitClosed(3000);
    client.socket.destroy();
    return client.text();
  }

  test('a 400, a 408, a 431 (too many fields and too large), an absolute-form 400 and an upstream 502 each leave a debug line', async () => {
    expect(await send(`GET /openai/${CANARY} HTTP/1.1\r\nHost: x\r\nBad Header ${CANARY}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await send(`POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"${CANARY}`)).toMatch(/^HTTP\/1\.1 408/);
    const many = [`X-Canary: ${CANARY}`, ...Array.from({ length: 1100 }, (_, i) => `X-${i}: 1`)].join('\r\n');
    expect(await send(`GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    expect(await send(`GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${CANARY.repeat(1000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    expect(await send(`GET http://127.0.0.1:9/${CANARY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await send(`GET /openai/v1/models?key=${CANARY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 502/);
    await sleep(100);
    const logged = lines();
    const statuses = logged.filter((line) => line.level === 'debug' && typeof line.status === 'number').map((line) => line.status);
    expect(statuses).toEqual(expect.arrayContaining([400, 408, 431, 502]));
    expect(statuses.filter((status) => status === 431)).toHaveLength(2);
    expect(statuses.filter((status) => status === 400)).toHaveLength(2);
    expect(harness.logLines.join('')).not.toContain(CANARY);
  });

  test('at info level the same lines are rate-limited', async () => {
    const receiver = await startOtlpReceiver();
    const logLines: string[] = [];
    const config = resolveRunConfig(
      { listen: '127.0.0.1:0', adminListen: '127.0.0.1:0', upstream: ['openai=http://127.0.0.1:9'], otlpEndpoint: receiver.url, exportInterval: '3600000', logLevel: 'info' },
      {},
      'test',
    );
    const sidecar = await startSidecar(config, createLogger('info', 'json', { write: (line: string) => logLines.push(line) }));
    try {
      for (let i = 0; i < 30; i += 1) {
        const client = await rawClient(sidecar.url);
        client.socket.write(`BAD ${CANARY}\r\n\r\n`);
        await client.waitClosed(1000);
        client.socket.destroy();
      }
      const refusals = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.status === 400);
      console.log(`30 malformed requests at info level: ${refusals.length} log line(s)`);
      expect(refusals.length).toBeGreaterThanOrEqual(1);
      expect(refusals.length).toBeLessThanOrEqual(2);
      expect(refusals.every((line) => line.level === 'info')).toBe(true);
      expect(logLines.join('')).not.toContain(CANARY);
    } finally {
      await sidecar.stop();
      await receiver.close();
    }
  });

  test('the loopback warnings: none for 127.0.0.3, one for an admin port beyond loopback', async () => {
    const receiver = await startOtlpReceiver();
    const logLines: string[] = [];
    const config = resolveRunConfig(
      { listen: '127.0.0.3:0', adminListen: '0.0.0.0:0', upstream: ['openai=http://127.0.0.1:9'], otlpEndpoint: receiver.url, exportInterval: '3600000' },
      {},
      'test',
    );
    const sidecar = await startSidecar(config, createLogger('info', 'json', { write: (line: string) => logLines.push(line) }));
    try {
      const warnings = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.level === 'warn');
      expect(warnings.some((line) => String(line.msg).includes('proxy listens beyond loopback'))).toBe(false);
      expect(warnings.some((line) => String(line.msg).includes('admin'))).toBe(true);
    } finally {
      await sidecar.stop();
      await receiver.close();
    }
  });
});
