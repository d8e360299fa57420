import fc from 'fast-check';
import { documentsOf, eventMembers, LayoutMembers } from '../../src/observe/jsonMembers';
import { objectLayout } from '../../src/observe/jsonLayout';
import { topLevelMemberCut } from '../../src/observe/jsonText';
import { membersOf } from '../../src/providers/json';
import { withoutMember } from '../helpers/withoutMember';

describe('eventMembers: one stream event read member by member', () => {
  const chunk =
    '{"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi \\"usage\\""}}],"usage":null}';

  test('members are parsed on demand, absent ones are undefined', () => {
    const json = eventMembers(chunk);
    expect(json.isObject).toBe(true);
    expect(json.get('model')).toBe('gpt-4o-mini');
    expect(json.get('usage')).toBeNull();
    expect(json.has('usage')).toBe(true);
    expect(json.has('delta')).toBe(false);
    expect(json.get('delta')).toBeUndefined();
    expect(json.get('choices')).toEqual([{ index: 0, delta: { content: 'Hi "usage"' } }]);
  });

  test.each([
    ['[1]', true],
    ['[ {"a":1} ]', true],
    ['[\n  "x"\n]', true],
    ['[]', false],
    ['[ ]', false],
    ['[\r\n\t]', false],
    ['"[1]"', false],
    ['{"0":1}', false],
    ['null', false],
  ])('hasItems of %s is %s', (value, expected) => {
    expect(eventMembers(`{"choices": ${value}}`).hasItems('choices')).toBe(expected);
    expect(eventMembers(`{"choices": ${value}}`).hasItems('candidates')).toBe(false);
  });

  test('of duplicate keys the last one counts, as with JSON.parse', () => {
    const json = eventMembers('{"model":"a","choices":[],"model":"b","choices":[1]}');
    expect(json.get('model')).toBe('b');
    expect(json.hasItems('choices')).toBe(true);
  });

  test('escaped and non-ASCII keys are matched by their decoded name', () => {
    const json = eventMembers('{"mod\\u0065l":"m","é":1}');
    expect(json.get('model')).toBe('m');
    expect(json.get('é')).toBe(1);
  });

  test('a member whose value is not valid JSON is absent from get, the others still read', () => {
    const json = eventMembers('{"usage":{"prompt_tokens":1,,},"model":"m"}');
    expect(json.isObject).toBe(true);
    expect(json.has('usage')).toBe(true);
    expect(json.get('usage')).toBeUndefined();
    expect(json.get('model')).toBe('m');
  });

  test.each(['[DONE]', '', '[{"model":"m"}]', '"x"', '42', 'not json', '{"model":"m"', '{"model":"m"} trailing'])('%j has no members', (data) => {
    const json = eventMembers(data);
    expect(json.isObject).toBe(false);
    expect(json.has('model')).toBe(false);
    expect(json.get('model')).toBeUndefined();
    expect(json.hasItems('model')).toBe(false);
    expect(json.memberCut('model')).toBeUndefined();
  });

  test('memberCut is the byte range of the first member of that name with its comma', () => {
    const bytes = Buffer.from(chunk);
    expect(eventMembers(chunk, bytes).memberCut('usage')).toEqual([chunk.indexOf(',"usage"'), chunk.length - 1]);
    expect(withoutMember(chunk, 'usage')).toBe(chunk.replace(',"usage":null', ''));
    const unicode = '{"t":"é","usage":null,"u":"😀"}';
    expect(eventMembers(unicode).memberCut('usage')).toEqual([Buffer.byteLength('{"t":"é"'), Buffer.byteLength('{"t":"é","usage":null')]);
    expect(eventMembers(chunk).memberCut('absent')).toBeUndefined();
  });

  test('a compact `,"<name>":null}` ending is cut from the last bytes alone, without locating the other members', () => {
    // The members before it do not even parse: the ending alone decides (the stream chunk goes out before it is read).
    expect(new LayoutMembers(Buffer.from('{"choices" 1,"usage":null}')).memberCut('usage')).toEqual([12, 25]);
    expect(new LayoutMembers(Buffer.from('{"choices" 1,"usage":null}')).isObject).toBe(false);
    // Not that ending exactly: by layout, or nothing.
    expect(new LayoutMembers(Buffer.from('{"usage":null}')).memberCut('usage')).toEqual([1, 13]);
    expect(new LayoutMembers(Buffer.from('{"a":1, "usage": null}')).memberCut('usage')).toEqual([6, 21]);
    expect(new LayoutMembers(Buffer.from('{"a":1,"usage":null} ')).memberCut('usage')).toEqual([6, 19]);
    expect(new LayoutMembers(Buffer.from('{"a":{"b":1,"usage":null}}')).memberCut('usage')).toBeUndefined();
    expect(new LayoutMembers(Buffer.from('{"a":1,"usage":{}}')).memberCut('usage')).toEqual([6, 17]);
  });

  test('property: on a compact JSON object whose last member is `name: null`, the ending cut is the layout cut', () => {
    const names = fc.constantFrom('usage', 'model', 'x');
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('id', 'choices', 'model', 'x', 'é'), fc.jsonValue({ maxDepth: 2 })), names, (object, name) => {
        const { [name]: _dropped, ...rest } = object;
        const data = JSON.stringify({ ...rest, [name]: null });
        const bytes = Buffer.from(data);
        const cut = new LayoutMembers(bytes).memberCut(name);
        const layout = objectLayout(bytes);
        expect(cut).toEqual(layout && topLevelMemberCut(bytes, layout, name));
        const without = cut && Buffer.concat([bytes.subarray(0, cut[0]), bytes.subarray(cut[1])]).toString();
        expect(JSON.parse(without as string)).toEqual(JSON.parse(JSON.stringify(rest)));
      }),
      { numRuns: 500 },
    );
  });

  test('the bytes given are the ones read (a view into the chunk, not a copy of the text)', () => {
    const wire = Buffer.from('data: {"model":"m","usage":null}\n\n');
    const view = wire.subarray(6, wire.length - 2);
    expect(eventMembers(view.toString(), view).get('model')).toBe('m');
    expect(eventMembers(view.toString(), view).memberCut('usage')).toEqual([12, 25]);
  });

  test('on any JSON value, has, get and hasItems agree with the members of its whole parse', () => {
    const names = fc.constantFrom('model', 'usage', 'choices', 'type', '__proto__', 'constructor', 'toString', '');
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(names, fc.jsonValue({ maxDepth: 2 })), fc.constantFrom(undefined, 1, '\t'), names, (other, object, indent, name) => {
        for (const value of [other, object]) {
          const data = JSON.stringify(value, null, indent);
          const lazy = eventMembers(data);
          const whole = membersOf(JSON.parse(data));
          expect(lazy.isObject).toBe(whole.isObject);
          expect(lazy.has(name)).toBe(whole.has(name));
          expect(lazy.get(name)).toEqual(whole.get(name));
          expect(lazy.hasItems(name)).toBe(whole.hasItems(name));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('LayoutMembers on a request body', () => {
  const names = ['model', 'stream', 'stream_options'] as const;
  /** The named members as the proxy reads them from the client's bytes (absent ones left out). */
  const valuesOf = (text: string): Record<string, unknown> => {
    const members = new LayoutMembers(Buffer.from(text, 'utf8'));
    return Object.fromEntries(names.map((name) => [name, members.get(name)] as const).filter(([, value]) => value !== undefined));
  };

  test('only the named members are parsed, non-ASCII text around and inside them intact', () => {
    const text = '{"messages":[{"role":"user","content":"é😀 \\"model\\": \\"no\\" }"}],"model":"gpt-é😀","stream":true,"n":2}';
    expect(valuesOf(text)).toEqual({ model: 'gpt-é😀', stream: true });
  });

  test('the last duplicate wins, as with JSON.parse; a value that does not parse is left out', () => {
    expect(valuesOf('{"model":"a","model":"b"}')).toEqual({ model: 'b' });
    expect(valuesOf('{"model":tru,"stream":true}')).toEqual({ stream: true });
    expect(valuesOf('{"model":"\\x"}')).toEqual({});
    expect(valuesOf('{"model":"a","model":"\\x"}')).toEqual({});
  });

  test('a key named like an Object.prototype member is just a member that was not asked for', () => {
    const members = new LayoutMembers(Buffer.from('{"__proto__":{"model":"x"},"constructor":1,"stream":false}'));
    expect(members.get('stream')).toBe(false);
    expect(members.get('model')).toBeUndefined();
    expect(members.get('toString')).toBeUndefined();
  });

  test('property: equal to JSON.parse for the named members, whatever the Unicode in the body', () => {
    const text = fc.fullUnicodeString({ maxLength: 8 });
    const body = fc.record({
      model: fc.option(text, { nil: undefined }),
      stream: fc.option(fc.boolean(), { nil: undefined }),
      stream_options: fc.option(fc.dictionary(text, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), { nil: undefined }),
      messages: fc.array(fc.record({ role: text, content: text }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(body, fc.constantFrom(undefined, 2), (value, indent) => {
        const json = JSON.stringify(value, null, indent);
        const parsed = JSON.parse(json) as Record<string, unknown>;
        const expected = Object.fromEntries(Object.entries(parsed).filter(([name]) => (names as readonly string[]).includes(name)));
        expect(valuesOf(json)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('documentsOf: a whole response body as the documents a dialect reads', () => {
  const read = (text: string): Array<Record<string, unknown>> | undefined =>
    documentsOf(Buffer.from(text))?.map((document) => ({ isObject: document.isObject, model: document.get('model'), usage: document.get('usage') }));

  test("one object: its members by layout, parsed only when asked (an embeddings answer's vectors are never decoded)", () => {
    const body = JSON.stringify({ object: 'list', data: [{ embedding: [0.1, -0.2, 3e-7] }], model: 'text-embedding-3-small', usage: { prompt_tokens: 8 } });
    const documents = documentsOf(Buffer.from(body));
    expect(documents).toHaveLength(1);
    expect(documents?.[0]).toBeInstanceOf(LayoutMembers);
    expect(read(body)).toEqual([{ isObject: true, model: 'text-embedding-3-small', usage: { prompt_tokens: 8 } }]);
  });

  test('an array of documents (Gemini without alt=sse) is its items, in order; another JSON value is one document without members', () => {
    expect(read('[{"model":"a"},{"usage":{"x":1}}, 3]')).toEqual([
      { isObject: true, model: 'a', usage: undefined },
      { isObject: true, model: undefined, usage: { x: 1 } },
      { isObject: false, model: undefined, usage: undefined },
    ]);
    expect(read(' "text" ')).toEqual([{ isObject: false, model: undefined, usage: undefined }]);
  });

  test('not JSON, or an object cut short, is no document at all', () => {
    for (const text of ['<html>502</html>', '{"model":"a","usage":{"prompt_tokens":', '', '{"a":1} {"b":2}']) expect(documentsOf(Buffer.from(text))).toBeUndefined();
  });

  test('property: the members JSON.parse sees, for any JSON object body', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('model', 'usage', 'error', 'choices', 'x'), fc.jsonValue({ maxDepth: 2 })), (value) => {
        const documents = documentsOf(Buffer.from(JSON.stringify(value)));
        const parsed = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
        expect(documents).toHaveLength(1);
        for (const name of ['model', 'usage', 'error', 'choices', 'x']) expect(documents?.[0]?.get(name)).toEqual(parsed[name]);
      }),
      { numRuns: 300 },
    );
  });
});
