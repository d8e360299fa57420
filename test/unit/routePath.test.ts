/**
 * resolveRoutePath (issue 22, item 1): what follows the route name can never be read as a path
 * outside the route or as another host, by any of the ways real servers read paths; what stays
 * in the route is forwarded resolved, and the query string byte for byte.
 */
import fc from 'fast-check';
import { buildRoute } from '../../src/config/routes';
import { findProvider } from '../../src/providers/registry';
import { resolveRoutePath, type RoutePath } from '../../src/proxy/routePath';
import { invalidPathBody } from '../../src/proxy/upstreamErrors';

const forwarded = (target: string): RoutePath => ({ ok: true, target });
const refused = (refusal: 'above_root' | 'ambiguous' | 'fragment'): RoutePath => ({ ok: false, refusal });

describe('the vectors of issue 22', () => {
  test.each([
    ['/../x', refused('above_root')],
    ['/%2e%2e/x', refused('above_root')],
    ['/%2E%2e/x', refused('above_root')],
    ['/.%2e/x', refused('above_root')],
    ['/%2e./x', refused('above_root')],
    ['/%2E%2E/x', refused('above_root')],
    ['/..%2fx', refused('ambiguous')],
    ['/..%2Fx', refused('ambiguous')],
    ['/..%5cx', refused('ambiguous')],
    ['/..%5Cx', refused('ambiguous')],
    ['/..\\x', refused('ambiguous')],
    ['/v1/../../x', refused('above_root')],
    ['/v1/%2e%2e/%2e%2e/x', refused('above_root')],
    ['/..', refused('above_root')],
    ['/../', refused('above_root')],
    ['/v1/a%2f..%2f..%2f..%2fx', refused('ambiguous')],
    ['/v1/x#frag', refused('fragment')],
    ['/v1/x?q=1#frag', refused('fragment')],
    ['/#', refused('fragment')],
  ])('%s -> %j', (rest, expected) => {
    expect(resolveRoutePath(rest)).toEqual(expected);
  });
});

describe('a leading // (a host to a WHATWG parser) and other doubled slashes', () => {
  test.each([
    ['//evil.example/x', forwarded('/evil.example/x')],
    ['///evil.example/x?y', forwarded('/evil.example/x?y')],
    ['/v1//chat/completions', forwarded('/v1/chat/completions')],
    ['/v1/models//', forwarded('/v1/models/')],
    ['//', forwarded('/')],
    // The same host hidden behind a separator only some servers see is refused.
    ['/\\evil.example/x', refused('ambiguous')],
    ['/%5cevil.example/x', refused('ambiguous')],
    ['/%2f%2fevil.example/x', refused('ambiguous')],
    // nginx merges first (/x), RFC 3986 and WHATWG do not (/v1/x): no guess between them.
    ['/v1//../x', refused('ambiguous')],
    ['//..', refused('ambiguous')],
  ])('%s -> %j', (rest, expected) => {
    expect(resolveRoutePath(rest)).toEqual(expected);
  });
});

describe('what other servers take for the end of a segment', () => {
  test.each([
    ['/..;/x', refused('ambiguous')],
    ['/v1/..;jsessionid=1/x', refused('ambiguous')],
    ['/..%3b/x', refused('ambiguous')],
    ['/..%00/x', refused('ambiguous')],
    ['/.%2fx', refused('ambiguous')],
    ['/v1/a\\', refused('ambiguous')],
    // A name with a separator-like character and no dot piece reads as a name either way.
    ['/v1/models/org%2Fmodel', forwarded('/v1/models/org%2Fmodel')],
    ['/model/arn:aws:bedrock:us-east-1:1:inference-profile%2Fus.anthropic.claude/invoke', forwarded('/model/arn:aws:bedrock:us-east-1:1:inference-profile%2Fus.anthropic.claude/invoke')],
    ['/v1/a;b/c', forwarded('/v1/a;b/c')],
    ['/v1/a\\b', forwarded('/v1/a\\b')],
  ])('%s -> %j', (rest, expected) => {
    expect(resolveRoutePath(rest)).toEqual(expected);
  });
});

