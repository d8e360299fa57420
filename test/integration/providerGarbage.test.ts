/**
 * A provider that answers garbage or a truncated answer: the client gets what a direct call to
 * the provider gives (same status, headers, bytes and the same cut), the call is recorded with
 * the error.type that fits, and no token count appears that the answer did not contain.
 *
 * error.type decisions:
 *  - a 200 whose body should be a JSON document for a recognised operation (chat...) but is not
 *    (random bytes labelled JSON, an HTML page): `_OTHER`. No completion came back; an SDK fails
 *    to parse it, so the app saw a failed call even though HTTP said 200. Binary answers to
 *    operations the sidecar does not recognise (audio, files) stay successes.
 *  - the connection closed before the promised content-length, or mid-stream: `connection_error`.
 *  - a stream the provider ended properly (chunked terminator) but without `[DONE]` or usage:
 *    no error. HTTP and the SDKs see a normal end; without usage no tokens are recorded.
 * (A provider that stalls is a timeout: test/integration/timeouts.test.ts.)
 */
import http from 'node:http';
import { ATTR, METRICS } from '../../src/telemetry/names';
import type { ScriptedResponse } from '../helpers/fakeProvider';
import { pointsOf, startHarness, type Harness } from '../helpers/harness';
import { asksForUsage, openAiChatStream } from '../helpers/openAiStream';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ routes: ['openai'], flags: { headerAttribute: ['x-test-case=test_case'] } });
});

afterAll(async () => {
  await harness.close();
});

interface Received {
  status: number;
  contentType: string | undefined;
  contentLength: string | undefined;
  body: Buffer;
  /** How the body ended: cleanly, or cut (the client's error code). */
  ending: string;
}

function call(url: string, body: unknown, testCase: string): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'x-test-case': testCase } });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      const done = (ending: string) =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          contentLength: res.headers['content-length'],
          body: Buffer.concat(parts),
          ending,
        });
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => done('end'));
      res.on('error', (error: NodeJS.ErrnoException) => done(`cut (${error.code ?? error.message})`));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The same scripted answer, once straight from the provider and once through the sidecar. */
async function directAndProxied(
  script: ScriptedResponse | ((asked: Buffer) => ScriptedResponse),
  body: unknown,
  testCase: string,
  path = '/v1/chat/completions',
) {
  const responder = typeof script === 'function' ? (request: { body: Buffer }) => script(request.body) : () => script;
  harness.provider.enqueue(responder);
  const direct = await call(`${harness.provider.url}${path}`, body, testCase);
  harness.provider.enqueue(responder);
  const proxied = await call(`${harness.sidecar.url}/openai${path}`, body, testCase);
  return { direct, proxied };
}

async function recorded(testCase: string) {
  const points = await harness.metrics((all) => pointsOf(all, METRICS.operationDuration.name, { test_case: testCase }).length > 0);
  return {
    errorTypes: pointsOf(points, METRICS.operationDuration.name, { test_case: testCase }).map((point) => point.attributes[ATTR.errorType]),
    tokenPoints: pointsOf(points, METRICS.tokenUsage.name, { test_case: testCase }).length,
  };
}

/** Deterministic bytes that are not JSON (the first byte is not valid UTF-8), with digits in them. */
function garbage(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = 0x2545f491;
  for (let i = 0; i < length; i += 1) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  bytes[0] = 0xff;
  bytes.write('"prompt_tokens":4242', 100, 'latin1');
  return bytes;
}

const CHAT = { model: 'gpt-4o-mini', messages: [] };
const STREAM = { model: 'gpt-4o-mini', stream: true, messages: [] };
const STREAM_WITH_USAGE = { ...STREAM, stream_options: { include_usage: true } };

test.each<[string, ScriptedResponse]>([
  ['random bytes labelled JSON', { status: 200, headers: { 'content-type': 'application/json' }, chunks: [garbage(4096)] }],
  [
    'an HTML error page with status 200',
    { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, chunks: ['<html><body><h1>502 Bad Gateway</h1><p>usage 1234 tokens</p></body></html>'] },
  ],
])('%s: the client gets the same bytes; recorded as error.type _OTHER, no tokens', async (name, script) => {
  const { direct, proxied } = await directAndProxied(script, CHAT, name);
  expect(proxied).toEqual(direct);
  expect(proxied.ending).toBe('end');
  expect(await recorded(name)).toEqual({ errorTypes: ['_OTHER'], tokenPoints: 0 });
});

