/**
 * The proxy's request handler: `/<route>/<rest>` goes to that route's upstream, anything else
 * gets a JSON error. There is no other way in: the target of every request is fixed by its route,
 * and the route table is a Map built once.
 */
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import type { AwsRequestSigner } from '../aws/sigv4';
import type { Route } from '../config/routes';
import type { ExchangeServices } from './exchange';
import { forwardOnRoute, type RouteProxyOptions } from './routeProxy';
import { resolveRoutePath } from './routePath';
import { invalidPathBody, notAForwardProxyBody, unknownRouteBody } from './upstreamErrors';

export interface ProxyAppOptions {
  routes: readonly Route[];
  maxBodyBytes: number;
  /** Keep-alive pool to every upstream, with the configured deadlines (see createUpstreamPool). */
  upstreamPool: Pick<Dispatcher, 'dispatch'>;
  /** Signers of the routes whose requests the sidecar signs again (Bedrock), by route name. */
  signers?: ReadonlyMap<string, AwsRequestSigner>;
  services: ExchangeServices;
  headerAttributes: (req: http.IncomingMessage) => Record<string, string>;
  /** Told of every request the app answers itself with 400/404 (for the refusal log; no request bytes). */
  onRefused?: (status: number, reason: string, route: string | undefined) => void;
}

export type ProxyHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function createProxyApp(options: ProxyAppOptions): ProxyHandler {
  const routes = new Map(options.routes.map((route) => [route.name, route]));
  const forwarding: RouteProxyOptions = {
    maxBodyBytes: options.maxBodyBytes,
    services: options.services,
    headerAttributes: options.headerAttributes,
    upstreamPool: options.upstreamPool,
    ...(options.signers ? { signers: options.signers } : {}),
  };
  const refused = options.onRefused ?? ((): void => undefined);
  return (req, res) => {
    const url = req.url ?? '/';
    // Absolute-form targets (`GET http://host/...`) are for forward proxies; this is not one.
    if (!url.startsWith('/')) {
      refused(400, 'absolute_form_target', undefined);
      return reply(res, 400, notAForwardProxyBody());
    }
    const { name, rest } = splitRoute(url);
    const route = routes.get(name);
    if (!route) {
      refused(404, 'unknown_route', undefined);
      return reply(res, 404, unknownRouteBody(url, options.routes));
    }
    // Resolved here, so the dialect, the error answers and the upstream all see the same path.
    const path = resolveRoutePath(rest);
    if (!path.ok) {
      refused(400, path.refusal, route.name);
      return reply(res, 400, invalidPathBody(route, path.refusal, rest.split(/[?#]/)[0] ?? rest));
    }
    forwardOnRoute(route, path.target, req, res, forwarding);
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

/** `body` is the sidecar's own error shape or a route's API error shape (see upstreamErrors). */
function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
