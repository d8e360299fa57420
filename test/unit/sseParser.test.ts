import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { parseEventBlock, SseParser, type FramedEvent } from '../../src/observe/sseParser';
import { bytesOf, bytewise, feed, randomChunks, splitAt } from '../helpers/chunking';
import { loadCorpus, responseText } from '../helpers/corpus';

type Event = { event?: string; data: string };

function run(chunks: Buffer[], parser = new SseParser()): FramedEvent[] {
  return feed(parser, chunks);
}

/** Events that carry data or a name: drops the pass-through blocks (comments, data-less blocks). */
function dispatched(events: Event[]): Event[] {
  return events
    .filter((e) => e.data !== '' || e.event !== undefined)
    .map((e) => (e.event === undefined ? { data: e.data } : { event: e.event, data: e.data }));
}

function rawOf(events: FramedEvent[]): string {
  return Buffer.concat(events.map((e) => e.raw)).toString('utf8');
}

/** Events with their raw bytes as text and without the data range, to compare with literals. */
function asText(events: FramedEvent[]): Array<{ event?: string; data: string; raw: string }> {
  return events.map(({ dataStart: _start, dataEnd: _end, raw, ...rest }) => ({ ...rest, raw: raw.toString('utf8') }));
}

/**
 * Independent oracle: line-by-line WHATWG-style interpretation of a whole text (no chunking).
 * A blank line dispatches; an unterminated last event is dispatched at the end.
 */
function referenceEvents(text: string): Event[] {
  const events: Event[] = [];
  let data: string[] = [];
  let name: string | undefined;
  const flush = (): void => {
    if (data.length > 0) events.push(name === undefined ? { data: data.join('\n') } : { event: name, data: data.join('\n') });
    data = [];
    name = undefined;
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const fieldName = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (fieldName === 'data') data.push(value);
    else if (fieldName === 'event') name = value;
  }
  flush();
  return dispatched(events);
}

const sseCorpus = loadCorpus().filter(
  (exchange) =>
    (exchange.response.headers['content-type'] ?? '').includes('text/event-stream') &&
    exchange.response.status < 400 &&
    typeof exchange.response.body_text === 'string',
);

describe('SseParser: recorded provider streams', () => {
  test('the corpus has SSE streams with LF, CRLF and comment framing', () => {
    expect(sseCorpus.length).toBeGreaterThanOrEqual(20);
    expect(sseCorpus.some((e) => responseText(e).includes('\r\n\r\n'))).toBe(true);
    expect(sseCorpus.some((e) => responseText(e).includes(': OPENROUTER PROCESSING'))).toBe(true);
  });

  describe.each(sseCorpus.map((e) => [e.file, responseText(e)] as const))('%s', (_file, body) => {
    const bytes = bytesOf(body);
    const whole = run([bytes]);

    test('whole body: every data block becomes an event, matching the line-based oracle', () => {
      expect(dispatched(whole).length).toBeGreaterThan(0);
      expect(dispatched(whole)).toEqual(referenceEvents(body));
      for (const event of dispatched(whole)) {
        if (event.data !== '[DONE]') expect(() => JSON.parse(event.data)).not.toThrow();
      }
    });

    test('raw of the events is the body, byte for byte (what the proxy re-emits)', () => {
      expect(rawOf(whole)).toBe(body);
    });

    test('one byte at a time gives the identical event sequence, raw included', () => {
      expect(run(bytewise(bytes))).toEqual(whole);
    });

    test.each([1, 2, 3])('random chunk sizes (seed %i) give the identical event sequence', (seed) => {
      expect(run(randomChunks(bytes, seed * 7919, 64))).toEqual(whole);
      expect(run(randomChunks(bytes, seed * 104729, 4096))).toEqual(whole);
    });

    test('every event is delivered as soon as its terminator arrives, without end()', () => {
      const parser = new SseParser();
      const early: FramedEvent[] = [];
      for (const chunk of randomChunks(bytes, 42, 97)) early.push(...parser.push(chunk));
      if (/(\r\n|\n|\r)(\r\n|\n)$/.test(body)) {
        expect(early).toEqual(whole);
        expect(parser.remainder.toString('utf8')).toBe('');
      }
      expect(rawOf(early) + parser.remainder).toBe(body);
    });
  });
});

