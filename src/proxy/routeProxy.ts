/**
 * Forwards one request on a route: read (and maybe rewrite) the request body, send it upstream
 * through the keep-alive pool (undici's dispatcher, see ./upstreamPool), and stream the
 * response back through a ResponseObserver. Provider knowledge stays behind the route's dialect.
 *
 * Why not http-proxy-middleware: with express it capped the sidecar at a fraction of what a bare
 * undici forwarder reached on the same machine (~1,450 req/s against 8,600 or more); its
 * per-request event plumbing and node:http's client were most of the difference.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Route } from '../config/routes';
import { LayoutMembers, NO_MEMBERS } from '../observe/jsonMembers';
import { setTopLevelMembers } from '../observe/jsonText';
import type { RequestView } from '../providers/types';
import { Exchange, type ExchangeServices } from './exchange';
import { upstreamRequestHeaders } from './headers';
import { bodyPlan, readBody } from './requestBody';
import { UpstreamCall } from './upstreamCall';

export interface RouteProxyOptions {
  maxBodyBytes: number;
  services: ExchangeServices;
  /** Maps request headers to extra metric attributes (bounded); empty when not configured. */
  headerAttributes(req: IncomingMessage): Record<string, string>;
  upstreamPool: Pick<Dispatcher, 'dispatch'>;
}

/** Forward `req` (whose path after the route prefix is `rest`) to the route's upstream. */
export function forwardOnRoute(route: Route, rest: string, req: IncomingMessage, res: ServerResponse, options: RouteProxyOptions): void {
  const exchange = new Exchange(route, options.services, options.headerAttributes(req));
  // Built now so a client that leaves while its body is still being read is noticed too.
  const call = new UpstreamCall(res, exchange, rest, options);
  const plan = bodyPlan(req, options.maxBodyBytes);
  if (plan === 'too_large') options.services.telemetryError('request_too_large', undefined);
  if (plan !== 'read') {
    inspectRequest(req, rest, exchange, NO_MEMBERS, options);
    sendUpstream(route, rest, req, exchange, call, options.upstreamPool);
    return;
  }
  readBody(req, options.maxBodyBytes, (read) => {
    if (read instanceof Error) {
      // The client's body could not be read (it went away): nothing to forward.
      exchange.finish({ kind: 'cancelled' });
      res.destroy();
      return;
    }
    let body = NO_MEMBERS;
    if (read.kind === 'complete') {
      exchange.upstreamBody = read.body;
      // Only the members the dialect reads are parsed; a 200 KiB conversation is scanned, not
      // decoded (see observe/jsonMembers).
      body = new LayoutMembers(read.body);
    } else {
      // Forwarded unparsed: over --max-body-bytes, or past the budget all buffered bodies share.
      options.services.telemetryError(read.reason === 'over_budget' ? 'request_over_budget' : 'request_too_large', undefined);
    }
    inspectRequest(req, rest, exchange, body, options);
    sendUpstream(route, rest, req, exchange, call, options.upstreamPool);
  });
}

/** What the dialect makes of the request, and the body rewrite it asks for; a failure here is telemetry's, never the call's. */
function inspectRequest(req: IncomingMessage, rest: string, exchange: Exchange, body: LayoutMembers, options: RouteProxyOptions): void {
  const dialect = exchange.route.provider.dialect;
  try {
    const query = rest.indexOf('?');
    const view: RequestView = { method: req.method ?? 'GET', path: query === -1 ? rest : rest.slice(0, query), body };
    exchange.facts = dialect.describeRequest(view);
    const rewrite = exchange.facts && dialect.rewriteRequest?.(view, exchange.facts);
    // Edited as text, not re-serialised: a 200 KiB prompt costs a splice instead of a JSON.stringify
    // (over a millisecond), and numbers, escapes and key order stay the client's.
    if (rewrite && body.layout && exchange.upstreamBody) {
      exchange.upstreamBody = setTopLevelMembers(exchange.upstreamBody, body.layout, rewrite.setMembers);
      exchange.hideInjectedUsage = rewrite.hideInjectedUsage;
    }
  } catch (error) {
    options.services.telemetryError('request', error);
  }
}

function sendUpstream(route: Route, rest: string, req: IncomingMessage, exchange: Exchange, call: UpstreamCall, pool: Pick<Dispatcher, 'dispatch'>): void {
  if (call.clientLeft()) return;
  const headers = upstreamRequestHeaders(req.rawHeaders, route.upstream.host, {
    contentLength: exchange.upstreamBody?.length,
    // Usage chunks can only be removed from a readable stream, so ask for it uncompressed.
    identityEncoding: exchange.hideInjectedUsage,
  });
  pool.dispatch(
    {
      origin: route.upstream.origin,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      path: joinPath(route.upstream.basePath, rest),
      headers,
      body: exchange.upstreamBody ?? (hasBody(req) ? req : undefined),
    },
    call,
  );
}

/** RFC 9112 §6.3: a request has a body only when it says so; a GET must not grow an empty chunked one. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

/**
 * `<target path>` (without its trailing slash) + `<rest>`: the route's path prefix keeps its place
 * in front. `rest` has been through resolveRoutePath (app.ts): it starts with `/` and holds no dot
 * segment, doubled slash or fragment, so nothing in it can climb out of the prefix or name a host.
 */
function joinPath(basePath: string, rest: string): string {
  return `${basePath}${rest.startsWith('/') || rest.startsWith('?') ? rest : `/${rest}`}` || '/';
}