describe('paths that stay in the route', () => {
  test.each([
    ['/v1/a/../b', forwarded('/v1/b')],
    ['/v1/./b', forwarded('/v1/b')],
    ['/v1/%2E/b/%2e%2E/c', forwarded('/v1/c')],
    ['/v1/a/..', forwarded('/v1/')],
    ['/v1/.', forwarded('/v1/')],
    ['/v1/..', forwarded('/')],
    ['/.', forwarded('/')],
    ['/./', forwarded('/')],
    ['/', forwarded('/')],
    ['/?x=1', forwarded('/?x=1')],
    ['/v1/a/../b?q=/../../x&e=%2e%2e%2f&w=\\..', forwarded('/v1/b?q=/../../x&e=%2e%2e%2f&w=\\..')],
    ['/v1/chat/completions', forwarded('/v1/chat/completions')],
    ['/v1/models/', forwarded('/v1/models/')],
    ['/v1/a.b/...', forwarded('/v1/a.b/...')],
    ['/v1/.well-known/..c', forwarded('/v1/.well-known/..c')],
    ['/models/gemini-2.5-flash:streamGenerateContent?alt=sse', forwarded('/models/gemini-2.5-flash:streamGenerateContent?alt=sse')],
    // Decoded once (as every server here does) it is the name "%2e%2e", not a dot segment.
    ['/v1/%252e%252e/x', forwarded('/v1/%252e%252e/x')],
  ])('%s -> %j', (rest, expected) => {
    expect(resolveRoutePath(rest)).toEqual(expected);
  });
});

// ---- properties -------------------------------------------------------------------------------

const HOST = 'upstream.invalid';
const BASE = '/r';

/** The route base `/r` + target as a WHATWG parser reads it (Node, Deno, Bun frameworks). */
function whatwgInside(target: string, base: string): boolean {
  const url = new URL(`${base}${target}`, `http://${HOST}`);
  return url.host === HOST && (base === '' || url.pathname.startsWith(`${base}/`));
}

/** The same after one percent-decoding of the path (servers that decode before they parse). */
function decodedWhatwgInside(target: string, base: string): boolean {
  const path = target.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return true; // such a server answers 400
  }
  return whatwgInside(decoded, base);
}

/**
 * The most eager reader there is: decode once, take `/` and `\` as separators, drop `;` path
 * parameters and everything from a NUL, skip empty segments (nginx's merge_slashes), resolve dots.
 */
function eagerInside(target: string): boolean {
  const path = target.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return true;
  }
  let depth = 0;
  for (const raw of decoded.split(/[\\/]/)) {
    const name = raw.split(/[;\0]/)[0] ?? '';
    if (name === '' || name === '.') continue;
    if (name === '..') {
      depth -= 1;
      if (depth < 0) return false;
    } else {
      depth += 1;
    }
  }
  return true;
}

const TOKENS = ['/', '/', '/', '//', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '\\', ';', '%3b', '%00', '%', 'a', 'b', 'v1', '?', '&', '=', '#', '%25'];
const hostile = fc.array(fc.constantFrom(...TOKENS), { maxLength: 24 }).map((parts) => `/${parts.join('')}`);

const queryOf = (text: string): string => (text.includes('?') ? text.slice(text.indexOf('?')) : '');

