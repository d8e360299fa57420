import fc from 'fast-check';
import { readFileSync } from 'fs';
import { join } from 'path';
import { parseResetDuration, readRateLimitHeaders, RateLimitReading } from '../../src/telemetry/rateLimitHeaders';

type Headers = Record<string, string | string[] | undefined>;

const NOW = Date.parse('2025-03-15T12:57:57Z');
const CORPUS = join(__dirname, '..', 'fixtures', 'corpus');

function corpusHeaders(file: string): Headers {
  return JSON.parse(readFileSync(join(CORPUS, file), 'utf8')).response.headers as Headers;
}

/** toEqual treats `undefined` properties as absent; this makes "never invent a value" explicit. */
function expectReadings(actual: readonly RateLimitReading[], expected: RateLimitReading[]): void {
  expect(actual.map((r) => r.resource)).toEqual(expected.map((r) => r.resource));
  actual.forEach((r, i) => {
    const want = expected[i];
    expect(Object.keys(r).sort()).toEqual(Object.keys(want).sort());
    if (want.limit !== undefined) expect(r.limit).toBe(want.limit);
    if (want.remaining !== undefined) expect(r.remaining).toBe(want.remaining);
    if (want.resetSeconds !== undefined) expect(r.resetSeconds).toBeCloseTo(want.resetSeconds, 9);
  });
}

describe('readRateLimitHeaders: recorded provider headers', () => {
  const cases: Array<[string, Headers, RateLimitReading[]]> = [
    [
      'OpenAI',
      {
        'x-ratelimit-limit-requests': '30000',
        'x-ratelimit-limit-tokens': '150000000',
        'x-ratelimit-remaining-requests': '29999',
        'x-ratelimit-remaining-tokens': '149999993',
        'x-ratelimit-reset-requests': '2ms',
        'x-ratelimit-reset-tokens': '0s',
      },
      [
        { resource: 'requests', limit: 30000, remaining: 29999, resetSeconds: 0.002 },
        { resource: 'tokens', limit: 150000000, remaining: 149999993, resetSeconds: 0 },
      ],
    ],
    [
      'Groq',
      {
        'x-ratelimit-limit-requests': '14400',
        'x-ratelimit-limit-tokens': '6000',
        'x-ratelimit-remaining-requests': '14399',
        'x-ratelimit-remaining-tokens': '5987',
        'x-ratelimit-reset-requests': '6s',
        'x-ratelimit-reset-tokens': '130ms',
      },
      [
        { resource: 'requests', limit: 14400, remaining: 14399, resetSeconds: 6 },
        { resource: 'tokens', limit: 6000, remaining: 5987, resetSeconds: 0.13 },
      ],
    ],
    [
      'Groq, fractional Go duration (corpus groq/chat_llama3_8b.json)',
      { 'x-ratelimit-reset-requests': '10.332999999s', 'x-ratelimit-reset-tokens': '26ms' },
      [
        { resource: 'requests', resetSeconds: 10.332999999 },
        { resource: 'tokens', resetSeconds: 0.026 },
      ],
    ],
    [
      'OpenAI, extra input-images resource (corpus openai/error_400_invalid_image_url.json)',
      {
        'x-ratelimit-limit-input-images': '50000',
        'x-ratelimit-remaining-input-images': '49999',
        'x-ratelimit-reset-input-images': '1ms',
        'x-ratelimit-reset-requests': '20m52.666s',
      },
      [
        { resource: 'input_images', limit: 50000, remaining: 49999, resetSeconds: 0.001 },
        { resource: 'requests', resetSeconds: 1252.666 },
      ],
    ],
    [
      'Azure OpenAI, remaining only',
      { 'x-ratelimit-remaining-requests': '119', 'x-ratelimit-remaining-tokens': '119984' },
      [
        { resource: 'requests', remaining: 119 },
        { resource: 'tokens', remaining: 119984 },
      ],
    ],
    [
      'Azure OpenAI, full set with renewal period and abuse penalty (ignored)',
      {
        'x-ratelimit-abusepenalty-active': 'False',
        'x-ratelimit-limit-requests': '120',
        'x-ratelimit-limit-tokens': '120000',
        'x-ratelimit-remaining-requests': '119',
        'x-ratelimit-remaining-tokens': '119986',
        'x-ratelimit-renewalperiod-requests': '60',
        'x-ratelimit-renewalperiod-tokens': '60',
        'x-ratelimit-reset-requests': '500',
        'x-ratelimit-reset-tokens': '7',
      },
      [
        { resource: 'requests', limit: 120, remaining: 119, resetSeconds: 500 },
        { resource: 'tokens', limit: 120000, remaining: 119986, resetSeconds: 7 },
      ],
    ],
    [
      'Mistral, windowed resource names and no resets',
      {
        'x-ratelimit-limit-req-10-second': '60',
        'x-ratelimit-limit-tokens-minute': '20000000',
        'x-ratelimit-limit-tokens-month': '200000000000',
        'x-ratelimit-remaining-req-10-second': '50',
        'x-ratelimit-remaining-tokens-minute': '19999990',
        'x-ratelimit-remaining-tokens-month': '199999999990',
        'x-ratelimit-tokens-query-cost': '10',
      },
      [
        { resource: 'req_10_second', limit: 60, remaining: 50 },
        { resource: 'tokens_minute', limit: 20000000, remaining: 19999990 },
        { resource: 'tokens_month', limit: 200000000000, remaining: 199999999990 },
      ],
    ],
    [
      'Together, unsuffixed',
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '2' },
      [{ resource: 'requests', limit: 2, remaining: 1, resetSeconds: 2 }],
    ],
  ];

  it.each(cases)('%s', (_name, headers, expected) => {
    expectReadings(readRateLimitHeaders(headers, NOW), expected);
  });

  it('Anthropic: reads a recorded corpus response (RFC 3339 resets)', () => {
    const headers = corpusHeaders('anthropic/messages_stream_extended_thinking.json');
    // One second before the recorded requests reset (2025-03-15T12:57:58Z).
    expectReadings(readRateLimitHeaders(headers, NOW), [
      { resource: 'input_tokens', limit: 200000, remaining: 126000, resetSeconds: 23 },
      { resource: 'output_tokens', limit: 80000, remaining: 59000, resetSeconds: 16 },
      { resource: 'requests', limit: 4000, remaining: 3999, resetSeconds: 1 },
      { resource: 'tokens', limit: 280000, remaining: 185000, resetSeconds: 16 },
    ]);
  });

  it('the corpus JSON headers and the recorded OpenAI values agree with the corpus files', () => {
    const openai = readRateLimitHeaders(corpusHeaders('openai/chat_stream_include_usage_tool_call.json'), NOW);
    expect(openai).toEqual([
      { resource: 'requests', limit: 30000, remaining: 29999, resetSeconds: 0.002 },
      { resource: 'tokens', limit: 150000000, remaining: 149999993, resetSeconds: 0 },
    ]);
    const groq = readRateLimitHeaders(corpusHeaders('groq/chat_stream_usage_in_x_groq.json'), NOW);
    expect(groq.map((r) => [r.resource, r.limit, r.remaining])).toEqual([
      ['requests', 14400, 14399],
      ['tokens', 6000, 5987],
    ]);
  });
});

