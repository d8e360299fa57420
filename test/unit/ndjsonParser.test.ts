import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { NdjsonParser } from '../../src/observe/ndjsonParser';
import type { StreamEvent } from '../../src/providers/types';
import { bytesOf, bytewise, feed, randomChunks, splitAt } from '../helpers/chunking';
import { loadCorpus, responseText } from '../helpers/corpus';

function run(chunks: Buffer[], parser = new NdjsonParser()): StreamEvent[] {
  return feed(parser, chunks);
}

/** Independent oracle over the whole text: every non-blank line, trimmed. */
function referenceLines(text: string, maxLineChars = Infinity): StreamEvent[] {
  return text
    .split('\n')
    .filter((line) => line.length <= maxLineChars)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((data) => ({ data }));
}

const ndjsonCorpus = loadCorpus().filter((exchange) => {
  const type = exchange.response.headers['content-type'] ?? '';
  return (type.includes('ndjson') || type.includes('stream+json')) && exchange.response.status < 400;
});

describe('NdjsonParser: recorded provider streams', () => {
  test('the corpus has Ollama and Cohere v1 NDJSON streams', () => {
    expect(ndjsonCorpus.map((e) => e.provider).sort()).toEqual(['cohere', 'ollama']);
  });

  describe.each(ndjsonCorpus.map((e) => [e.file, responseText(e)] as const))('%s', (_file, body) => {
    const bytes = bytesOf(body);
    const whole = run([bytes]);

    test('whole body: one event per line, each a JSON document', () => {
      expect(whole).toEqual(referenceLines(body));
      expect(whole.length).toBeGreaterThan(3);
      for (const event of whole) expect(() => JSON.parse(event.data)).not.toThrow();
    });

    test('one byte at a time and random chunks give the identical events', () => {
      expect(run(bytewise(bytes))).toEqual(whole);
      for (const seed of [1, 2, 3]) expect(run(randomChunks(bytes, seed, 50))).toEqual(whole);
      expect(run(randomChunks(bytes, 4, 5000))).toEqual(whole);
    });

    test('with CRLF line ends the events are the same', () => {
      expect(run(randomChunks(bytesOf(body.replace(/\n/g, '\r\n')), 11, 40))).toEqual(whole);
    });
  });
});

describe('NdjsonParser: framing', () => {
  test('a line is delivered as soon as its newline arrives', () => {
    const parser = new NdjsonParser();
    expect(parser.push(bytesOf('{"a":1}\n{"b"'))).toEqual([{ data: '{"a":1}' }]);
    expect(parser.push(bytesOf(':2}'))).toEqual([]);
    expect(parser.push(bytesOf('\n'))).toEqual([{ data: '{"b":2}' }]);
    expect(parser.end()).toEqual([]);
  });

  test('CRLF, including a CRLF split across chunks', () => {
    const parser = new NdjsonParser();
    expect(parser.push(bytesOf('{"a":1}\r'))).toEqual([]);
    expect(parser.push(bytesOf('\n{"b":2}\r\n'))).toEqual([{ data: '{"a":1}' }, { data: '{"b":2}' }]);
  });

  test('blank and whitespace-only lines are skipped', () => {
    expect(run([bytesOf('\n\n  \n{"a":1}\n\r\n\t\n{"b":2}\n\n')])).toEqual([{ data: '{"a":1}' }, { data: '{"b":2}' }]);
  });

  test('surrounding whitespace is trimmed, inner whitespace kept', () => {
    expect(run([bytesOf('  {"a": "x  y"}  \n')])).toEqual([{ data: '{"a": "x  y"}' }]);
  });

  test('a last line without a newline is delivered by end()', () => {
    const parser = new NdjsonParser();
    expect(parser.push(bytesOf('{"a":1}\n{"done":true}'))).toEqual([{ data: '{"a":1}' }]);
    expect(parser.end()).toEqual([{ data: '{"done":true}' }]);
    expect(parser.end()).toEqual([]);
  });

  test('empty stream and whitespace-only tail', () => {
    expect(run([])).toEqual([]);
    expect(run([bytesOf('{"a":1}\n   ')])).toEqual([{ data: '{"a":1}' }]);
  });

  test('lines are not parsed: invalid JSON is passed through as text', () => {
    expect(run([bytesOf('not json\n{"a":\n')])).toEqual([{ data: 'not json' }, { data: '{"a":' }]);
  });

  test('multi-byte characters split at every byte offset decode intact', () => {
    const bytes = bytesOf('{"t":"😀 é 世界"}\n{"t":"👩‍👩‍👧"}\n');
    const whole = run([bytes]);
    expect(whole).toEqual([{ data: '{"t":"😀 é 世界"}' }, { data: '{"t":"👩‍👩‍👧"}' }]);
    for (let cut = 1; cut < bytes.length; cut += 1) expect(run(splitAt(bytes, [cut]))).toEqual(whole);
    expect(run(bytewise(bytes))).toEqual(whole);
  });
});

