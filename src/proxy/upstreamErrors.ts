/**
 * The only errors the sidecar itself answers with. They name the route, never the request's
 * content, headers or query.
 */
import type { Route } from '../config/routes';
import type { SidecarError } from '../providers/types';
import type { RoutePathRefusal } from './routePath';

export interface SidecarErrorBody {
  type: 'error';
  error: { type: string; code: string; message: string };
}

/**
 * The answer when the sidecar itself had to end a call: in the route's API error shape (the
 * provider module's `errorBody`), so the app's SDK raises its usual error type.
 */
export function upstreamErrorBody(route: Route, status: 502 | 504, cause: string | undefined, path: string): unknown {
  const what = status === 504 ? 'timed out' : 'could not be reached';
  const error: SidecarError = {
    status,
    type: 'genai_sidecar_upstream_error',
    code: status === 504 ? 'upstream_timeout' : 'upstream_unreachable',
    message: `genai-sidecar: upstream for route "${route.name}" (${route.target.host}) ${what}${cause ? ` (${cause})` : ''}`,
  };
  return inRouteShape(route, error, path);
}

/** Why a request its route must sign was not sent (the status the client gets, and what it is told). */
export type NotSignedReason = 'no_credentials' | 'body_too_large' | 'body_over_budget';

const NOT_SIGNED: Record<NotSignedReason, { status: 413 | 502 | 503; text: string }> = {
  no_credentials: { status: 502, text: 'has no AWS credentials to sign it with (see the sidecar\'s log)' },
  body_too_large: { status: 413, text: 'cannot sign a body larger than --max-body-bytes (it must be read whole to be signed)' },
  body_over_budget: { status: 503, text: 'cannot hold this body to sign it now: --max-buffered-bytes is in use by other calls' },
};

/** A request on a route that signs its requests (Bedrock) that could not be signed, in the route's error shape. */
export function notSignedError(route: Route, reason: NotSignedReason, path: string): { status: 413 | 502 | 503; body: unknown } {
  const { status, text } = NOT_SIGNED[reason];
  const error: SidecarError = { status, type: 'genai_sidecar_not_signed', code: reason === 'no_credentials' ? 'aws_credentials_unavailable' : 'request_not_signed', message: `genai-sidecar: route "${route.name}" ${text}` };
  return { status, body: inRouteShape(route, error, path) };
}

const REFUSED_BECAUSE: Record<RoutePathRefusal, string> = {
  above_root: 'its ".." segments climb above the route\'s root',
  ambiguous: 'servers would read its segments in different ways (a dot or empty segment beside a backslash, an encoded slash or backslash, a path parameter, a NUL or a doubled slash)',
  fragment: 'it carries a "#" fragment, which is never part of a request',
};

/**
 * A 400 for a path the sidecar will not forward (./routePath), in the route's API error shape so
 * the SDK raises its usual bad-request error. The path itself is not echoed.
 */
export function invalidPathBody(route: Route, refusal: RoutePathRefusal, path: string): unknown {
  const error: SidecarError = {
    status: 400,
    type: 'genai_sidecar_bad_request',
    code: 'invalid_path',
    message: `genai-sidecar: route "${route.name}" did not forward this path: ${REFUSED_BECAUSE[refusal]}`,
  };
  return inRouteShape(route, error, path);
}

/** The provider module's `errorBody`, or the sidecar's own shape for a dialect without one. */
function inRouteShape(route: Route, error: SidecarError, path: string): unknown {
  const shaped = route.provider.dialect.errorBody?.(error, path);
  return shaped ?? { type: 'error', error: { type: error.type, code: error.code, message: error.message } };
}

export function unknownRouteBody(path: string, routes: readonly Route[]): SidecarErrorBody {
  const names = routes.map((route) => `/${route.name}`).join(', ');
  return {
    type: 'error',
    error: {
      type: 'genai_sidecar_unknown_route',
      code: 'unknown_route',
      message: `genai-sidecar: no upstream route for "${truncate(path)}"; configured routes: ${names}`,
    },
  };
}

export function notAForwardProxyBody(): SidecarErrorBody {
  return {
    type: 'error',
    error: {
      type: 'genai_sidecar_bad_request',
      code: 'absolute_form_rejected',
      message: 'genai-sidecar: absolute-form request targets are not accepted; send requests to /<route>/... on the sidecar',
    },
  };
}

/** Only the first path segment is echoed, so a stray query or secret in the path is not reflected whole. */
function truncate(path: string): string {
  const first = path.split('?')[0]?.split('/').filter(Boolean)[0] ?? '';
  return `/${first.slice(0, 64)}`;
}
