/**
 * ResponseObserver's two steps: `relay()` hands back the client's bytes without reading what
 * they say, `catchUp()` reads it afterwards (issue 5: no chunk waits for its own usage and
 * model to be read). And when reading fails mid-stream, every byte still reaches the client.
 */
import { ResponseObserver, type ObserverOptions } from '../../src/observe/responseObserver';
import { createOpenAiDialect } from '../../src/providers/openai';
import type { ProviderDialect } from '../../src/providers/types';
import { createBodyBudget } from '../../src/proxy/bodyBudget';
import { gzipPieces } from '../helpers/gzipPieces';

const openai = createOpenAiDialect({ id: 'openai', injectStreamUsage: true });

function chunkEvent(index: number, extra = ''): string {
  return `data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"w${index}"}}]${extra}}\n\n`;
}
const USAGE_ONLY = 'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n';

function observer(options: Partial<ObserverOptions> = {}, errors: string[] = []): ResponseObserver {
  return new ResponseObserver({
    dialect: openai,
    framing: 'sse',
    hideInjectedUsage: false,
    maxBodyBytes: 1 << 20,
    timeJsonChunks: false,
    onTelemetryError: (stage) => errors.push(stage),
    ...options,
  });
}

describe.each([
  ['as sent', false],
  ['with injected usage hidden', true],
])('relay, then catch up: a stream %s', (_name, hideInjectedUsage) => {
  test('relay returns the bytes and reads nothing; catchUp reads them with the time they arrived', () => {
    const watcher = observer({ hideInjectedUsage });
    const before = performance.now();
    const out = watcher.relay(Buffer.from(chunkEvent(0, hideInjectedUsage ? ',"usage":null' : '')));
    const relayedBy = performance.now();
    expect(out.toString()).toBe(chunkEvent(0));
    expect(watcher.facts.responseModel).toBeUndefined();
    expect(watcher.firstContentAt).toBeUndefined();

    watcher.catchUp();
    expect(watcher.facts.responseModel).toBe('gpt-4o-mini-2024-07-18');
    expect(watcher.firstContentAt).toBeGreaterThanOrEqual(before);
    expect(watcher.firstContentAt).toBeLessThanOrEqual(relayedBy);
  });

  test('everything relayed is read once caught up after the end of the body, usage included', () => {
    const watcher = observer({ hideInjectedUsage });
    const relayed = [watcher.relay(Buffer.from(chunkEvent(0))), watcher.relay(Buffer.from(chunkEvent(1))), watcher.relay(Buffer.from(USAGE_ONLY))];
    relayed.push(watcher.endOfBody());
    expect(watcher.facts.usage).toEqual({});
    watcher.catchUp();
    expect(watcher.facts.usage).toEqual({ input: 7, output: 3 });
    expect(watcher.chunkGapsSeconds).toHaveLength(1);
    const client = Buffer.concat(relayed).toString();
    expect(client).toBe(hideInjectedUsage ? chunkEvent(0) + chunkEvent(1) : chunkEvent(0) + chunkEvent(1) + USAGE_ONLY);
  });
});

describe('a whole JSON answer', () => {
  const ANSWER = JSON.stringify({ id: 'c', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } });

  test('the end of the body hands back nothing to add and parses nothing: the JSON.parse waits for catchUp, after the client has its last bytes', () => {
    const watcher = observer({ framing: 'json' });
    const half = ANSWER.length >> 1;
    const relayed = [watcher.relay(Buffer.from(ANSWER.slice(0, half))), watcher.relay(Buffer.from(ANSWER.slice(half)))];
    watcher.catchUp();
    expect(watcher.endOfBody()).toHaveLength(0);
    expect(watcher.facts).toEqual({ usage: {} });
    watcher.catchUp();
    expect(watcher.facts).toEqual({ usage: { input: 7, output: 3 }, responseModel: 'gpt-4o-mini-2024-07-18' });
    expect(Buffer.concat(relayed).toString()).toBe(ANSWER);
    expect(watcher.bodyUnreadable).toBe(false);
    // Reading twice reads nothing twice.
    watcher.catchUp();
    expect(watcher.facts.usage).toEqual({ input: 7, output: 3 });
  });

  test('a body that is not JSON is found unreadable at catchUp, not at the end of the body', () => {
    const errors: string[] = [];
    const watcher = observer({ framing: 'json' }, errors);
    watcher.relay(Buffer.from('<html>bad gateway</html>'));
    watcher.endOfBody();
    expect(watcher.bodyUnreadable).toBe(false);
    watcher.catchUp();
    expect(watcher.bodyUnreadable).toBe(true);
    expect(errors).toEqual(['response_not_json']);
  });
});