describe('readRateLimitHeaders: resets', () => {
  const anthropic = (reset: string): Headers => ({ 'anthropic-ratelimit-requests-reset': reset });
  const cases: Array<[string, Headers, number | undefined]> = [
    ['RFC 3339 in the future', anthropic('2025-03-15T12:58:57Z'), 60],
    ['RFC 3339 with fraction', anthropic('2025-03-15T12:57:58.5Z'), 1.5],
    ['RFC 3339 with offset', anthropic('2025-03-15T13:58:57+01:00'), 60],
    ['RFC 3339 lower-case z', anthropic('2025-03-15t12:58:57z'), 60],
    ['RFC 3339 in the past clamps to 0', anthropic('2024-10-16T05:02:55Z'), 0],
    ['RFC 3339 impossible date', anthropic('2025-13-45T99:99:99Z'), undefined],
    ['free-form date is not RFC 3339', anthropic('Sat, 15 Mar 2025 12:58:57 GMT'), undefined],
    ['bare reset in seconds', { 'x-ratelimit-reset': '20' }, 20],
    ['bare reset as epoch ms', { 'x-ratelimit-reset': String(NOW + 30_000) }, 30],
    ['bare reset as epoch ms in the past', { 'x-ratelimit-reset': String(NOW - 30_000) }, 0],
    ['bare reset as epoch seconds', { 'x-ratelimit-reset': String(NOW / 1000 + 45) }, 45],
    ['bare reset as duration', { 'x-ratelimit-reset': '1m' }, 60],
    ['huge bare reset', { 'x-ratelimit-reset': '9'.repeat(400) }, undefined],
  ];

  it.each(cases)('%s', (_name, headers, expected) => {
    const [reading] = readRateLimitHeaders(headers, NOW);
    if (expected === undefined) expect(reading).toBeUndefined();
    else expect(reading.resetSeconds).toBeCloseTo(expected, 6);
  });

  it('absolute resets need a usable clock', () => {
    expect(readRateLimitHeaders(anthropic('2025-03-15T12:58:57Z'), NaN)).toEqual([]);
    expect(readRateLimitHeaders({ 'x-ratelimit-reset': String(NOW) }, Infinity)).toEqual([]);
  });
});

