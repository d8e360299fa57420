/**
 * The AWS event-stream reader on recorded Bedrock streams (real frames, real CRCs) cut every way,
 * and on frames that are broken: a bad CRC, garbage, an oversized or truncated frame end the
 * reading once, never with an exception, and what came before is kept.
 */
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import fc from 'fast-check';
import { EventStreamParser } from '../../src/observe/eventStreamParser';
import type { StreamEvent } from '../../src/providers/types';
import { awsFrames, loadCorpus, responseBytes } from '../helpers/corpus';

const streams = loadCorpus().filter((exchange) => (exchange.response.headers['content-type'] ?? '').includes('amazon.eventstream'));
const codec = new EventStreamCodec(toUtf8, fromUtf8);

function run(chunks: readonly Buffer[], parser = new EventStreamParser()): { events: StreamEvent[]; parser: EventStreamParser } {
  const events: StreamEvent[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.end());
  return { events, parser };
}

function cut(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (let index = 0; at < bytes.length; index += 1) {
    const size = Math.max(1, sizes[index % sizes.length] ?? 1);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const frame = (headers: Record<string, string>, body: string): Buffer =>
  Buffer.from(
    codec.encode({
      headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { type: 'string' as const, value }])),
      body: Buffer.from(body),
    }),
  );

test('the corpus has the three recorded Bedrock streams', () => {
  expect(streams.map((exchange) => exchange.file).sort()).toEqual([
    'aws_bedrock/converse_stream_claude3_tool_use.json',
    'aws_bedrock/converse_stream_nova_lite_guardrail_intervened.json',
    'aws_bedrock/invoke_stream_claude3_sonnet.json',
  ]);
});

describe.each(streams.map((exchange) => [exchange.file, exchange] as const))('%s', (_file, exchange) => {
  const bytes = responseBytes(exchange);
  const whole = run([bytes]);

  test('every frame becomes one event, named by its :event-type, with its JSON payload', () => {
    expect(whole.parser.corrupt).toBeUndefined();
    expect(whole.events).toHaveLength(awsFrames(bytes).length);
    for (const event of whole.events) {
      expect(event.event).toMatch(/^[a-zA-Z]+$/);
      expect(() => JSON.parse(event.data)).not.toThrow();
    }
  });

  test('cut one byte at a time or anywhere, the events are the same', () => {
    expect(run(cut(bytes, [1])).events).toEqual(whole.events);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }), (sizes) => expect(run(cut(bytes, sizes)).events).toEqual(whole.events)), { numRuns: 50 });
  });

  test('a flipped byte in a frame ends the reading there, keeping the events before it', () => {
    const frames = awsFrames(bytes);
    const middle = Math.floor(frames.length / 2);
    const offset = frames.slice(0, middle).reduce((total, f) => total + f.length, 0);
    const damaged = Buffer.from(bytes);
    // A payload byte: the message CRC no longer matches.
    damaged[offset + (frames[middle] as Buffer).length - 6] ^= 0xff;
    const { events, parser } = run([damaged]);
    expect(parser.corrupt).toBe('bad_frame');
    expect(events).toEqual(whole.events.slice(0, middle));
  });

  test('cut short, the last frame is reported truncated and the rest read', () => {
    const { events, parser } = run([bytes.subarray(0, bytes.length - 3)]);
    expect(parser.corrupt).toBe('truncated');
    expect(events).toEqual(whole.events.slice(0, -1));
  });
});

test('exception and error messages are named so a dialect can tell them from events', () => {
  const { events } = run([
    frame({ ':message-type': 'event', ':event-type': 'messageStart', ':content-type': 'application/json' }, '{"role":"assistant"}'),
    frame({ ':message-type': 'exception', ':exception-type': 'throttlingException', ':content-type': 'application/json' }, '{"message":"Too many requests"}'),
    frame({ ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'oops' }, ''),
  ]);
  expect(events).toEqual([
    { event: 'messageStart', data: '{"role":"assistant"}' },
    { event: 'exception:throttlingException', data: '{"message":"Too many requests"}' },
    { event: 'error:InternalFailure', data: '' },
  ]);
});

test('garbage that cannot be a frame, or a frame over the limit, ends the reading without holding it', () => {
  const garbage = run([Buffer.from('<html>502 Bad Gateway</html>')]);
  expect(garbage.parser.corrupt).toBe('bad_frame');
  expect(garbage.events).toEqual([]);

  const big = frame({ ':message-type': 'event', ':event-type': 'chunk' }, 'x'.repeat(2048));
  const small = new EventStreamParser(1024);
  const over = run([big, frame({ ':message-type': 'event', ':event-type': 'chunk' }, '{}')], small);
  expect(over.parser.corrupt).toBe('oversized');
  expect(over.events).toEqual([]);
  // Nothing more is read or held once the stream is given up.
  expect(small.push(Buffer.alloc(10_000))).toEqual([]);
});

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 64 }), (bytes, size) => {
      expect(() => run(cut(Buffer.from(bytes), [size]))).not.toThrow();
    }),
    { numRuns: 300 },
  );
});
