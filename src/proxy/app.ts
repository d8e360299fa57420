/**
 * The proxy's HTTP surface: one mount per configured route, and a JSON 404 for anything else.
 * There is no other way in: the target of every request is fixed by its route.
 */
import http from 'node:http';
import https from 'node:https';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Route } from '../config/routes';
import type { Logger } from '../log/logger';
import type { ExchangeServices } from './exchange';
import { createRouteProxy } from './routeProxy';
import type { UpstreamTimeouts } from './upstreamTimeouts';
import { notAForwardProxyBody, unknownRouteBody } from './upstreamErrors';

export interface ProxyAppOptions {
  routes: readonly Route[];
  maxBodyBytes: number;
  timeouts: UpstreamTimeouts;
  services: ExchangeServices;
  headerAttributes: (req: http.IncomingMessage) => Record<string, string>;
  logger: Logger;
}

export function createUpstreamAgents(): { http: http.Agent; https: https.Agent } {
  // Keep-alive pools: a TLS handshake per LLM call would add tens of milliseconds.
  const options = { keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' as const };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

export function createProxyApp(options: ProxyAppOptions, agents = createUpstreamAgents()): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req: Request, res: Response, next: NextFunction) => {
    // Absolute-form targets (`GET http://host/...`) are for forward proxies; this is not one.
    if (!req.url.startsWith('/')) {
      res.status(400).json(notAForwardProxyBody());
      return;
    }
    next();
  });
  for (const route of options.routes) {
    app.use(
      `/${route.name}`,
      createRouteProxy(route, {
        maxBodyBytes: options.maxBodyBytes,
        timeouts: options.timeouts,
        services: options.services,
        headerAttributes: options.headerAttributes,
        agents,
      }),
    );
  }
  app.use((req: Request, res: Response) => {
    res.status(404).json(unknownRouteBody(req.path, options.routes));
  });
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    options.logger.warn('request failed before reaching the upstream', { error: error.name });
    if (!res.headersSent) res.status(400).json({ type: 'error', error: { type: 'genai_sidecar_bad_request', code: 'bad_request', message: 'genai-sidecar: the request could not be read' } });
    else res.destroy();
  });
  return app;
}
