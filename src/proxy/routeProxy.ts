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
import type { AwsRequestSigner, HeaderMap } from '../aws/sigv4';
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
  /** Signers of the routes whose requests the sidecar signs again (Bedrock), by route name. */
  signers?: ReadonlyMap<string, AwsRequestSigner>;
}

/** Forward `req` (whose path after the route prefix is `rest`) to the route's upstream. */
export function forwardOnRoute(route: Route, rest: string, req: IncomingMessage, res: ServerResponse, options: RouteProxyOptions): void {
  const exchange = new Exchange(route, options.services, options.headerAttributes(req));
  // Built now so a client that leaves while its body is still being read is noticed too.
  const call = new UpstreamCall(res, exchange, rest, options);
  const signer = signerFor(route, req, options);
  const plan = bodyPlan(req, options.maxBodyBytes);
  if (plan === 'too_large') options.services.telemetryError('request_too_large', undefined);
  if (plan === 'too_large' && signer) {
    // A signature covers the body's hash: a body that is not read whole cannot be signed.
    inspectRequest(req, rest, exchange, NO_MEMBERS, options);
    call.notSigned('body_too_large');
    return;
  }
  if (plan !== 'read') {
    inspectRequest(req, rest, exchange, NO_MEMBERS, options);
    sendUpstream(route, rest, req, exchange, call, options.upstreamPool, signer);
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
    if (signer && read.kind !== 'complete') return call.notSigned(read.reason === 'over_budget' ? 'body_over_budget' : 'body_too_large');
    sendUpstream(route, rest, req, exchange, call, options.upstreamPool, signer);
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

function sendUpstream(route: Route, rest: string, req: IncomingMessage, exchange: Exchange, call: UpstreamCall, pool: Pick<Dispatcher, 'dispatch'>, signer?: AwsRequestSigner): void {
  if (call.clientLeft()) return;
  const headers = upstreamRequestHeaders(req.rawHeaders, route.upstream.host, {
    contentLength: exchange.upstreamBody?.length,
    // Usage chunks can only be removed from a readable stream, so ask for it uncompressed.
    identityEncoding: exchange.hideInjectedUsage,
  });
  const request = {
    origin: route.upstream.origin,
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    path: joinPath(route.upstream.basePath, rest),
    headers,
    body: exchange.upstreamBody ?? (hasBody(req) ? req : undefined),
  };
  if (!signer) return void pool.dispatch(request, call);
  // Signed last, over exactly the headers, path and bytes that are sent.
  const body = exchange.upstreamBody ?? EMPTY_BODY;
  signer.sign({ method: request.method, url: new URL(request.path, request.origin), headers: headerMap(headers), body }).then(
    (signed) => {
      if (!call.clientLeft()) pool.dispatch({ ...request, headers: signed, body: body.length > 0 ? body : undefined }, call);
    },
    () => call.notSigned('no_credentials'),
  );
}

const EMPTY_BODY = Buffer.alloc(0);

/**
 * The route's signer, unless the client authenticates with a Bedrock API key (`Authorization:
 * Bearer`): a bearer token names no host, so it travels on as the app sent it.
 */
function signerFor(route: Route, req: IncomingMessage, options: RouteProxyOptions): AwsRequestSigner | undefined {
  const signer = options.signers?.get(route.name);
  if (signer === undefined) return undefined;
  return /^bearer\s/i.test(req.headers.authorization ?? '') ? undefined : signer;
}

/** A flat [name, value, ...] header list as a map (repeated names keep every value). */
function headerMap(flat: readonly string[]): HeaderMap {
  const map: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] ?? '';
    const existing = map[name];
    map[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return map;
}

/** RFC 9112 §6.3: a request has a body only when it says so; a GET must not grow an empty chunked one. */
function hasBody(req: IncomingMessage): boolean {
  // HTTP/2 frames a body itself: one follows unless END_STREAM came with the headers, declared length or not.
  if (req.httpVersionMajor === 2) return (req as IncomingMessage & { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders !== true;
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
