/**
 * Forwards one request on a route: read (and maybe rewrite) the request body, send it upstream
 * over a keep-alive agent with node:http(s), and stream the response back through a
 * ResponseObserver. Provider knowledge stays behind the route's dialect.
 *
 * Why not http-proxy-middleware: measured on the 2-core bench machine, express +
 * http-proxy-middleware capped the sidecar at ~1,450 req/s (16 connections) while a bare
 * node:http forwarder reached ~3,500; the proxy library's per-request event plumbing and the
 * router were most of the difference (see the closing note of issue 5).
 */
import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Route } from '../config/routes';
import { framingFor, ResponseObserver } from '../observe/responseObserver';
import { parseJson } from '../providers/json';
import type { RequestView } from '../providers/types';
import { ERROR_TYPE } from '../telemetry/names';
import { Exchange, type ExchangeServices } from './exchange';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers';
import { bodyPlan, readBody } from './requestBody';
import { upstreamErrorBody } from './upstreamErrors';
import { armRequestDeadlines, watchIdle, type UpstreamTimeouts } from './upstreamTimeouts';

export interface RouteProxyOptions {
  maxBodyBytes: number;
  timeouts: UpstreamTimeouts;
  services: ExchangeServices;
  /** Maps request headers to extra metric attributes (bounded); empty when not configured. */
  headerAttributes(req: IncomingMessage): Record<string, string>;
  agents: { http: http.Agent; https: https.Agent };
}

/** Forward `req` (whose path after the route prefix is `rest`) to the route's upstream. */
export function forwardOnRoute(route: Route, rest: string, req: IncomingMessage, res: ServerResponse, options: RouteProxyOptions): void {
  const exchange = new Exchange(route, options.services, options.headerAttributes(req));
  res.on('close', () => {
    if (!res.writableFinished) exchange.finish({ kind: 'cancelled' });
  });
  inspectRequest(req, rest, exchange, options).then(
    () => sendUpstream(route, rest, req, res, exchange, options),
    () => {
      // The client's body could not be read (it went away): nothing to forward.
      exchange.finish({ kind: 'cancelled' });
      res.destroy();
    },
  );
}

async function inspectRequest(req: IncomingMessage, rest: string, exchange: Exchange, options: RouteProxyOptions): Promise<void> {
  const dialect = exchange.route.provider.dialect;
  let body: unknown;
  const plan = bodyPlan(req, options.maxBodyBytes);
  if (plan === 'too_large') options.services.telemetryError('request_too_large', undefined);
  if (plan === 'read') {
    const read = await readBody(req, options.maxBodyBytes);
    if (read.kind === 'complete') {
      exchange.upstreamBody = read.body;
      body = parseJson(read.body.toString('utf8'));
    } else {
      options.services.telemetryError('request_too_large', undefined);
    }
  }
  try {
    const query = rest.indexOf('?');
    const view: RequestView = { method: req.method ?? 'GET', path: query === -1 ? rest : rest.slice(0, query), body };
    exchange.facts = dialect.describeRequest(view);
    const rewrite = exchange.facts && dialect.rewriteRequest?.(view, exchange.facts);
    if (rewrite) {
      exchange.upstreamBody = Buffer.from(JSON.stringify(rewrite.body));
      exchange.hideInjectedUsage = rewrite.hideInjectedUsage;
    }
  } catch (error) {
    options.services.telemetryError('request', error);
  }
}

function sendUpstream(route: Route, rest: string, req: IncomingMessage, res: ServerResponse, exchange: Exchange, options: RouteProxyOptions): void {
  if (res.destroyed) return;
  const secure = route.target.protocol === 'https:';
  const headers: OutgoingHttpHeaders | string[] = upstreamRequestHeaders(req.rawHeaders, route.target.host, {
    contentLength: exchange.upstreamBody?.length,
    // Usage chunks can only be removed from a readable stream, so ask for it uncompressed.
    identityEncoding: exchange.hideInjectedUsage,
  });
  const upstream: ClientRequest = (secure ? https : http).request({
    protocol: route.target.protocol,
    hostname: route.target.hostname,
    port: route.serverPort,
    method: req.method,
    path: joinPath(route.target.pathname, rest),
    headers,
    agent: secure ? options.agents.https : options.agents.http,
    servername: secure ? route.target.hostname : undefined,
  });
  upstream.once('socket', () => armRequestDeadlines(upstream, options.timeouts));
  upstream.once('response', (proxyRes) => relayResponse(proxyRes, res, exchange, options));
  upstream.once('error', (error) => failUpstream(error, req, res, route, exchange, rest));
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (exchange.upstreamBody) upstream.end(exchange.upstreamBody);
  else req.pipe(upstream);
}

/** `<target path>` + `<rest>`: the route's path prefix keeps its place in front. */
function joinPath(prefix: string, rest: string): string {
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return `${base}${rest.startsWith('/') || rest.startsWith('?') ? rest : `/${rest}`}` || '/';
}

function relayResponse(proxyRes: IncomingMessage, res: ServerResponse, exchange: Exchange, options: RouteProxyOptions): void {
  const status = proxyRes.statusCode ?? 502;
  const framing = framingFor(status, proxyRes.headers['content-type']);
  const rewriting = exchange.hideInjectedUsage && framing === 'sse';
  if (res.destroyed) {
    proxyRes.destroy();
    return;
  }
  res.writeHead(status, proxyRes.statusMessage, clientResponseHeaders(proxyRes.rawHeaders, rewriting));
  exchange.responseStarted(status, proxyRes.headers);
  const observer = new ResponseObserver({
    dialect: exchange.route.provider.dialect,
    framing,
    hideInjectedUsage: rewriting,
    contentEncoding: proxyRes.headers['content-encoding'],
    maxBodyBytes: options.maxBodyBytes,
    timeJsonChunks: exchange.facts?.streaming === true && status < 400,
    onTelemetryError: options.services.telemetryError,
  });
  exchange.observer = observer;
  watchIdle(proxyRes, options.timeouts.idleMs, () => exchange.finish({ kind: 'upstream_failed', errorType: ERROR_TYPE.timeout }));

  proxyRes.on('data', (chunk: Buffer) => {
    const out = observer.forward(chunk);
    if (out.length > 0 && !res.write(out)) proxyRes.pause();
  });
  res.on('drain', () => proxyRes.resume());
  // A client that leaves mid-stream: sendUpstream destroys the upstream request, which ends proxyRes too.
  proxyRes.on('end', () => {
    const tail = observer.endOfBody();
    res.end(tail.length > 0 ? tail : undefined);
    exchange.finish({ kind: 'completed' });
  });
  proxyRes.on('error', () => {
    // The provider broke the stream: the client sees the same broken stream a direct call would.
    exchange.finish({ kind: 'upstream_failed', errorType: ERROR_TYPE.connectionError });
    res.destroy();
  });
  proxyRes.on('aborted', () => {
    exchange.finish({ kind: 'upstream_failed', errorType: ERROR_TYPE.connectionError });
    res.destroy();
  });
}

function failUpstream(error: Error, req: IncomingMessage, res: ServerResponse, route: Route, exchange: Exchange, rest: string): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (req.socket.destroyed || res.destroyed) {
    exchange.finish({ kind: 'cancelled' });
    return;
  }
  const timedOut = code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
  exchange.finish({ kind: 'upstream_failed', errorType: timedOut ? ERROR_TYPE.timeout : ERROR_TYPE.connectionError });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = timedOut ? 504 : 502;
  const body = JSON.stringify(upstreamErrorBody(route, status, code, rest.split('?')[0] ?? rest));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
