import fc from 'fast-check';
import { objectLayout } from '../../src/observe/jsonLayout';
import { setTopLevelMembers } from '../../src/observe/jsonText';
import { withoutMember as removeTopLevelMember } from '../helpers/withoutMember';

describe('topLevelMemberCut: cases', () => {
  const cases: Array<[string, string, string, string | undefined]> = [
    ['first member', '{"usage":null,"id":"a","n":1}', 'usage', '{"id":"a","n":1}'],
    ['middle member', '{"id":"a","usage":null,"n":1}', 'usage', '{"id":"a","n":1}'],
    ['last member', '{"id":"a","n":1,"usage":null}', 'usage', '{"id":"a","n":1}'],
    ['only member', '{"usage":null}', 'usage', '{}'],
    ['only member, spaced', '{ "usage" : null }', 'usage', '{}'],
    ['object value', '{"id":"a","usage":{"prompt_tokens":3,"x":[1,{"y":"}"}]},"n":1}', 'usage', '{"id":"a","n":1}'],
    ['array value', '{"usage":[1,[2,"]"],{"a":"["}],"n":1}', 'usage', '{"n":1}'],
    ['string value with braces, commas and quotes', '{"usage":"a,}{\\"b\\",","n":1}', 'usage', '{"n":1}'],
    ['number value', '{"a":1,"usage":-1.5e+3,"b":2}', 'usage', '{"a":1,"b":2}'],
    ['boolean value', '{"a":1,"usage":true}', 'usage', '{"a":1}'],
    ['nested "usage" is left alone, top-level one removed', '{"choices":[{"usage":null}],"x":{"usage":1},"usage":null}', 'usage', '{"choices":[{"usage":null}],"x":{"usage":1}}'],
    ['"usage" as a string value is not a key', '{"type":"usage","usage":null,"n":"usage"}', 'usage', '{"type":"usage","n":"usage"}'],
    ['"usage" inside a key string', '{"my_usage":1,"usage_x":2,"usage":3}', 'usage', '{"my_usage":1,"usage_x":2}'],
    ['escaped quotes before the key', '{"a":"say \\"usage\\": null, ok","usage":null}', 'usage', '{"a":"say \\"usage\\": null, ok"}'],
    ['escaped backslash at the end of a string', '{"a":"C:\\\\","usage":null,"b":"\\\\"}', 'usage', '{"a":"C:\\\\","b":"\\\\"}'],
    ['whitespace around everything (first)', ' {\n  "usage" :  null ,\n  "a": 1\n}\n', 'usage', ' {\n  "a": 1\n}\n'],
    ['whitespace around everything (middle)', '{ "a": 1 ,\t"usage"\t:\tnull\t, "b": 2 }', 'usage', '{ "a": 1 \t, "b": 2 }'],
    ['pretty printed last member', '{\n  "a": 1,\n  "usage": {\n    "t": 2\n  }\n}', 'usage', '{\n  "a": 1\n}'],
    ['CRLF whitespace', '{\r\n"a":1,\r\n"usage":null\r\n}', 'usage', '{\r\n"a":1\r\n}'],
    ['unicode around', '{"t":"😀,\\"usage\\"","usage":null,"u":"é"}', 'usage', '{"t":"😀,\\"usage\\"","u":"é"}'],
    ['other key names', '{"a":1,"b":2}', 'b', '{"a":1}'],
    ['empty key', '{"":1,"a":2}', '', '{"a":2}'],
    ['key needing escapes', '{"a\\"b":1,"c":2}', 'a"b', '{"c":2}'],
    ['first of duplicate keys', '{"usage":1,"usage":2}', 'usage', '{"usage":2}'],
    ['key absent', '{"id":"a","n":1}', 'usage', undefined],
    ['key only nested', '{"x":{"usage":null},"y":[{"usage":1}]}', 'usage', undefined],
    ['key only as a value', '{"x":"usage"}', 'usage', undefined],
    ['empty object', '{}', 'usage', undefined],
    ['array input', '[{"usage":null}]', 'usage', undefined],
    ['string input', '"{\\"usage\\":null}"', 'usage', undefined],
    ['number input', '42', 'usage', undefined],
    ['empty input', '', 'usage', undefined],
    ['[DONE]', '[DONE]', 'usage', undefined],
    ['text before the object', 'data: {"usage":null}', 'usage', undefined],
    ['unterminated string', '{"a":"x,"usage":null', 'usage', undefined],
    ['unterminated value', '{"a":1,"usage":{"b":1', 'usage', undefined],
    ['value cut off', '{"a":1,"usage":', 'usage', undefined],
    ['unterminated object without the key', '{"a":1', 'usage', undefined],
  ];

  test.each(cases)('%s', (_name, text, key, expected) => {
    expect(removeTopLevelMember(text, key)).toBe(expected);
  });

  test('results of the valid cases are valid JSON equal to the object without the key', () => {
    for (const [name, text, key, expected] of cases) {
      if (expected === undefined || name === 'first of duplicate keys') continue;
      let original: Record<string, unknown>;
      try {
        original = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      const { [key]: _removed, ...rest } = original;
      expect(JSON.parse(expected)).toEqual(rest);
    }
  });

  test('a real OpenAI chunk: only "usage":null goes, every other byte stays', () => {
    const chunk =
      '{"id":"chatcmpl-B","object":"chat.completion.chunk","created":1747148049,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0392822090","choices":[{"index":0,"delta":{"content":" 1.0e+2"},"logprobs":null,"finish_reason":null}],"usage":null}';
    expect(removeTopLevelMember(chunk, 'usage')).toBe(chunk.replace(',"usage":null', ''));
  });

  test('invalid or hostile input never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (text, key) => {
        const result = removeTopLevelMember(text, key);
        if (result !== undefined) expect(result.length).toBeLessThan(text.length);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', ' ', 'usage', '"usage"', 'null', '1')), (parts) => {
        const text = parts.join('');
        const result = removeTopLevelMember(text, 'usage');
        if (result !== undefined) expect(result.length).toBeLessThan(text.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('topLevelMemberCut: properties', () => {
  // Keys include the one being removed and look-alikes; values nest objects, arrays and strings mentioning it.
  const key = fc.oneof(fc.constantFrom('usage', 'Usage', 'usage ', 'x_usage', '"usage"', 'a\\b', ''), fc.string({ maxLength: 6 }), fc.fullUnicodeString({ maxLength: 4 }));
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom('usage', '"usage": null', '{', '}', ',', '\\', '[', ']'),
    fc.string({ maxLength: 8 }),
    fc.fullUnicodeString({ maxLength: 4 }),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  }));
  const object = fc.oneof(fc.dictionary(key, value, { minKeys: 1, maxKeys: 6 }), fc.object({ maxKeys: 6 }).filter((o) => Object.keys(o).length > 0));

  /** Each top-level member's own text, from JSON.stringify of the member alone. */
  function memberTexts(obj: Record<string, unknown>, indent: number | undefined): string[] {
    return Object.keys(obj)
      .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
      .map((k) => {
        const single = JSON.stringify({ [k]: obj[k] }, null, indent);
        return single.slice(1, -1).trim();
      });
  }

  test.each([
    ['compact', undefined],
    ['2-space indentation', 2],
  ])('removing a present top-level key (%s) leaves the object without it, other members untouched', (_name, indent) => {
    fc.assert(
      fc.property(object, fc.nat(), (obj, pick) => {
        const text = JSON.stringify(obj, null, indent);
        const parsed = JSON.parse(text) as Record<string, unknown>;
        const keys = Object.keys(parsed);
        fc.pre(keys.length > 0);
        const removed = keys[pick % keys.length] as string;
        const result = removeTopLevelMember(text, removed);
        expect(result).toBeDefined();
        const { [removed]: _gone, ...rest } = parsed;
        expect(JSON.parse(result as string)).toEqual(rest);
        // Every other member's text appears verbatim, in the original order.
        const others = memberTexts(parsed, indent).filter((_, i) => keys[i] !== removed);
        let from = 0;
        for (const member of others) {
          const at = (result as string).indexOf(member, from);
          expect(at).toBeGreaterThanOrEqual(0);
          from = at + member.length;
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('removing an absent key returns undefined', () => {
    fc.assert(
      fc.property(object, key, fc.constantFrom(undefined, 2), (obj, k, indent) => {
        const parsed = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
        fc.pre(!Object.prototype.hasOwnProperty.call(parsed, k));
        expect(removeTopLevelMember(JSON.stringify(obj, null, indent), k)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  test('non-object JSON never has a member removed', () => {
    fc.assert(
      fc.property(fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)), key, (json, k) => {
        expect(removeTopLevelMember(JSON.stringify(json), k)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

describe('setTopLevelMembers (request rewrite on the client bytes)', () => {
  const USAGE = { stream_options: { include_usage: true } };
  const set = (text: string, members: Record<string, unknown> = USAGE): string | undefined => {
    const bytes = Buffer.from(text);
    const layout = objectLayout(bytes);
    return layout && setTopLevelMembers(bytes, layout, members).toString('utf8');
  };

  test('an absent member goes first; every other byte stays the client’s', () => {
    const body = ' {\n  "model": "m", "seed": 12345678901234567890, "t": 1.0, "s": "\\u00e9é", "stream": true}\n';
    expect(set(body)).toBe(' {"stream_options":{"include_usage":true},\n  "model": "m", "seed": 12345678901234567890, "t": 1.0, "s": "\\u00e9é", "stream": true}\n');
  });

  test('an empty object gets no dangling comma', () => {
    expect(set('{ }')).toBe('{"stream_options":{"include_usage":true} }');
  });

  test('an existing member is replaced, duplicates included (parsers keep the last)', () => {
    const body = '{"stream_options":{"include_usage":false},"model":"m","stream_options":null}';
    const edited = set(body, { stream_options: { include_usage: true, continuous_usage_stats: true } });
    expect(edited).toBe('{"stream_options":{"include_usage":true,"continuous_usage_stats":true},"model":"m"}');
  });

  test('members after the first kept one go with the comma before them, earlier ones with the comma after', () => {
    expect(set('{"stream_options":1, "a":1,"stream_options":2 ,"b":2}')).toBe('{"stream_options":{"include_usage":true}, "a":1 ,"b":2}');
    expect(set('{ "stream_options":1 , "stream_options":2 }')).toBe('{"stream_options":{"include_usage":true}}');
  });

  test('not an object: no layout, nothing to splice', () => {
    for (const text of ['[1,2]', '  ', '{', '"{}"', '{"a":1}x']) expect(set(text)).toBeUndefined();
  });

  test('a frozen edit is serialised once and reused; another frozen edit with the same names is its own', () => {
    const include = Object.freeze({ stream_options: Object.freeze({ include_usage: true }) });
    const withStats = Object.freeze({ stream_options: Object.freeze({ include_usage: true, continuous_usage_stats: true }) });
    expect(set('{"model":"m"}', include)).toBe('{"stream_options":{"include_usage":true},"model":"m"}');
    expect(set('{"stream_options":null}', include)).toBe('{"stream_options":{"include_usage":true}}');
    expect(set('{"model":"m"}', withStats)).toBe('{"stream_options":{"include_usage":true,"continuous_usage_stats":true},"model":"m"}');
    expect(set('{}', include)).toBe('{"stream_options":{"include_usage":true}}');
  });

  test('property: the result parses to the object with the members set, and the original bytes are all still there in order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), fc.boolean(), (object, spaced) => {
        const text = JSON.stringify(object, null, spaced ? 2 : undefined);
        const edited = set(text);
        expect(edited).toBeDefined();
        // Against the text, not the generated object: JSON has no -0.
        expect(JSON.parse(edited as string)).toEqual({ ...(JSON.parse(text) as object), ...USAGE });
        if (!Object.hasOwn(object, 'stream_options')) expect((edited as string).replace('"stream_options":{"include_usage":true}', '').replace(/^\{,/, '{')).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
