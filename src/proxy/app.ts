/**
 * The proxy's request handler: `/<route>/<rest>` goes to that route's upstream, anything else
 * gets a JSON error. There is no other way in: the target of every request is fixed by its route,
 * and the route table is a Map built once.
 */
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import type { Route } from '../config/routes';
import type { ExchangeServices } from './exchange';
import { forwardOnRoute, type RouteProxyOptions } from './routeProxy';
import { notAForwardProxyBody, unknownRouteBody, type SidecarErrorBody } from './upstreamErrors';

export interface ProxyAppOptions {
  routes: readonly Route[];
  maxBodyBytes: number;
  /** Keep-alive pool to every upstream, with the configured deadlines (see createUpstreamPool). */
  upstreamPool: Pick<Dispatcher, 'dispatch'>;
  services: ExchangeServices;
  headerAttributes: (req: http.IncomingMessage) => Record<string, string>;
}

export type ProxyHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function createProxyApp(options: ProxyAppOptions): ProxyHandler {
  const routes = new Map(options.routes.map((route) => [route.name, route]));
  const forwarding: RouteProxyOptions = {
    maxBodyBytes: options.maxBodyBytes,
    services: options.services,
    headerAttributes: options.headerAttributes,
    upstreamPool: options.upstreamPool,
  };
  return (req, res) => {
    const url = req.url ?? '/';
    // Absolute-form targets (`GET http://host/...`) are for forward proxies; this is not one.
    if (!url.startsWith('/')) return reply(res, 400, notAForwardProxyBody());
    const { name, rest } = splitRoute(url);
    const route = routes.get(name);
    if (!route) return reply(res, 404, unknownRouteBody(url, options.routes));
    forwardOnRoute(route, rest, req, res, forwarding);
  };
}

/** `/openai/v1/chat?x` -> name `openai`, rest `/v1/chat?x`; `/openai?x` -> rest `/?x`. */
export function splitRoute(url: string): { name: string; rest: string } {
  let end = 1;
  while (end < url.length && url[end] !== '/' && url[end] !== '?') end += 1;
  const name = url.slice(1, end);
  const rest = url.slice(end);
  return { name, rest: rest.startsWith('/') ? rest : `/${rest}` };
}

function reply(res: http.ServerResponse, status: number, body: SidecarErrorBody): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
