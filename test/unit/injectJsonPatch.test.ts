/**
 * The diff both outputs share: RFC 6901 escaping in pointers, missing parents created whole,
 * list appends as `/-`, and for any two JSON values the patch turns the first into the second
 * (checked with fast-json-patch, which validates every operation as the API server would).
 */
import { applyPatch, type Operation } from 'fast-json-patch';
import fc from 'fast-check';
import { diff, escapePointerSegment, toJsonPatch, toPointer } from '../../src/inject/jsonPatch';

test.each([
  ['genai-sidecar.io/status', 'genai-sidecar.io~1status'],
  ['a~b', 'a~0b'],
  ['~/', '~0~1'],
  ['/~', '~1~0'],
  ['a~1b', 'a~01b'],
  ['plain', 'plain'],
  [3, '3'],
])('escapes %p as %p', (segment, escaped) => {
  expect(escapePointerSegment(segment)).toBe(escaped);
});

test('pointers join escaped segments', () => {
  expect(toPointer(['metadata', 'annotations', 'genai-sidecar.io/status'])).toBe('/metadata/annotations/genai-sidecar.io~1status');
  expect(toPointer([])).toBe('');
});

test('a missing map or list is added whole, never added into', () => {
  const before = { metadata: { labels: { app: 'chat' } }, spec: { containers: [{ name: 'app' }] } };
  const after = {
    metadata: { labels: { app: 'chat' }, annotations: { 'genai-sidecar.io/status': 'injected' } },
    spec: { containers: [{ name: 'app', env: [{ name: 'OPENAI_BASE_URL', value: 'x' }] }], initContainers: [{ name: 'genai-sidecar' }] },
  };
  const patch = toJsonPatch(diff(before, after));
  expect(patch).toEqual([
    { op: 'add', path: '/metadata/annotations', value: { 'genai-sidecar.io/status': 'injected' } },
    { op: 'add', path: '/spec/containers/0/env', value: [{ name: 'OPENAI_BASE_URL', value: 'x' }] },
    { op: 'add', path: '/spec/initContainers', value: [{ name: 'genai-sidecar' }] },
  ]);
  expect(applyPatch(structuredClone(before), patch as Operation[], true).newDocument).toEqual(after);
});

test('existing maps get keys and existing lists get appends', () => {
  const before = { metadata: { annotations: { a: '1' } }, spec: { initContainers: [{ name: 'migrate' }] } };
  const after = { metadata: { annotations: { a: '1', 'genai-sidecar.io/status': 'injected' } }, spec: { initContainers: [{ name: 'migrate' }, { name: 'genai-sidecar' }] } };
  expect(toJsonPatch(diff(before, after))).toEqual([
    { op: 'add', path: '/metadata/annotations/genai-sidecar.io~1status', value: 'injected' },
    { op: 'add', path: '/spec/initContainers/-', value: { name: 'genai-sidecar' } },
  ]);
});

test('keys named like Object.prototype members are ordinary keys', () => {
  expect(toJsonPatch(diff({ valueOf: null }, {}))).toEqual([{ op: 'remove', path: '/valueOf' }]);
  expect(toJsonPatch(diff({}, { toString: 'x', constructor: 1 }))).toEqual([
    { op: 'add', path: '/toString', value: 'x' },
    { op: 'add', path: '/constructor', value: 1 },
  ]);
});

test('a prefix is prepended to every path', () => {
  expect(toJsonPatch([{ op: 'remove', path: ['a/b'] }], ['spec', 'template'])).toEqual([{ op: 'remove', path: '/spec/template/a~1b' }]);
});

test('for any two JSON values, the patch turns the first into the second', () => {
  // fast-json-patch refuses __proto__ (rightly); the API server never sends it.
  const json = fc.jsonValue().filter((value) => !JSON.stringify(value).includes('__proto__'));
  fc.assert(
    fc.property(json, json, (before, after) => {
      const patch = toJsonPatch(diff(before, after)) as Operation[];
      expect(applyPatch(structuredClone(before), patch, true).newDocument).toEqual(after);
    }),
    { numRuns: 1000 },
  );
});
