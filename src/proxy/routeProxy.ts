/**
 * The request handler for one route: read (and maybe rewrite) the request body, forward with
 * http-proxy-middleware over a keep-alive agent, and stream the response back through a
 * ResponseObserver. Provider knowledge stays behind the route's dialect.
 */
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { Route } from '../config/routes';
import { framingFor, ResponseObserver } from '../observe/responseObserver';
import { parseJson } from '../providers/json';
import type { RequestView } from '../providers/types';
import { ERROR_TYPE } from '../telemetry/names';
import { Exchange, type ExchangeServices } from './exchange';
import { clientResponseHeaders, stripHopByHop } from './headers';
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

const exchanges = new WeakMap<IncomingMessage, Exchange>();

export function createRouteProxy(route: Route, options: RouteProxyOptions): RequestHandler {
  const proxy = createProxyMiddleware<Request, Response>({
    target: route.target.href,
    changeOrigin: true,
    selfHandleResponse: true,
    xfwd: false,
    // No default plugins (their logger would log URLs); our one plugin wires the proxy events.
    ejectPlugins: true,
    agent: route.target.protocol === 'https:' ? options.agents.https : options.agents.http,
    plugins: [
      (proxyServer) => {
        proxyServer.on('proxyReq', (proxyReq, req) => {
          armRequestDeadlines(proxyReq, options.timeouts);
          prepareUpstreamRequest(proxyReq, req);
        });
        proxyServer.on('proxyRes', (proxyRes, req, res) => relayResponse(proxyRes, req, res, options));
        proxyServer.on('error', (error, req, res) => failUpstream(error, req, res, route));
      },
    ],
  });

  return (req: Request, res: Response, next: NextFunction): void => {
    const exchange = new Exchange(route, options.services, options.headerAttributes(req));
    exchanges.set(req, exchange);
    res.on('close', () => {
      if (!res.writableFinished) exchange.finish({ kind: 'cancelled' });
    });
    inspectRequest(req, exchange, options)
      .then(() => proxy(req, res, next))
      .catch((error: unknown) => next(error));
  };
}

async function inspectRequest(req: Request, exchange: Exchange, options: RouteProxyOptions): Promise<void> {
  const dialect = exchange.route.provider.dialect;
  let body: unknown;
  const plan = bodyPlan(req, options.maxBodyBytes);
  if (plan === 'too_large') options.services.telemetryError('request_too_large', undefined);
  if (plan === 'read') {
    const read = await readBody(req, options.maxBodyBytes);
    if (read.kind === 'complete') {
      exchange.upstreamBody = read.body;
      // The client already got its implicit 100-continue; upstream must not wait for another.
      delete req.headers.expect;
      body = parseJson(read.body.toString('utf8'));
    } else {
      options.services.telemetryError('request_too_large', undefined);
    }
  }
  try {
    const url = new URL(req.url, 'http://sidecar.invalid');
    const view: RequestView = { method: req.method, path: url.pathname, query: url.searchParams, body };
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

function prepareUpstreamRequest(proxyReq: ClientRequest, req: IncomingMessage): void {
  stripHopByHop(proxyReq.getHeaders(), (name) => proxyReq.removeHeader(name));
  const exchange = exchanges.get(req);
  if (!exchange?.upstreamBody) return;
  if (exchange.hideInjectedUsage) {
    // Usage chunks can only be removed from a readable stream, so ask for it uncompressed.
    proxyReq.setHeader('accept-encoding', 'identity');
  }
  proxyReq.setHeader('content-length', exchange.upstreamBody.length);
  proxyReq.write(exchange.upstreamBody);
}

function relayResponse(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse, options: RouteProxyOptions): void {
  const exchange = exchanges.get(req);
  const status = proxyRes.statusCode ?? 502;
  const framing = framingFor(status, proxyRes.headers['content-type']);
  const rewriting = exchange?.hideInjectedUsage === true && framing === 'sse';
  res.writeHead(status, proxyRes.statusMessage, clientResponseHeaders(proxyRes.rawHeaders, rewriting));
  if (!exchange) {
    proxyRes.pipe(res);
    return;
  }
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
  res.on('close', () => {
    if (!proxyRes.complete) proxyRes.destroy();
  });
}

function failUpstream(error: Error, req: IncomingMessage, res: ServerResponse | import('node:net').Socket, route: Route): void {
  const exchange = exchanges.get(req);
  const code = (error as NodeJS.ErrnoException).code;
  if (req.socket.destroyed) {
    exchange?.finish({ kind: 'cancelled' });
    return;
  }
  const timedOut = code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
  exchange?.finish({ kind: 'upstream_failed', errorType: timedOut ? ERROR_TYPE.timeout : ERROR_TYPE.connectionError });
  if (!('writeHead' in res)) {
    res.destroy();
    return;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = timedOut ? 504 : 502;
  const body = JSON.stringify(upstreamErrorBody(route, status, code));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
