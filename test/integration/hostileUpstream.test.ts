/**
 * A hostile or broken upstream, over real sockets through the real sidecar (issue 22, items 3, 7
 * and 8). In every case the client gets exactly the bytes a direct call gives; what changes is
 * what the sidecar holds, decodes and records:
 *  - an SSE event past the per-event limit is passed on as it arrives, not held again and again
 *    up to the limit (the parser memory itself is measured in test/unit/sseParser.test.ts and
 *    ndjsonParser.test.ts);
 *  - a compressed answer that ends abnormally (cut by the upstream, or the client left) is
 *    recorded, like a plain one, with what was decoded so far;
 *  - token counts no call can have are a telemetry error, never a recorded value or a cost;
 *  - a compressed answer is decoded for telemetry only up to the parse limit (a gzip bomb).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ATTR, METRICS } from '../../src/telemetry/names';
import type { ScriptedResponse } from '../helpers/fakeProvider';
import { gzipPieces } from '../helpers/gzipPieces';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import type { ReceivedPoint } from '../helpers/otlpReceiver';
import { asksForUsage, openAiChatStream } from '../helpers/openAiStream';

/** What the test's own upstream does with one request (it needs to wait on the client, which the fake provider cannot). */
type GatedAnswer = (asked: Buffer, res: http.ServerResponse) => Promise<void>;

const MAX_BODY_BYTES = 1024 * 1024;
/** The SSE parser's per-event limit (SseParser's default; no flag sets it). */
const SSE_EVENT_LIMIT = 4 * 1024 * 1024;

let harness: Harness;
let gated: http.Server;
const gatedAnswers: GatedAnswer[] = [];

beforeAll(async () => {
  gated = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const answer = gatedAnswers.shift();
      if (answer) void answer(Buffer.concat(parts), res);
      else res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => gated.listen(0, '127.0.0.1', resolve));
  const gatedUrl = `http://127.0.0.1:${(gated.address() as AddressInfo).port}`;
  harness = await startHarness({
    routes: ['openai'],
    flags: ({ provider }) => ({
      upstream: [`openai=${provider}`, `gated:openai=${gatedUrl}`],
      headerAttribute: ['x-test-case=test_case'],
      maxBodyBytes: String(MAX_BODY_BYTES),
    }),
  });
});

afterAll(async () => {
  await harness.close();
  gated.closeAllConnections();
  await new Promise((resolve) => gated.close(resolve));
});

interface Received {
  status: number;
  body: Buffer;
  /** How the body ended: cleanly, or cut (the client's error code). */
  ending: string;
}

interface CallOptions {
  /** Called with the number of body bytes received so far, after each piece. */
  onBytes?: (received: number) => void;
  /** Destroy the request once the first body bytes arrived (the client leaves mid-answer). */
  leaveEarly?: boolean;
}

function call(url: string, body: unknown, testCase: string, options: CallOptions = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'x-test-case': testCase } });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let received = 0;
      const done = (ending: string) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), ending });
      res.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        received += chunk.length;
        options.onBytes?.(received);
        if (options.leaveEarly) {
          req.destroy();
          done('left');
        }
      });
      res.on('end', () => done('end'));
      res.on('error', (error: NodeJS.ErrnoException) => done(`cut (${error.code ?? error.message})`));
    });
    req.on('error', (error) => (options.leaveEarly ? undefined : reject(error)));
    req.end(JSON.stringify(body));
  });
}

/** The same scripted answer, once straight from the fake provider and once through the sidecar. */
async function directAndProxied(script: ScriptedResponse, body: unknown, testCase: string): Promise<{ direct: Received; proxied: Received }> {
  harness.provider.enqueue(script);
  const direct = await call(`${harness.provider.url}/v1/chat/completions`, body, testCase);
  harness.provider.enqueue(script);
  const proxied = await call(`${harness.sidecar.url}/openai/v1/chat/completions`, body, testCase);
  return { direct, proxied };
}

/** Newest cumulative points once the calls of `testCase` are recorded `calls` times in all. */
function recorded(testCase: string, calls = 1): Promise<ReceivedPoint[]> {
  return harness.metrics((all) => callsOf(all, testCase) >= calls);
}

function callsOf(points: ReceivedPoint[], testCase: string): number {
  return pointsOf(points, METRICS.operationDuration.name, { test_case: testCase }).reduce((sum, point) => sum + (point.count ?? 0), 0);
}

async function telemetryErrors(stage: string): Promise<number> {
  const points = await harness.metrics(() => true);
  return pointsOf(points, METRICS.telemetryErrors.name, { [ATTR.telemetryStage]: stage }).at(-1)?.value ?? 0;
}