describe('SseParser: line endings', () => {
  const lf = 'event: a\ndata: one\ndata: two\n\ndata: three\n\n';
  const crlf = lf.replace(/\n/g, '\r\n');
  const cr = lf.replace(/\n/g, '\r');
  const expected = [
    { event: 'a', data: 'one\ntwo' },
    { data: 'three' },
  ];

  test.each([
    ['LF', lf],
    ['CRLF', crlf],
    ['CR', cr],
  ])('%s framing', (_name, text) => {
    const events = run([bytesOf(text)]);
    expect(dispatched(events)).toEqual(expected);
    expect(rawOf(events)).toBe(text);
    const eol = text === lf ? '\n' : text === crlf ? '\r\n' : '\r';
    expect(events.map((e) => e.raw.toString('utf8'))).toEqual(['event: a\ndata: one\ndata: two\n\n', 'data: three\n\n'].map((raw) => raw.replace(/\n/g, eol)));
  });

  test('mixed terminators in one stream (LF then CRLF then CR)', () => {
    const text = 'data: a\n\r\ndata: b\r\n\ndata: c\r\rdata: d\r\n\r\n';
    const events = run([bytesOf(text)]);
    expect(dispatched(events)).toEqual([{ data: 'a' }, { data: 'b' }, { data: 'c' }, { data: 'd' }]);
    expect(events.map((e) => e.raw.toString('utf8'))).toEqual(['data: a\n\r\n', 'data: b\r\n\n', 'data: c\r\r', 'data: d\r\n\r\n']);
  });

  test('a CRLF line end split across chunks is one line end, not two (no premature dispatch)', () => {
    const parser = new SseParser();
    expect(asText(parser.push(bytesOf('data: a\r')))).toEqual([]);
    expect(asText(parser.push(bytesOf('\ndata: b\r\n\r\n')))).toEqual([{ data: 'a\nb', raw: 'data: a\r\ndata: b\r\n\r\n' }]);
  });

  test('the CRLF of the blank line split across chunks stays with its event', () => {
    const parser = new SseParser();
    expect(asText(parser.push(bytesOf('data: a\r\n\r')))).toEqual([]);
    expect(parser.remainder.toString('utf8')).toBe('data: a\r\n\r');
    expect(asText(parser.push(bytesOf('\n')))).toEqual([{ data: 'a', raw: 'data: a\r\n\r\n' }]);
    expect(asText(parser.push(bytesOf('data: b\r\n\r\n')))).toEqual([{ data: 'b', raw: 'data: b\r\n\r\n' }]);
    expect(asText(parser.end())).toEqual([]);
  });

  test('a CR blank line followed by a non-LF chunk dispatches then; at end of stream it dispatches too', () => {
    const parser = new SseParser();
    expect(asText(parser.push(bytesOf('data: a\r\r')))).toEqual([]);
    expect(asText(parser.push(bytesOf('data: b\r\r')))).toEqual([{ data: 'a', raw: 'data: a\r\r' }]);
    expect(asText(parser.end())).toEqual([{ data: 'b', raw: 'data: b\r\r' }]);
  });

  test('CRLF stream split at every byte boundary: identical events and raw', () => {
    const text = 'event: x\r\ndata: {"a":1}\r\n\r\n: keep-alive\r\n\r\ndata: [DONE]\r\n\r\n';
    const bytes = bytesOf(text);
    const whole = run([bytes]);
    expect(whole.map((e) => e.raw.toString('utf8'))).toEqual(['event: x\r\ndata: {"a":1}\r\n\r\n', ': keep-alive\r\n\r\n', 'data: [DONE]\r\n\r\n']);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      expect(run(splitAt(bytes, [cut]))).toEqual(whole);
      for (let second = cut + 1; second < bytes.length; second += 1) {
        expect(run(splitAt(bytes, [cut, second]))).toEqual(whole);
      }
    }
  });
});