describe('parseResetDuration', () => {
  const cases: Array<[string, number | undefined]> = [
    ['6m0s', 360],
    ['130ms', 0.13],
    ['2ms', 0.002],
    ['1s', 1],
    ['1h2m3.5s', 3723.5],
    ['0s', 0],
    ['20', 20],
    ['0', 0],
    ['2.5', 2.5],
    ['10.332999999s', 10.332999999],
    ['20m52.666s', 1252.666],
    ['1m30s', 90],
    ['1ms500us', 0.0015],
    ['250µs', 0.00025],
    ['100ns', 1e-7],
    [' 6s ', 6],
    ['', undefined],
    ['   ', undefined],
    ['s', undefined],
    ['6', 6],
    ['-5', undefined],
    ['-6s', undefined],
    ['abc', undefined],
    ['1e400', undefined],
    ['1e3', undefined],
    ['6 s', undefined],
    ['6d', undefined],
    ['6s garbage', undefined],
    ['.5s', undefined],
    ['Infinity', undefined],
    ['NaN', undefined],
    ['9'.repeat(400) + 's', undefined],
  ];

  // Short titles: one input is 400 characters long.
  it.each(cases.map(([input, expected]) => [JSON.stringify(input).slice(0, 24), expected, input] as const))(
    '%s -> %p',
    (_title, expected, input) => {
      const got = parseResetDuration(input);
      if (expected === undefined) expect(got).toBeUndefined();
      else expect(got).toBeCloseTo(expected, 12);
    },
  );

  it('does not throw on non-strings from untyped callers', () => {
    expect(parseResetDuration(undefined as unknown as string)).toBeUndefined();
    expect(parseResetDuration(42 as unknown as string)).toBeUndefined();
  });
});