describe('properties', () => {
  test('whatever is forwarded stays in the route for every reader, with or without a base path', () => {
    fc.assert(
      fc.property(hostile, (rest) => {
        const result = resolveRoutePath(rest);
        if (!result.ok) return;
        expect(whatwgInside(result.target, BASE)).toBe(true);
        expect(whatwgInside(result.target, '')).toBe(true);
        expect(decodedWhatwgInside(result.target, BASE)).toBe(true);
        expect(decodedWhatwgInside(result.target, '')).toBe(true);
        expect(eagerInside(result.target)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  test('the forwarded path starts with one slash and has no dot segment, plain or encoded', () => {
    fc.assert(
      fc.property(hostile, (rest) => {
        const result = resolveRoutePath(rest);
        if (!result.ok) return;
        const path = result.target.split('?')[0] ?? '';
        expect(path.startsWith('/')).toBe(true);
        expect(path.startsWith('//')).toBe(false);
        for (const segment of path.split('/')) expect(segment.replace(/%2e/gi, '.')).not.toMatch(/^\.\.?$/);
      }),
      { numRuns: 3000 },
    );
  });

  test('the query string passes byte for byte', () => {
    fc.assert(
      fc.property(hostile, fc.string(), (rest, tail) => {
        const input = `${rest}?${tail}`.replace(/#/g, '');
        const result = resolveRoutePath(input);
        if (result.ok) expect(queryOf(result.target)).toBe(queryOf(input));
      }),
      { numRuns: 3000 },
    );
  });

  test('resolving twice changes nothing', () => {
    fc.assert(
      fc.property(hostile, (rest) => {
        const result = resolveRoutePath(rest);
        if (result.ok) expect(resolveRoutePath(result.target)).toEqual(result);
      }),
      { numRuns: 3000 },
    );
  });

  test('a path without dot segments, encodings, backslashes, doubled slashes or a fragment is forwarded as it came', () => {
    const nameChar = fc.constantFrom(...'abcxyzABC019-_.~:@!$&\'()*+,;='.split(''));
    // A segment that does not start with a dot: dots inside a name are ordinary characters.
    const segment = fc.tuple(fc.constantFrom(...'abcXYZ09-_~:@'.split('')), fc.array(nameChar, { maxLength: 8 })).map(([first, more]) => `${first}${more.join('')}`);
    const query = fc.option(fc.string().map((text) => `?${text.replace(/#/g, '')}`), { nil: '' });
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), fc.boolean(), query, (segments, trailingSlash, tail) => {
        const rest = `/${segments.join('/')}${trailingSlash && segments.length > 0 ? '/' : ''}${tail}`;
        expect(resolveRoutePath(rest)).toEqual(forwarded(rest));
      }),
      { numRuns: 3000 },
    );
  });

  test('on plain dot paths it agrees with the WHATWG parser, refusing exactly where that one leaves the route', () => {
    const piece = fc.constantFrom('a', 'b', '.', '..', '%2e', '%2E.', '.%2e');
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), (pieces) => {
        const rest = `/${pieces.join('/')}`;
        const result = resolveRoutePath(rest);
        const whatwg = new URL(`${BASE}${rest}`, `http://${HOST}`).pathname;
        if (result.ok) expect(`${BASE}${result.target}`).toBe(whatwg);
        else expect(result.refusal === 'above_root' && !whatwg.startsWith(`${BASE}/`)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the 400 answer is in the route\'s API error shape and does not echo the path', () => {
  const route = (name: string, provider: string) => {
    const profile = findProvider(provider);
    if (!profile) throw new Error(`no provider ${provider}`);
    return buildRoute(name, 'http://127.0.0.1:1/base', profile);
  };

  test('OpenAI-compatible routes', () => {
    const body = invalidPathBody(route('groq', 'groq'), 'above_root', '/v1/../../secret-path') as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ code: 'invalid_path', type: 'genai_sidecar_bad_request', param: null });
    expect(JSON.stringify(body)).not.toContain('secret-path');
  });

  test('Anthropic', () => {
    const body = invalidPathBody(route('anthropic', 'anthropic'), 'ambiguous', '/v1/..%2fsecret-path');
    expect(body).toMatchObject({ type: 'error', error: { type: 'genai_sidecar_bad_request' } });
    expect(JSON.stringify(body)).not.toContain('secret-path');
  });

  test('Ollama native paths answer {"error": "..."}', () => {
    const body = invalidPathBody(route('ollama', 'ollama'), 'fragment', '/api/chat');
    expect(body).toEqual({ error: expect.stringContaining('route "ollama"') });
  });
});