describe('NdjsonParser: oversized lines', () => {
  const max = 50;

  test('a line growing past the limit is dropped, counted once, memory bounded, the next line survives', () => {
    const parser = new NdjsonParser(max);
    const events: StreamEvent[] = [...parser.push(bytesOf('{"ok":0}\n{"big":"'))];
    for (let i = 0; i < 100; i += 1) events.push(...parser.push(bytesOf('x'.repeat(10))));
    events.push(...parser.push(bytesOf('"}\n{"ok":1}\n')));
    events.push(...parser.end());
    expect(events).toEqual([{ data: '{"ok":0}' }, { data: '{"ok":1}' }]);
    expect(parser.oversizedLines).toBe(1);
  });

  test('an oversized line is dropped however it is chunked, including within one chunk', () => {
    const text = `{"a":1}\n{"big":"${'y'.repeat(80)}"}\n{"b":2}\n`;
    for (const chunks of [[bytesOf(text)], bytewise(bytesOf(text)), randomChunks(bytesOf(text), 3, 20)]) {
      const parser = new NdjsonParser(max);
      expect(run(chunks, parser)).toEqual([{ data: '{"a":1}' }, { data: '{"b":2}' }]);
      expect(parser.oversizedLines).toBe(1);
    }
  });

  test('an oversized unterminated last line is not delivered', () => {
    const parser = new NdjsonParser(max);
    expect(run([bytesOf('{"a":1}\n'), bytesOf('z'.repeat(200))], parser)).toEqual([{ data: '{"a":1}' }]);
    expect(parser.oversizedLines).toBe(1);
  });

  test('a large line arriving in small chunks is parsed in linear time', () => {
    const payload = 'v'.repeat(2 * 1024 * 1024);
    const bytes = bytesOf(`{"p":"${payload}"}\n{"n":1}\n`);
    const parser = new NdjsonParser();
    const started = Date.now();
    const events: StreamEvent[] = [];
    for (let i = 0; i < bytes.length; i += 512) events.push(...parser.push(bytes.subarray(i, i + 512)));
    const elapsed = Date.now() - started;
    expect(events.map((e) => e.data.length)).toEqual([payload.length + 8, 7]);
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('NdjsonParser: a line past the limit is skipped without holding or decoding it (issue 22 item 3)', () => {
  test('a multi-byte character cut where the line is dropped does not leak into the next line', () => {
    const parser = new NdjsonParser(50);
    const emoji = bytesOf('😀');
    const events = [
      ...parser.push(bytesOf('{"a":1}\n{"big":"' + 'x'.repeat(60))),
      // The dropped line ends in the first half of a character; the newline ends the line anyway.
      ...parser.push(Buffer.concat([bytesOf('y'.repeat(10)), emoji.subarray(0, 2)])),
      ...parser.push(Buffer.concat([bytesOf('\n{"b":"é'), emoji])),
      ...parser.push(bytesOf('"}\n')),
      ...parser.end(),
    ];
    expect(events).toEqual([{ data: '{"a":1}' }, { data: '{"b":"é😀"}' }]);
    expect(parser.oversizedLines).toBe(1);
  });

  test('memory: a 128 MiB line past an 8 Mi-character limit adds no heap once it has been dropped', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const max = 8 * 1024 * 1024;
    const total = 128 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    const parser = new NdjsonParser(max);
    for (let sent = 0; sent <= max; sent += chunk.length) parser.push(chunk);
    gc();
    const before = process.memoryUsage();
    let heap = 0;
    let rss = 0;
    for (let sent = 0; sent < total; sent += chunk.length) {
      parser.push(chunk);
      const now = process.memoryUsage();
      heap = Math.max(heap, now.heapUsed - before.heapUsed);
      rss = Math.max(rss, now.rss - before.rss);
    }
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    process.stdout.write(`NDJSON: 128 MiB more of a line past an 8 Mi-character limit: peak heap +${mib(heap)} MiB, RSS +${mib(rss)} MiB\n`);
    expect(parser.oversizedLines).toBe(1);
    // Collecting the line again up to the limit would hold 8 MiB of text at least (and decode it); skipping holds none.
    expect(heap).toBeLessThan(max / 2);
  });
});

describe('NdjsonParser: properties', () => {
  const token = fc.constantFrom('{"a":1}', '{"done":true}', ' ', '\t', '\r', '\n', '\r\n', 'x', '"', '😀', 'é', '世');
  const ndjsonText = fc.array(token, { maxLength: 60 }).map((tokens) => tokens.join(''));
  const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 12 });

  test('never throws on arbitrary bytes, however they are chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, (bytes, offsets) => {
        const parser = new NdjsonParser(32);
        for (const chunk of splitAt(Buffer.from(bytes), offsets)) parser.push(chunk);
        parser.end();
      }),
      { numRuns: 500 },
    );
  });

  test('chunking never changes the events', () => {
    fc.assert(
      fc.property(fc.oneof(ndjsonText.map(bytesOf), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), cuts, (bytes, offsets) => {
        expect(run(splitAt(bytes, offsets))).toEqual(run([bytes]));
      }),
      { numRuns: 1000 },
    );
  });

  test('events agree with the whole-text oracle, with and without a line limit', () => {
    fc.assert(
      fc.property(ndjsonText, cuts, fc.constantFrom(Infinity, 8, 16), (text, offsets, limit) => {
        const parser = limit === Infinity ? new NdjsonParser() : new NdjsonParser(limit);
        expect(run(splitAt(bytesOf(text), offsets), parser)).toEqual(referenceLines(text, limit));
        const dropped = text.split('\n').filter((line) => line.length > limit).length;
        expect(parser.oversizedLines).toBe(dropped);
      }),
      { numRuns: 1000 },
    );
  });

  test('no event is empty or has surrounding whitespace', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, (bytes, offsets) => {
        for (const event of run(splitAt(Buffer.from(bytes), offsets))) {
          expect(event.data.length).toBeGreaterThan(0);
          expect(event.data).toBe(event.data.trim());
          expect(event.data).not.toContain('\n');
        }
      }),
      { numRuns: 300 },
    );
  });
});