describe('reading fails mid-stream: the bytes still flow', () => {
  /** openai's reading, except that it throws on the event carrying `w1`. */
  const failsOnSecond: ProviderDialect = {
    ...openai,
    readStreamEvent: (event, facts, json) => {
      if (event.data.includes('"w1"')) throw new Error('a bug in a provider module');
      return openai.readStreamEvent(event, facts, json);
    },
  };

  test.each([
    ['the provider finishes', 'end'],
    ['the provider breaks off', 'break'],
  ])('an event held back for rewriting goes out whole after the failure, when %s', (_name, ending) => {
    const errors: string[] = [];
    const watcher = observer({ dialect: failsOnSecond, hideInjectedUsage: true }, errors);
    const second = chunkEvent(1, ',"usage":null');
    const third = chunkEvent(2, ',"usage":null');
    // The chunk with the failing event also starts the third event, which the rewriting holds back.
    const pieces = [chunkEvent(0, ',"usage":null'), second + third.slice(0, 20), third.slice(20)];
    const client: Buffer[] = [];
    for (const piece of ending === 'end' ? pieces : pieces.slice(0, 2)) {
      client.push(watcher.relay(Buffer.from(piece)));
      watcher.catchUp();
    }
    client.push(ending === 'end' ? watcher.endOfBody() : watcher.releaseHeldBack());

    expect(errors).toEqual(['event']);
    // Rewritten up to the failure; from there on the provider's bytes as they came, nothing lost.
    const expected = chunkEvent(0) + chunkEvent(1) + (ending === 'end' ? third : third.slice(0, 20));
    expect(Buffer.concat(client).toString()).toBe(expected);
  });
});

describe('a compressed answer that ends abnormally (issue 22 item 7)', () => {
  test('cut mid-stream: what was decoded is read and the observer settles; the unfinished event stays unread, as for a plain body', async () => {
    const errors: string[] = [];
    const watcher = observer({ contentEncoding: 'gzip' }, errors);
    const pieces = await gzipPieces([chunkEvent(0), chunkEvent(1), USAGE_ONLY]);
    // Two whole events, and the compressed stream cut inside the third (which carries the usage).
    const third = pieces[2] as Buffer;
    const relayed = [watcher.relay(pieces[0] as Buffer), watcher.relay(pieces[1] as Buffer), watcher.relay(third.subarray(0, third.length >> 1))];
    expect(Buffer.concat(relayed).equals(Buffer.concat([pieces[0] as Buffer, pieces[1] as Buffer, third.subarray(0, third.length >> 1)]))).toBe(true);
    watcher.bodyCut();
    await watcher.settled();
    expect(watcher.facts).toEqual({ usage: {}, responseModel: 'gpt-4o-mini-2024-07-18' });
    expect(watcher.chunkGapsSeconds).toHaveLength(1);
    // Bytes that still come are the client's, untouched, and read no more.
    const late = Buffer.from('late bytes');
    expect(watcher.relay(late)).toBe(late);
    expect(watcher.endOfBody()).toHaveLength(0);
    expect(errors).toEqual([]);
  });

  test('cut before any byte of the body: settles with nothing read', async () => {
    const watcher = observer({ contentEncoding: 'br' });
    watcher.bodyCut();
    await watcher.settled();
    expect(watcher.facts).toEqual({ usage: {} });
  });
});