describe('readRateLimitHeaders: garbage and shapes', () => {
  const garbage = ['-5', '-1', 'abc', '1e400', '1e3', '', ' ', '1.5', '0x10', 'Infinity', 'NaN', '12abc', '9007199254740993'];

  it.each(garbage)('limit/remaining/reset %j produce no reading at all', (value) => {
    const headers: Headers = {
      'x-ratelimit-limit-requests': value,
      'x-ratelimit-remaining-requests': value,
      'anthropic-ratelimit-tokens-limit': value,
      'anthropic-ratelimit-tokens-remaining': value,
    };
    expect(readRateLimitHeaders(headers, NOW)).toEqual([]);
  });

  it('keeps the fields that parse and leaves the others absent', () => {
    const got = readRateLimitHeaders(
      { 'x-ratelimit-limit-tokens': 'abc', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '-1s' },
      NOW,
    );
    expect(got).toEqual([{ resource: 'tokens', remaining: 0 }]);
    expect('limit' in got[0]).toBe(false);
    expect('resetSeconds' in got[0]).toBe(false);
  });

  const arrays: Array<[string, Headers, RateLimitReading[]]> = [
    ['first element wins', { 'x-ratelimit-limit-requests': ['100', '200'] }, [{ resource: 'requests', limit: 100 }]],
    ['garbage first element is not skipped', { 'x-ratelimit-limit-requests': ['x', '200'] }, []],
    ['empty array', { 'x-ratelimit-limit-requests': [] }, []],
    ['undefined value', { 'x-ratelimit-limit-requests': undefined }, []],
  ];
  it.each(arrays)('array values: %s', (_name, headers, expected) => {
    expect(readRateLimitHeaders(headers, NOW)).toEqual(expected);
  });

  it('ignores retry-after and unrelated headers', () => {
    expect(
      readRateLimitHeaders({ 'retry-after': '30', 'retry-after-ms': '30000', 'x-ratelimit': '5', 'content-length': '9' }, NOW),
    ).toEqual([]);
  });

  it('rejects resource names outside [a-z0-9_-]{1,32}', () => {
    expect(
      readRateLimitHeaders(
        { 'x-ratelimit-limit-': '1', 'x-ratelimit-limit-tok ens': '1', [`x-ratelimit-limit-${'a'.repeat(33)}`]: '1' },
        NOW,
      ),
    ).toEqual([]);
    expect(readRateLimitHeaders({ [`x-ratelimit-limit-${'a'.repeat(32)}`]: '1' }, NOW)).toEqual([
      { resource: 'a'.repeat(32), limit: 1 },
    ]);
  });

  it('lower-cases names itself, for callers that did not', () => {
    expect(readRateLimitHeaders({ 'X-RateLimit-Remaining-Tokens': '7' }, NOW)).toEqual([{ resource: 'tokens', remaining: 7 }]);
  });

  it('prefers the suffixed header over the bare one for the same field', () => {
    expect(
      readRateLimitHeaders({ 'x-ratelimit-limit': '1', 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining': '5' }, NOW),
    ).toEqual([{ resource: 'requests', limit: 100, remaining: 5 }]);
  });

  it('does not depend on header order when names collide after normalisation', () => {
    const a = { 'x-ratelimit-limit-input-images': '1', 'x-ratelimit-limit-input_images': '2' };
    const b = { 'x-ratelimit-limit-input_images': '2', 'x-ratelimit-limit-input-images': '1' };
    expect(readRateLimitHeaders(a, NOW)).toEqual(readRateLimitHeaders(b, NOW));
  });

  it('never throws on non-object input from untyped callers', () => {
    expect(readRateLimitHeaders(null as unknown as Headers, NOW)).toEqual([]);
    expect(readRateLimitHeaders(undefined as unknown as Headers, NOW)).toEqual([]);
    expect(readRateLimitHeaders({ 'x-ratelimit-limit-requests': 5 as unknown as string }, NOW)).toEqual([]);
  });

  it('caps at 8 readings, keeping the well-known resources', () => {
    const headers: Headers = {};
    for (let i = 0; i < 50; i++) headers[`x-ratelimit-remaining-aaa${String(i).padStart(2, '0')}`] = String(i);
    headers['x-ratelimit-remaining-requests'] = '1';
    headers['x-ratelimit-remaining-tokens'] = '2';
    headers['anthropic-ratelimit-output-tokens-limit'] = '3';
    const got = readRateLimitHeaders(headers, NOW);
    expect(got.map((r) => r.resource)).toEqual([
      'aaa00', 'aaa01', 'aaa02', 'aaa03', 'aaa04', 'output_tokens', 'requests', 'tokens',
    ]);
  });

  it('empty readings do not take a slot under the cap', () => {
    const headers: Headers = {};
    for (let i = 0; i < 20; i++) headers[`x-ratelimit-limit-a${i}`] = 'garbage';
    headers['x-ratelimit-limit-zzz'] = '9';
    expect(readRateLimitHeaders(headers, NOW)).toEqual([{ resource: 'zzz', limit: 9 }]);
  });
});

describe('readRateLimitHeaders: properties', () => {
  const nameArb = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(
          'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'X-RateLimit-Reset-',
          'x-ratelimit-limit-', 'x-ratelimit-remaining-', 'x-ratelimit-reset-', 'anthropic-ratelimit-', 'retry-after',
        ),
        fc.oneof(
          fc.constantFrom('', 'requests', 'tokens', 'input-tokens', 'requests-limit', 'tokens-remaining', 'output-tokens-reset'),
          fc.string({ maxLength: 40 }),
        ),
      )
      .map(([a, b]) => a + b),
    fc.string(),
  );
  const valueStringArb = fc.oneof(
    fc.constantFrom(
      '30000', '2ms', '6m0s', '130ms', '-5', '1e400', '', '1.5', '00012', '9007199254740993', '9007199254740991',
      '2025-03-15T09:40:01Z', '1742031601000', '1742031601', 'Infinity', 'NaN', '-0',
    ),
    fc.string(),
    fc.nat().map(String),
    fc.double().map(String),
    fc.bigInt().map(String),
    fc.stringMatching(/^\d{1,25}(\.\d{1,20})?(h|m|s|ms|us|ns)?$/),
  );
  const valueArb = fc.oneof(valueStringArb, fc.array(valueStringArb, { maxLength: 3 }), fc.constant(undefined));
  const nowArb = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.double());

  it('never throws, returns only finite non-negative numbers, and counts that appear in the input', () => {
    fc.assert(
      fc.property(fc.dictionary(nameArb, valueArb, { maxKeys: 30 }), nowArb, (headers, nowMs) => {
        const readings = readRateLimitHeaders(headers, nowMs);
        const values = Object.values(headers).flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
        expect(readings.length).toBeLessThanOrEqual(8);
        const names = readings.map((r) => r.resource);
        expect(names).toEqual([...names].sort());
        expect(new Set(names).size).toBe(names.length);
        for (const r of readings) {
          expect(r.resource).toMatch(/^[a-z0-9_]{1,32}$/);
          expect(r.limit !== undefined || r.remaining !== undefined || r.resetSeconds !== undefined).toBe(true);
          for (const n of [r.limit, r.remaining, r.resetSeconds]) {
            if (n === undefined) continue;
            expect(Number.isFinite(n)).toBe(true);
            expect(n).toBeGreaterThanOrEqual(0);
          }
          for (const n of [r.limit, r.remaining]) {
            if (n === undefined) continue;
            expect(values.some((v) => v.includes(String(n)))).toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseResetDuration never throws and returns only finite non-negative numbers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^(\d{1,400}(\.\d{1,5})?(h|m|s|ms|us|µs|ns)){0,4}$/)), (s) => {
        const got = parseResetDuration(s);
        if (got !== undefined) {
          expect(Number.isFinite(got)).toBe(true);
          expect(got).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