describe('SseParser: fields', () => {
  test('comments are not data, but their bytes are passed on immediately (keep-alives reach the client)', () => {
    const parser = new SseParser();
    const keepAlive = ': OPENROUTER PROCESSING\n\n';
    const first = parser.push(bytesOf(keepAlive));
    expect(asText(first)).toEqual([{ data: '', raw: keepAlive }]);
    expect(parser.remainder.toString('utf8')).toBe('');
    const second = parser.push(bytesOf(`${keepAlive}data: {"x":1}\n\n`));
    expect(dispatched(second)).toEqual([{ data: '{"x":1}' }]);
    expect(rawOf(second)).toBe(`${keepAlive}data: {"x":1}\n\n`);
  });

  test('a comment line inside an event is ignored', () => {
    expect(dispatched(run([bytesOf(': hello\ndata: a\n:another\ndata: b\n\n')]))).toEqual([{ data: 'a\nb' }]);
  });

  test('event names, with and without the space; the last event line wins', () => {
    const text = 'event: message_start\ndata: 1\n\nevent:ping\ndata: 2\n\nevent: a\nevent: b\ndata: 3\n\n';
    expect(dispatched(run([bytesOf(text)]))).toEqual([
      { event: 'message_start', data: '1' },
      { event: 'ping', data: '2' },
      { event: 'b', data: '3' },
    ]);
  });

  test('only one leading space is removed; other fields are ignored; a bare "data" line is an empty line of data', () => {
    const text = 'id: 7\nretry: 100\ndata:  two spaces\ndata\ndata:x\nunknown: y\n\n';
    expect(dispatched(run([bytesOf(text)]))).toEqual([{ data: ' two spaces\n\nx' }]);
  });

  test('a field name must match exactly', () => {
    expect(dispatched(run([bytesOf('Data: a\ndata : b\n event: c\ndata: d\n\n')]))).toEqual([{ data: 'd' }]);
  });

  test('a block with an event name but no data dispatches nothing, yet keeps its bytes', () => {
    const events = run([bytesOf('event: ping\n\ndata: a\n\n')]);
    expect(dispatched(events)).toEqual([{ data: 'a' }]);
    expect(rawOf(events)).toBe('event: ping\n\ndata: a\n\n');
  });

  test('parseEventBlock', () => {
    const block = (text: string) => {
      const event = parseEventBlock(bytesOf(text));
      return event && { event: event.event, data: event.data, range: event.dataStart === undefined ? undefined : text.slice(event.dataStart, event.dataEnd) };
    };
    expect(block(': only a comment\n')).toBeUndefined();
    expect(block('event: x\n')).toBeUndefined();
    expect(block('data:\n')).toEqual({ data: '', range: '' });
    expect(block('data: a\r\ndata: b\rdata: c\n')).toEqual({ data: 'a\nb\nc', range: undefined });
    expect(block('event: e\ndata: {"a": "b: c"}')).toEqual({ event: 'e', data: '{"a": "b: c"}', range: '{"a": "b: c"}' });
    expect(block(': c\nid: 1\ndata:x\r\n\r\n')).toEqual({ data: 'x', range: 'x' });
    expect(block('data:  two\n\n')).toEqual({ data: ' two', range: ' two' });
  });

  test('the data range of a one-line event is where its data sits in raw, however the stream was chunked', () => {
    const text = 'event: e\ndata: {"t":"é😀"}\r\n\r\ndata:[DONE]\n\n: c\n\ndata: a\ndata: b\n\n';
    for (const chunks of [[bytesOf(text)], bytewise(bytesOf(text))]) {
      const ranges = run(chunks).map((e) => (e.dataStart === undefined ? undefined : e.raw.toString('utf8', e.dataStart, e.dataEnd)));
      expect(ranges).toEqual(['{"t":"é😀"}', '[DONE]', undefined, undefined]);
    }
  });
});

describe('SseParser: end of stream', () => {
  test('a final event without the blank line is delivered by end(), raw intact', () => {
    const parser = new SseParser();
    expect(asText(parser.push(bytesOf('data: a\n\ndata: last')))).toEqual([{ data: 'a', raw: 'data: a\n\n' }]);
    expect(parser.remainder.toString('utf8')).toBe('data: last');
    expect(asText(parser.end())).toEqual([{ data: 'last', raw: 'data: last' }]);
    expect(parser.remainder.toString('utf8')).toBe('');
  });

  test('a final event with only one line end is delivered by end()', () => {
    expect(asText(run([bytesOf('event: done\ndata: {"ok":true}\r\n')]))).toEqual([
      { event: 'done', data: '{"ok":true}', raw: 'event: done\ndata: {"ok":true}\r\n' },
    ]);
  });

  test('trailing text that is no event still reaches the client at end()', () => {
    const events = run([bytesOf('data: a\n\n: bye\n'), bytesOf('\n')]);
    expect(rawOf(events)).toBe('data: a\n\n: bye\n\n');
    const tail = run([bytesOf('data: a\n\n\n')]);
    expect(dispatched(tail)).toEqual([{ data: 'a' }]);
    expect(rawOf(tail)).toBe('data: a\n\n\n');
  });

  test('end() with nothing pending, and an empty stream', () => {
    expect(run([])).toEqual([]);
    expect(run([Buffer.alloc(0)])).toEqual([]);
    const parser = new SseParser();
    parser.push(bytesOf('data: a\n\n'));
    expect(asText(parser.end())).toEqual([]);
  });
});

