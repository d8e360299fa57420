import fc from 'fast-check';
import { keyIs, memberName, objectLayout } from '../../src/observe/jsonLayout';

const layoutOf = (text: string) => objectLayout(Buffer.from(text, 'utf8'));

/** Each member as [name, value parsed from its own span of bytes], in the order written. */
function membersOf(text: string): Array<[string, unknown]> | undefined {
  const bytes = Buffer.from(text, 'utf8');
  return objectLayout(bytes)?.members.map((member) => [memberName(bytes, member), JSON.parse(bytes.toString('utf8', member.valueStart, member.end)) as unknown]);
}

describe('objectLayout: cases', () => {
  test.each([
    ['compact', '{"a":1,"b":"x"}', [['a', 1], ['b', 'x']]],
    ['spaced', ' \r\n{ "a" :\t1 ,\n "b" : [ 1 , {"c":"]"} ] }\n', [['a', 1], ['b', [1, { c: ']' }]]]],
    ['empty object', '{}', []],
    ['empty object, spaced', ' { \n} ', []],
    ['every kind of value', '{"s":"","n":-1.5e+3,"t":true,"f":false,"z":null,"o":{},"a":[]}', [['s', ''], ['n', -1500], ['t', true], ['f', false], ['z', null], ['o', {}], ['a', []]]],
    ['brackets and quotes inside strings', '{"a":"}{][,:\\"","b":"\\\\","c":"\\\\\\""}', [['a', '}{][,:"'], ['b', '\\'], ['c', '\\"']]],
    ['escaped key', '{"mod\\u0065l":"m","\\"q\\"":1}', [['model', 'm'], ['"q"', 1]]],
    ['non-ASCII keys and values', '{"é😀":"ü","k":"😀\\"é"}', [['é😀', 'ü'], ['k', '😀"é']]],
    ['duplicates each have a span', '{"a":1,"a":2}', [['a', 1], ['a', 2]]],
  ] as Array<[string, string, Array<[string, unknown]>]>)('%s', (_name, text, expected) => {
    expect(membersOf(text)).toEqual(expected);
  });

  test('deep nesting is counted, not recursed', () => {
    const depth = 200_000;
    const text = `{"d":${'['.repeat(depth)}${']'.repeat(depth)},"m":"x"}`;
    expect(membersOf(text)?.map(([name]) => name)).toEqual(['d', 'm']);
  });

  test.each([
    ['array', '[{"a":1}]'],
    ['string', '"{}"'],
    ['number', '42'],
    ['empty', ''],
    ['whitespace', ' \n'],
    ['text before', 'data: {"a":1}'],
    ['text after', '{"a":1} x'],
    ['a second value after', '{"a":1}{"b":2}'],
    ['unterminated object', '{"a":1'],
    ['unterminated string', '{"a":"x}'],
    ['unterminated nested value', '{"a":[1,{"b":2}'],
    ['key without quotes', '{a:1}'],
    ['missing colon', '{"a" 1}'],
    ['missing value', '{"a":}'],
    ['missing comma', '{"a":1 "b":2}'],
    ['trailing comma', '{"a":1,}'],
    ['leading comma', '{,"a":1}'],
    ['invalid escape in a key', '{"a\\x":1}'],
    ['byte order mark', '\ufeff{"a":1}'],
  ])('not one object: %s', (_name, text) => {
    expect(layoutOf(text)).toBeUndefined();
  });
});

describe('objectLayout: properties', () => {
  const key = fc.oneof(fc.constantFrom('model', 'stream', '', '"', '\\', '{', 'a"b', 'é'), fc.string({ maxLength: 6 }), fc.fullUnicodeString({ maxLength: 4 }));
  const object = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

  test('every valid JSON object: its keys in order, each span parsing to its value', () => {
    fc.assert(
      fc.property(object, fc.constantFrom(undefined, 1, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const parsed = JSON.parse(text) as Record<string, unknown>;
        expect(membersOf(text)).toEqual(Object.entries(parsed));
        const bytes = Buffer.from(text, 'utf8');
        for (const member of objectLayout(bytes)?.members ?? []) expect([0x7b, 0x2c]).toContain(bytes[member.separator]);
      }),
      { numRuns: 1000 },
    );
  });

  test('keyIs agrees with the decoded key, escaped or not, ASCII or not', () => {
    const name = fc.oneof(fc.constantFrom('usage', 'usag', 'usagee', 'é', 'aé', 'a"b', ''), fc.string({ maxLength: 4 }), fc.fullUnicodeString({ maxLength: 3 }));
    // Every UTF-16 unit as a \\u escape (astral characters as their surrogate pair).
    const escapedKey = name.map((k) => `"${Array.from({ length: k.length }, (_, i) => `\\u${k.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`);
    fc.assert(
      fc.property(fc.oneof(name.map((k) => JSON.stringify(k)), escapedKey), name, (quotedKey, candidate) => {
        const bytes = Buffer.from(`{${quotedKey}:1}`, 'utf8');
        const [member] = objectLayout(bytes)?.members ?? [];
        expect(member).toBeDefined();
        const decoded = JSON.parse(quotedKey) as string;
        expect(memberName(bytes, member as never)).toBe(decoded);
        expect(keyIs(bytes, member as never, candidate)).toBe(decoded === candidate);
        expect(keyIs(bytes, member as never, decoded)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('any JSON value that is not an object has no layout', () => {
    fc.assert(
      fc.property(fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)), (value) => {
        expect(layoutOf(JSON.stringify(value))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  test('arbitrary text never throws, and text JSON.parse reads as an object always has a layout with its keys', () => {
    const pieces = fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', ' ', 'a', '"a"', 'null', '1', 'tru');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(pieces, { maxLength: 30 }).map((parts) => parts.join(''))), (text) => {
        const layout = layoutOf(text);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return;
        }
        const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
        expect(layout !== undefined).toBe(isObject);
        const bytes = Buffer.from(text, 'utf8');
        if (isObject) expect(new Set(layout?.members.map((member) => memberName(bytes, member)))).toEqual(new Set(Object.keys(parsed as object)));
      }),
      { numRuns: 3000 },
    );
  });
});
