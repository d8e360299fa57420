/**
 * The part of a request-target after the route name (`rest`), made safe to append to the route's
 * base path: the upstream must never be able to read it as a path outside the route, or as
 * another host. Pure; app.ts calls it once per request, before anything else sees `rest`.
 *
 * What a careful proxy does, and what this does: nginx (merge_slashes, on by default) and Envoy
 * (merge_slashes, normalize_path) forward the normalised path, not the client's bytes, so the
 * upstream never has to resolve anything itself. Here too: repeated slashes are merged, `.` and
 * `..` segments (also written `%2e`, any case) are resolved and the resolved path is forwarded;
 * a `..` that would climb above the route's root is refused, as nginx answers 400 to a path that
 * climbs above `/`, never clamped to the root. What servers read in different ways is refused
 * rather than guessed at (see RoutePathRefusal). The query string is never touched.
 */

export type RoutePathRefusal =
  /** A `..` segment would climb above the route's root. */
  | 'above_root'
  /**
   * Servers would disagree on the segments: a dot or empty piece next to a backslash or an
   * encoded slash or backslash (WHATWG parsers read `\` as `/`, servers that decode first read
   * `%2f`/`%5c` as separators, others read both as a name), a dot piece before `;`, `%3b` or
   * `%00` (Tomcat drops path parameters, C servers stop at NUL), or a `..` right after a doubled slash
   * (nginx merges the slashes first, RFC 3986 and WHATWG parsers do not).
   */
  | 'ambiguous'
  /**
   * A `#`: no client sends a fragment (RFC 9112 origin-form has none), and upstreams differ on
   * where it ends the path or the query, so dropping it could change the query; Envoy refuses it by default too.
   */
  | 'fragment';

export type RoutePath = { ok: true; target: string } | { ok: false; refusal: RoutePathRefusal };

/** Anything that could need resolving: a backslash, a `%`, a segment starting with `.`, a doubled slash. */
const NEEDS_A_LOOK = /[\\%]|\/[/.]/;
/** What some server or other reads as the end of a segment, though RFC 3986 does not. */
const HIDDEN_SEPARATOR = /\\|%2f|%5c/gi;
/** What ends a segment's name for some servers: path parameters (`;`, also once decoded) and a NUL (`%00`). */
const NAME_END = /;|%3b|%00/i;

/** `rest` starts with `/` (splitRoute's contract) and may carry a `?query`. */
export function resolveRoutePath(rest: string): RoutePath {
  if (rest.includes('#')) return { ok: false, refusal: 'fragment' };
  const queryAt = rest.indexOf('?');
  const path = queryAt === -1 ? rest : rest.slice(0, queryAt);
  // The common case costs one regex test: nothing to resolve, forwarded as it came.
  if (path.startsWith('/') && !NEEDS_A_LOOK.test(path)) return { ok: true, target: rest };
  const query = queryAt === -1 ? '' : rest.slice(queryAt);
  const segments = (path.startsWith('/') ? path : `/${path}`).split('/');
  // Segments kept so far; '' stands for an empty segment between two slashes, merged on output
  // but kept here so a `..` that would take it away is seen.
  const kept: string[] = [];
  let endsInSlash = false;
  for (let index = 1; index < segments.length; index += 1) {
    const segment = segments[index] ?? '';
    const last = index === segments.length - 1;
    endsInSlash = false;
    if (segment === '') {
      if (last) endsInSlash = true;
      else kept.push('');
      continue;
    }
    if (isAmbiguous(segment)) return { ok: false, refusal: 'ambiguous' };
    const dots = dotSegment(segment);
    if (dots === 0) {
      kept.push(segment);
      continue;
    }
    // As RFC 3986 §5.2.4 does: a path ending in a dot segment names a directory.
    endsInSlash = true;
    if (dots === 1) continue;
    const top = kept.pop();
    if (top === undefined) return { ok: false, refusal: 'above_root' };
    if (top === '') return { ok: false, refusal: 'ambiguous' };
  }
  const names = kept.filter((segment) => segment !== '');
  const resolved = names.length === 0 ? '/' : `/${names.join('/')}${endsInSlash ? '/' : ''}`;
  return { ok: true, target: `${resolved}${query}` };
}

/** 1 for `.`, 2 for `..` (each dot plain or `%2e` in any case), 0 for any other segment. */
function dotSegment(segment: string): 0 | 1 | 2 {
  if (segment.length > 6) return 0;
  const plain = segment.replace(/%2e/gi, '.');
  return plain === '.' ? 1 : plain === '..' ? 2 : 0;
}

/** See RoutePathRefusal `ambiguous`; a name with an encoded slash in it (`org%2Fmodel`) is not. */
function isAmbiguous(segment: string): boolean {
  const pieces = segment.split(HIDDEN_SEPARATOR);
  if (pieces.length > 1 && pieces.some((piece) => piece === '' || dotSegment(piece) !== 0)) return true;
  return pieces.some((piece) => {
    const end = piece.search(NAME_END);
    return end !== -1 && dotSegment(piece.slice(0, end)) !== 0;
  });
}