describe('SseParser: UTF-8', () => {
  const text = 'data: {"t":"héllo 😀 世界 👩‍👩‍👧"}\n\ndata: 🎉\n\n';
  const bytes = bytesOf(text);

  test('multi-byte characters split at every byte offset decode intact', () => {
    const whole = run([bytes]);
    expect(dispatched(whole)).toEqual([{ data: '{"t":"héllo 😀 世界 👩‍👩‍👧"}' }, { data: '🎉' }]);
    for (let cut = 1; cut < bytes.length; cut += 1) expect(run(splitAt(bytes, [cut]))).toEqual(whole);
    expect(run(bytewise(bytes))).toEqual(whole);
  });

  test('an emoji split across chunks: remainder holds its first bytes as received, the event decodes it whole', () => {
    const emoji = bytesOf('😀');
    const parser = new SseParser();
    expect(asText(parser.push(Buffer.concat([bytesOf('data: '), emoji.subarray(0, 2)])))).toEqual([]);
    expect(parser.remainder).toEqual(Buffer.concat([bytesOf('data: '), emoji.subarray(0, 2)]));
    expect(asText(parser.push(Buffer.concat([emoji.subarray(2), bytesOf('\n\n')])))).toEqual([{ data: '😀', raw: 'data: 😀\n\n' }]);
  });

  test('an incomplete character at end of stream: the data has U+FFFD, raw keeps the bytes as sent', () => {
    const bytes = Buffer.concat([bytesOf('data: x'), bytesOf('😀').subarray(0, 3)]);
    const events = run([bytes]);
    expect(events.map((e) => e.data)).toEqual(['x\ufffd']);
    expect(events.map((e) => e.raw)).toEqual([bytes]);
  });

  test('bytes that are not UTF-8 reach the client unchanged (raw is never re-encoded)', () => {
    const bytes = Buffer.concat([bytesOf('data: {"a":"'), Buffer.from([0xff, 0xc3, 0x28]), bytesOf('"}\n\n')]);
    expect(Buffer.concat(run([bytes]).map((e) => e.raw))).toEqual(bytes);
  });
});

describe('SseParser: remainder', () => {
  test('is a view of the pending bytes, not a copy, and a view handed out earlier never changes', () => {
    const parser = new SseParser();
    parser.push(bytesOf('data: {"a":'));
    const first = parser.remainder;
    parser.push(bytesOf('"x'));
    const second = parser.remainder;
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset);
    expect(second.toString()).toBe('data: {"a":"x');
    expect(asText(parser.push(bytesOf('"}\n\ndata: b')))).toEqual([{ data: '{"a":"x"}', raw: 'data: {"a":"x"}\n\n' }]);
    parser.push(bytesOf('cdefgh'));
    expect(first.toString()).toBe('data: {"a":');
    expect(second.toString()).toBe('data: {"a":"x');
    expect(parser.remainder.toString()).toBe('data: bcdefgh');
  });
});