test('binary answers to an operation the sidecar does not recognise (speech audio) are not errors', async () => {
  const audio: ScriptedResponse = { status: 200, headers: { 'content-type': 'audio/mpeg' }, chunks: [garbage(2048)] };
  const { direct, proxied } = await directAndProxied(audio, { model: 'tts-1', input: 'hi', voice: 'alloy' }, 'speech', '/v1/audio/speech');
  expect(proxied).toEqual(direct);
  expect(await recorded('speech')).toEqual({ errorTypes: [undefined], tokenPoints: 0 });
});

test('content-length larger than what is sent, then the connection closes: the same cut, connection_error, no tokens', async () => {
  const partial = '{"id":"x","object":"chat.completion","usage":{"prompt_tokens":1234,"completion_tok';
  const script: ScriptedResponse = { status: 200, headers: { 'content-type': 'application/json', 'content-length': '500' }, chunks: [partial], resetAfterChunks: 1 };
  const { direct, proxied } = await directAndProxied(script, CHAT, 'short-body');
  expect(proxied).toEqual(direct);
  expect(proxied.contentLength).toBe('500');
  expect(proxied.body.toString('utf8')).toBe(partial);
  expect(proxied.ending).toMatch(/^cut/);
  expect(await recorded('short-body')).toEqual({ errorTypes: ['connection_error'], tokenPoints: 0 });
});

/** An OpenAI chat stream as the provider would send it for this request, stopped after `events` events: no finish, usage or [DONE]. */
function stoppedStream(events: number, cut: 'cleanly' | 'mid-event') {
  return (asked: Buffer): ScriptedResponse => {
    const full = openAiChatStream({ model: 'gpt-4o-mini-2024-07-18', words: ['Hel', 'lo', ' there', '!'], usage: { prompt_tokens: 9, completion_tokens: 4 } }, asksForUsage(asked));
    const sent = full.slice(0, events);
    if (cut === 'cleanly') return { status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: sent, pauseMs: 5 };
    const half = full[events] ?? '';
    return { status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: [...sent, half.slice(0, 30)], pauseMs: 5, resetAfterChunks: events + 1 };
  };
}

describe('an SSE stream that stops without [DONE] or usage', () => {
  test.each([
    ['the client asked for usage itself', STREAM_WITH_USAGE],
    ['the sidecar asked for usage (and hides it)', STREAM],
  ])('ended cleanly (%s): the same bytes, a normal end, no error and no tokens', async (name, body) => {
    const testCase = `sse-clean ${name}`;
    const { direct, proxied } = await directAndProxied(stoppedStream(3, 'cleanly'), body, testCase);
    expect(proxied).toEqual(direct);
    expect(proxied.ending).toBe('end');
    expect(await recorded(testCase)).toEqual({ errorTypes: [undefined], tokenPoints: 0 });
  });

  test('connection closed mid-event, usage asked by the client: the same bytes and the same cut, connection_error, no tokens', async () => {
    const { direct, proxied } = await directAndProxied(stoppedStream(3, 'mid-event'), STREAM_WITH_USAGE, 'sse-cut');
    expect(proxied).toEqual(direct);
    expect(proxied.ending).toMatch(/^cut/);
    expect(await recorded('sse-cut')).toEqual({ errorTypes: ['connection_error'], tokenPoints: 0 });
  });

  test('connection closed mid-event, usage asked by the sidecar: the same bytes (half event included) and the same cut', async () => {
    const { direct, proxied } = await directAndProxied(stoppedStream(3, 'mid-event'), STREAM, 'sse-cut-injected');
    // The sidecar edits this stream event by event and holds a partial event until it completes;
    // when the provider breaks off, the held part is released before the cut.
    expect(proxied).toEqual(direct);
    expect(proxied.ending).toMatch(/^cut/);
    expect(await recorded('sse-cut-injected')).toEqual({ errorTypes: ['connection_error'], tokenPoints: 0 });
  });
});