describe('a compressed answer is decoded only up to the parse limit (issue 22 item 8)', () => {
  test.each([
    ['a JSON body past maxBodyBytes', 'json' as const, ['{"pad":"', ' '.repeat(3 << 20)]],
    ['an SSE event past the per-event limit', 'sse' as const, ['data: ', 'x'.repeat(5 << 20)]],
    ['an NDJSON line past the per-line limit', 'ndjson' as const, ['{"pad":"', 'x'.repeat(5 << 20)]],
  ])('%s: decoding stops there; what comes after is relayed, never decoded', async (_name, framing, texts) => {
    const errors: string[] = [];
    let tooLarge: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (tooLarge = resolve));
    const watched = observer({
      framing,
      contentEncoding: 'gzip',
      onTelemetryError: (stage) => {
        errors.push(stage);
        if (stage === 'response_too_large') tooLarge();
      },
    });
    const pieces = await gzipPieces([...texts, ' '.repeat(1 << 20)]);
    for (const piece of pieces.slice(0, texts.length)) expect(watched.relay(piece)).toBe(piece);
    await stopped;
    // An invalid deflate block after more data: decoding it would report `decompress`.
    const rest = Buffer.concat([pieces[texts.length] as Buffer, Buffer.from([0x07])]);
    expect(watched.relay(rest)).toBe(rest);
    watched.endOfBody();
    await watched.settled();
    watched.catchUp();
    expect(errors).toEqual(['response_too_large']);
    expect(watched.facts).toEqual({ usage: {} });
  });
});

describe('a JSON answer kept for reading takes its bytes from the shared body budget (issue 22 item 2)', () => {
  const COMPLETION = '{"id":"x","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10},"choices":[]}';
  const halves = [Buffer.from(COMPLETION.slice(0, 60)), Buffer.from(COMPLETION.slice(60))];

  test('within the budget: held while it arrives, read at its end, then given back', () => {
    const budget = createBodyBudget(1024);
    const watched = observer({ framing: 'json' });
    watched.holdBodyFrom(budget.lease());
    for (const half of halves) {
      expect(watched.relay(half)).toBe(half);
      watched.catchUp();
    }
    expect(budget.used).toBe(COMPLETION.length);
    watched.endOfBody();
    watched.catchUp();
    expect(watched.facts.usage.input).toBe(7);
    expect(budget.used).toBe(0);
  });

  test('past the budget: relayed untouched, not kept, reported once as response_over_budget', () => {
    const budget = createBodyBudget(COMPLETION.length - 1);
    const errors: string[] = [];
    const watched = observer({ framing: 'json' }, errors);
    watched.holdBodyFrom(budget.lease());
    for (const half of halves) {
      expect(watched.relay(half)).toBe(half);
      watched.catchUp();
    }
    expect(budget.used).toBe(0);
    watched.endOfBody();
    watched.catchUp();
    expect(errors).toEqual(['response_over_budget']);
    expect(watched.facts.usage).toEqual({});
  });

  test('an answer that never ends gives its share back when the exchange drops it', () => {
    const budget = createBodyBudget(1024);
    const errors: string[] = [];
    const watched = observer({ framing: 'json' }, errors);
    watched.holdBodyFrom(budget.lease());
    watched.relay(halves[0] as Buffer);
    watched.catchUp();
    expect(budget.used).toBe(60);
    watched.bodyCut();
    watched.dropBody();
    expect(budget.used).toBe(0);
    // Whatever still arrives is only relayed: not kept, not budgeted, no error.
    watched.relay(halves[1] as Buffer);
    watched.catchUp();
    expect(budget.used).toBe(0);
    expect(errors).toEqual([]);
  });
});