describe('SseParser: oversized events', () => {
  const max = 100;

  test('an event growing past the limit is discarded, counted once, memory stays bounded, the next event survives', () => {
    const parser = new SseParser(max);
    const events: FramedEvent[] = [];
    events.push(...parser.push(bytesOf('data: ')));
    for (let i = 0; i < 200; i += 1) {
      events.push(...parser.push(bytesOf('x'.repeat(10))));
      expect(parser.remainder.length).toBeLessThanOrEqual(max + 10);
    }
    events.push(...parser.push(bytesOf('\n\ndata: ok\n\n')));
    events.push(...parser.end());
    expect(parser.oversizedEvents).toBe(1);
    expect(dispatched(events)).toEqual([{ data: 'ok' }]);
  });

  test('the blank line of a discarded event split across chunks still ends it (the next event is not swallowed)', () => {
    const parser = new SseParser(max);
    const events = [
      ...parser.push(bytesOf(`data: ${'y'.repeat(300)}\n`)),
      ...parser.push(bytesOf('\ndata: kept\n\n')),
      ...parser.push(bytesOf('data: also\n\n')),
      ...parser.end(),
    ];
    expect(dispatched(events)).toEqual([{ data: 'kept' }, { data: 'also' }]);
    expect(parser.oversizedEvents).toBe(1);
  });

  test('same with a CRLF blank line split between its CR and LF', () => {
    const parser = new SseParser(max);
    const events = [
      ...parser.push(bytesOf(`data: ${'y'.repeat(300)}\r\n\r`)),
      ...parser.push(bytesOf('\ndata: kept\r\n\r\n')),
      ...parser.end(),
    ];
    expect(dispatched(events)).toEqual([{ data: 'kept' }]);
    expect(parser.oversizedEvents).toBe(1);
  });

  test('an oversized event is discarded however it is chunked, including in a single chunk', () => {
    const text = `data: small\n\ndata: ${'z'.repeat(150)}\n\ndata: after\n\n`;
    for (const chunks of [[bytesOf(text)], bytewise(bytesOf(text)), randomChunks(bytesOf(text), 5, 40)]) {
      const parser = new SseParser(max);
      expect(dispatched(run(chunks, parser))).toEqual([{ data: 'small' }, { data: 'after' }]);
      expect(parser.oversizedEvents).toBe(1);
    }
  });

  test('a discarded event still reaches the client: raw of all events is the input', () => {
    const text = `data: a\n\ndata: ${'q'.repeat(500)}\n\ndata: b\n\n`;
    const parser = new SseParser(max);
    const events = run(randomChunks(bytesOf(text), 9, 33), parser);
    expect(rawOf(events)).toBe(text);
    expect(parser.oversizedEvents).toBe(1);
  });

  test('an oversized unterminated event at end of stream is not delivered', () => {
    const parser = new SseParser(max);
    const events = run([bytesOf('data: a\n\n'), bytesOf(`data: ${'w'.repeat(200)}`)], parser);
    expect(dispatched(events)).toEqual([{ data: 'a' }]);
    expect(parser.oversizedEvents).toBe(1);
  });

  test('a large event arriving in small chunks is parsed in linear time', () => {
    const payload = 'v'.repeat(2 * 1024 * 1024);
    const bytes = bytesOf(`data: ${payload}\n\ndata: next\n\n`);
    const parser = new SseParser();
    const started = Date.now();
    const events: FramedEvent[] = [];
    for (let i = 0; i < bytes.length; i += 512) events.push(...parser.push(bytes.subarray(i, i + 512)));
    const elapsed = Date.now() - started;
    expect(events.map((e) => e.data.length)).toEqual([payload.length, 4]);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('SseParser: an event past the limit is skipped without holding it (issue 22 item 3)', () => {
  test('past the limit the held bytes drop once and stay at most a partial terminator; raw + remainder is still every byte', () => {
    const max = 1000;
    const parser = new SseParser(max);
    const received: Buffer[] = [];
    const events: FramedEvent[] = [];
    const push = (text: string): void => {
      const chunk = bytesOf(text);
      received.push(chunk);
      events.push(...parser.push(chunk));
    };
    push('data: ok\n\ndata: ');
    for (let i = 0; i < 30; i += 1) push('x'.repeat(100));
    expect(parser.oversizedEvents).toBe(1);
    // Skipping: nothing of the oversized event is held any more, however much more of it comes.
    for (let i = 0; i < 100; i += 1) {
      // A line end (not a blank line) now and then: the event goes on, the line end may be held.
      push(i % 10 === 9 ? 'x'.repeat(98) + '\r\n' : 'x'.repeat(100));
      expect(parser.remainder.length).toBeLessThanOrEqual(2);
      expect(Buffer.concat([...events.map((e) => e.raw), parser.remainder]).equals(Buffer.concat(received))).toBe(true);
    }
    // A CR after a line end ends the event unless an LF follows: it waits for the next byte.
    push('x'.repeat(97) + '\r\n\r');
    expect(parser.remainder.toString()).toBe('\r\n\r');
    push('\ndata: after\n\n');
    events.push(...parser.end());
    expect(dispatched(events)).toEqual([{ data: 'ok' }, { data: 'after' }]);
    expect(parser.oversizedEvents).toBe(1);
    expect(Buffer.concat(events.map((e) => e.raw)).equals(Buffer.concat(received))).toBe(true);
  });

  test('a chunk that alone is larger than the limit is not copied into the parser: its bytes come back as views of it', () => {
    const parser = new SseParser(1000);
    parser.push(bytesOf('data: '));
    const big = Buffer.alloc(5000, 0x79);
    const events = parser.push(big);
    expect(parser.remainder.length).toBe(0);
    expect(events.map((e) => e.raw.buffer).at(-1)).toBe(big.buffer);
    expect(parser.oversizedEvents).toBe(1);
  });

  test('memory: a 128 MiB event without a blank line, past an 8 MiB limit, adds no buffer memory once it has been dropped', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const max = 8 * 1024 * 1024;
    const total = 128 * 1024 * 1024;
    // One network chunk reused: only what the parser allocates shows in the figures.
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    const parser = new SseParser(max);
    // Up to the limit the event may still end, so it is held; the figures start once it has been dropped.
    parser.push(bytesOf('data: '));
    for (let sent = 0; sent <= max; sent += chunk.length) parser.push(chunk);
    gc();
    const before = process.memoryUsage();
    let arrayBuffers = 0;
    let rss = 0;
    for (let sent = 0; sent < total; sent += chunk.length) {
      parser.push(chunk);
      const now = process.memoryUsage();
      arrayBuffers = Math.max(arrayBuffers, now.arrayBuffers - before.arrayBuffers);
      rss = Math.max(rss, now.rss - before.rss);
    }
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    process.stdout.write(`SSE: 128 MiB more of an event past an 8 MiB limit: peak buffer memory +${mib(arrayBuffers)} MiB, RSS +${mib(rss)} MiB\n`);
    expect(parser.oversizedEvents).toBe(1);
    // Holding the event again up to the limit would be 8 MiB at least; skipping holds nothing.
    expect(arrayBuffers).toBeLessThan(max / 2);
  });
});

describe('SseParser: properties', () => {
  const sseToken = fc.constantFrom(
    'data:',
    'data: ',
    'event: ',
    'event:x',
    ': c',
    ':',
    'id: 1',
    'retry: 5',
    ' ',
    '\r',
    '\n',
    '\r\n',
    '\n\n',
    '\r\n\r\n',
    'x',
    '{"a":1}',
    '[DONE]',
    'é',
    '😀',
    '世',
  );
  const sseText = fc.array(sseToken, { maxLength: 60 }).map((tokens) => tokens.join(''));
  const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 12 });

  test('never throws on arbitrary bytes, however they are chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, (bytes, offsets) => {
        const parser = new SseParser(64);
        for (const chunk of splitAt(Buffer.from(bytes), offsets)) parser.push(chunk);
        parser.end();
      }),
      { numRuns: 500 },
    );
  });

  test('raw of the events so far + remainder == the bytes received so far; after end() raw alone is all of them', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), sseText.map(bytesOf)), cuts, (bytes, offsets) => {
        const parser = new SseParser();
        const received: Buffer[] = [];
        const events: FramedEvent[] = [];
        for (const chunk of splitAt(Buffer.from(bytes), offsets)) {
          events.push(...parser.push(chunk));
          received.push(chunk);
          expect(Buffer.concat([...events.map((e) => e.raw), parser.remainder])).toEqual(Buffer.concat(received));
        }
        events.push(...parser.end());
        expect(Buffer.concat(events.map((e) => e.raw))).toEqual(Buffer.from(bytes));
        expect(parser.remainder.length).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  test('chunking never changes the events (raw included)', () => {
    fc.assert(
      fc.property(fc.oneof(sseText.map(bytesOf), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), cuts, (bytes, offsets) => {
        expect(run(splitAt(bytes, offsets))).toEqual(run([bytes]));
      }),
      { numRuns: 1000 },
    );
  });

  test('events agree with the line-based oracle', () => {
    fc.assert(
      fc.property(sseText, cuts, (text, offsets) => {
        expect(dispatched(run(splitAt(bytesOf(text), offsets)))).toEqual(referenceEvents(text));
      }),
      { numRuns: 1000 },
    );
  });

  test('with a small limit: events no larger than the limit are dispatched, larger ones counted, raw still complete', () => {
    const block = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('\n\n', '\r\n\r\n', '\r\r')).map(([n, end]) => `data: ${'k'.repeat(n)}${end}`);
    fc.assert(
      fc.property(fc.array(block, { maxLength: 10 }), cuts, (blocks, offsets) => {
        const text = blocks.join('');
        const parser = new SseParser(24);
        const events = run(splitAt(bytesOf(text), offsets), parser);
        const small = blocks.filter((b) => b.length <= 24);
        expect(dispatched(events)).toEqual(small.map((b) => ({ data: b.replace(/^data: /, '').replace(/[\r\n]+$/, '') })));
        expect(parser.oversizedEvents).toBe(blocks.length - small.length);
        expect(rawOf(events)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