const MODEL = 'gpt-4o-mini-2024-07-18';
const STREAM = { model: 'gpt-4o-mini', stream: true, messages: [] };
const STREAM_WITH_USAGE = { ...STREAM, stream_options: { include_usage: true } };
const CHAT = { model: 'gpt-4o-mini', messages: [] };
const SPEC = { model: MODEL, words: ['Hel', 'lo', ' there', '!'], usage: { prompt_tokens: 9, completion_tokens: 4 } };

/** Resolves after `ms`; the timer does not keep the test process alive once the race is decided. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

describe('item 3: an SSE event past the per-event limit', () => {
  test('flows through to the client as it arrives (sidecar hiding injected usage), and the events after it are still read', async () => {
    // 'data: ' and 5 MiB without a line end: past the limit. Then 1 MiB more of the same event,
    // which the sidecar must pass on at once: it can never become an event it would rewrite.
    const start = Buffer.from(`data: ${'x'.repeat(SSE_EVENT_LIMIT + 1024 * 1024)}`);
    const more = Buffer.alloc(1024 * 1024, 'x');
    let clientHasAll: () => void = () => undefined;
    const clientCaughtUp = new Promise<void>((resolve) => (clientHasAll = resolve));
    let upstreamWaited: 'client had every byte' | 'gave up after 5 s' | undefined;
    gatedAnswers.push(async (asked, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(start);
      res.write(more);
      // The upstream goes on only once the client has what was sent so far (or gives up).
      upstreamWaited = await Promise.race([clientCaughtUp.then(() => 'client had every byte' as const), sleep(5000).then(() => 'gave up after 5 s' as const)]);
      res.end(['\n\n', ...openAiChatStream(SPEC, asksForUsage(asked))].join(''));
    });
    const sentBeforeWaiting = start.length + more.length;
    const proxied = await call(`${harness.sidecar.url}/gated/v1/chat/completions`, STREAM, 'oversized-event', {
      onBytes: (received) => {
        if (received >= sentBeforeWaiting) clientHasAll();
      },
    });

    expect(upstreamWaited).toBe('client had every byte');
    expect(proxied.ending).toBe('end');
    // Every byte of the oversized event, then the stream without the usage the sidecar asked for.
    const expected = Buffer.concat([start, more, Buffer.from(['\n\n', ...openAiChatStream(SPEC, false)].join(''))]);
    expect(proxied.body.length).toBe(expected.length);
    expect(proxied.body.equals(expected)).toBe(true);
    const points = await recorded('oversized-event');
    expect(pointsOf(points, METRICS.tokenUsage.name, { test_case: 'oversized-event', [ATTR.tokenType]: 'input' })[0]?.sum).toBe(9);
  });
});

describe('item 7: a compressed answer that ends abnormally is recorded', () => {
  const gzipSse = { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' };

  test('gzip SSE answers cut by the upstream: the same bytes and cut as a direct call, each recorded as connection_error with what was decoded', async () => {
    const pieces = await gzipPieces(openAiChatStream(SPEC, true));
    const script: ScriptedResponse = { status: 200, headers: gzipSse, chunks: pieces.slice(0, 3), pauseMs: 5, resetAfterChunks: 3 };
    const CUTS = 5;
    for (let i = 0; i < CUTS; i += 1) {
      const { direct, proxied } = await directAndProxied(script, STREAM_WITH_USAGE, 'gzip-cut');
      expect(proxied).toEqual(direct);
      expect(proxied.ending).toMatch(/^cut/);
    }
    const points = await recorded('gzip-cut', CUTS);
    const durations = pointsOf(points, METRICS.operationDuration.name, { test_case: 'gzip-cut' });
    expect(durations.map((point) => [point.attributes[ATTR.errorType], point.attributes[ATTR.responseModel], point.count])).toEqual([
      ['connection_error', MODEL, CUTS],
    ]);
    // The cut came before the usage: no tokens, as for a plain answer cut there.
    expect(pointsOf(points, METRICS.tokenUsage.name, { test_case: 'gzip-cut' })).toEqual([]);
  });

  test('a gzip SSE answer the client leaves mid-stream is recorded as cancelled, with what was decoded', async () => {
    const pieces = await gzipPieces(openAiChatStream({ ...SPEC, words: Array<string>(30).fill('word ') }, true));
    harness.provider.enqueue({ status: 200, headers: gzipSse, chunks: pieces, pauseMs: 50 });
    const left = await call(`${harness.sidecar.url}/openai/v1/chat/completions`, STREAM_WITH_USAGE, 'gzip-left', { leaveEarly: true });
    expect(left.ending).toBe('left');
    const points = await recorded('gzip-left');
    const durations = pointsOf(points, METRICS.operationDuration.name, { test_case: 'gzip-left' });
    expect(durations.map((point) => [point.attributes[ATTR.errorType], point.attributes[ATTR.responseModel], point.count])).toEqual([
      ['cancelled', MODEL, 1],
    ]);
  });
});

describe('item 8: hostile numbers and gzip bombs', () => {
  const json = (usage: Record<string, number>): ScriptedResponse => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    chunks: [JSON.stringify({ id: 'x', object: 'chat.completion', model: MODEL, choices: [], usage })],
  });

  test('prompt_tokens 2^53-1: the client gets the answer unchanged; the call is recorded without tokens or cost, as a telemetry error', async () => {
    const before = await telemetryErrors('implausible_usage');
    const { direct, proxied } = await directAndProxied(json({ prompt_tokens: Number.MAX_SAFE_INTEGER, completion_tokens: 5 }), CHAT, 'huge-usage');
    expect(proxied).toEqual(direct);
    const points = await recorded('huge-usage');
    expect(pointsOf(points, METRICS.operationDuration.name, { test_case: 'huge-usage' }).map((point) => point.attributes[ATTR.errorType])).toEqual([undefined]);
    expect(pointsOf(points, METRICS.tokenUsage.name, { test_case: 'huge-usage' })).toEqual([]);
    expect(pointsOf(points, METRICS.tokenDetail.name, { test_case: 'huge-usage' })).toEqual([]);
    expect(pointsOf(points, METRICS.cost.name, { test_case: 'huge-usage' })).toEqual([]);
    expect(await telemetryErrors('implausible_usage')).toBe(before + 1);
  });

  test('a stream whose usage says 10^9 + 1 output tokens is not recorded either; 10^9 tokens is', async () => {
    const stream = (completionTokens: number): ScriptedResponse => ({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      chunks: openAiChatStream({ ...SPEC, usage: { prompt_tokens: 9, completion_tokens: completionTokens } }, true),
    });
    await directAndProxied(stream(1_000_000_001), STREAM_WITH_USAGE, 'usage-over-bound');
    await directAndProxied(stream(1_000_000_000), STREAM_WITH_USAGE, 'usage-at-bound');
    const points = await recorded('usage-over-bound');
    await recorded('usage-at-bound');
    const latest = await harness.metrics(() => true);
    expect(pointsOf(latest, METRICS.tokenUsage.name, { test_case: 'usage-over-bound' })).toEqual([]);
    expect(pointsOf(points, METRICS.cost.name, { test_case: 'usage-over-bound' })).toEqual([]);
    expect(pointsOf(latest, METRICS.tokenUsage.name, { test_case: 'usage-at-bound', [ATTR.tokenType]: 'output' })[0]?.sum).toBe(1_000_000_000);
    expect(pointsOf(latest, METRICS.tokenUsage.name, { test_case: 'usage-at-bound', [ATTR.tokenType]: 'input' })[0]?.sum).toBe(9);
  });

  test.each([
    ['a JSON answer past --max-body-bytes', 'application/json', CHAT, ['{"id":"x","object":"chat.completion","pad":"', ' '.repeat(4 * MAX_BODY_BYTES)]],
    ['an SSE event past the per-event limit', 'text/event-stream', STREAM_WITH_USAGE, ['data: ', 'x'.repeat(SSE_EVENT_LIMIT + MAX_BODY_BYTES)]],
  ])('gzip bomb, %s: the client gets every compressed byte; nothing past the limit is decoded', async (name, contentType, body, texts) => {
    // The bomb's second half decodes to more of the same and then to an invalid deflate block:
    // the sidecar reports it (stage `decompress`) only if it decodes past the limit.
    const pieces = await gzipPieces([...texts, ' '.repeat(4 * MAX_BODY_BYTES)]);
    const invalidBlock = Buffer.from([0x07]);
    const bomb = Buffer.concat(pieces.slice(0, texts.length));
    const tail = Buffer.concat([pieces[texts.length] as Buffer, invalidBlock]);
    const script: ScriptedResponse = { status: 200, headers: { 'content-type': contentType, 'content-encoding': 'gzip' }, chunks: [bomb, tail], pauseMs: 20 };
    const decompressBefore = await telemetryErrors('decompress');
    const tooLargeBefore = await telemetryErrors('response_too_large');

    const { direct, proxied } = await directAndProxied(script, body, `bomb ${name}`);
    expect(proxied.status).toBe(200);
    expect(proxied.body.equals(Buffer.concat([bomb, tail]))).toBe(true);
    expect(proxied).toEqual(direct);

    await recorded(`bomb ${name}`);
    expect(await telemetryErrors('decompress')).toBe(decompressBefore);
    // Stopping is itself counted once: the answer was larger than the sidecar parses.
    expect(await telemetryErrors('response_too_large')).toBe(tooLargeBefore + 1);
  });
});
