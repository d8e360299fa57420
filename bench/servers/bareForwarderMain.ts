/**
 * The floor of what a forwarder costs on Node, as a process of its own: node:http server, the
 * sidecar's own upstream pool (undici, same settings and default deadlines) and hop-by-hop header
 * rules, same node flags, and nothing else: no body read, no provider modules, no observer, no
 * telemetry. The sidecar's figures minus this one are what the sidecar's own work costs; this one
 * minus nginx's is what Node costs.
 *
 * Usage: node bareForwarderMain.js <sidecar dist/src dir> <port> <route>=<origin> [...]
 * `/<route>/<rest>` goes to `<origin><rest>`; `/readyz` answers 200 once listening.
 */
import http from 'node:http';
import path from 'node:path';
import type { Dispatcher } from 'undici';

/**
 * The parts of the compiled sidecar used here, loaded at run time from its dist/src (the bench
 * compiles apart from src/, as for its node flags in ./sidecar). Both modules load nothing else.
 */
interface SidecarHeaders {
  upstreamRequestHeaders(rawHeaders: readonly string[], host: string, options: { contentLength?: number; identityEncoding: boolean }): string[];
  clientResponseHeaders(rawHeaders: readonly string[], dropContentLength: boolean): string[];
  rawHeaderStrings(raw: Dispatcher.DispatchController['rawHeaders']): string[];
}
interface SidecarPool {
  DEFAULT_UPSTREAM_TIMEOUTS: unknown;
  createUpstreamPool(timeouts: unknown): Pick<Dispatcher, 'dispatch'> & { warm(): void; destroy(): Promise<void> };
}

function parseRoutes(specs: readonly string[]): Map<string, URL> {
  const routes = new Map<string, URL>();
  for (const spec of specs) {
    const at = spec.indexOf('=');
    if (at <= 0) throw new Error(`bad route "${spec}": expected <route>=<origin>`);
    routes.set(spec.slice(0, at), new URL(spec.slice(at + 1)));
  }
  return routes;
}

function main(): void {
  const [sidecarDir, portText, ...routeSpecs] = process.argv.slice(2);
  if (sidecarDir === undefined) throw new Error('usage: bareForwarderMain.js <sidecar dist/src dir> <port> <route>=<origin> ...');
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad port "${portText}"`);
  const routes = parseRoutes(routeSpecs);
  const headers = require(path.join(sidecarDir, 'proxy', 'headers.js')) as SidecarHeaders;
  const { createUpstreamPool, DEFAULT_UPSTREAM_TIMEOUTS } = require(path.join(sidecarDir, 'proxy', 'upstreamPool.js')) as SidecarPool;
  const pool = createUpstreamPool(DEFAULT_UPSTREAM_TIMEOUTS);
  pool.warm();

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const url = req.url ?? '/';
    if (url === '/readyz') return void res.writeHead(200).end('ready');
    // The sidecar's splitRoute lives in a module that loads all of the sidecar; this is its plain case.
    const slash = url.indexOf('/', 1);
    const target = routes.get(slash === -1 ? url.slice(1) : url.slice(1, slash));
    if (!target || slash === -1) return void res.writeHead(404).end();
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const handler: Dispatcher.DispatchHandler = {
      // Present so undici takes this for its current handler interface.
      onRequestStart: () => undefined,
      onResponseStart: (controller, status) => {
        res.writeHead(status, headers.clientResponseHeaders(headers.rawHeaderStrings(controller.rawHeaders), false));
      },
      onResponseData: (controller, chunk) => {
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd: () => res.end(),
      onResponseError: () => res.destroy(),
    };
    pool.dispatch(
      {
        origin: target.origin,
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        path: url.slice(slash),
        headers: headers.upstreamRequestHeaders(req.rawHeaders, target.host, { identityEncoding: false }),
        body: hasBody ? req : undefined,
      },
      handler,
    );
  });
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => void pool.destroy().finally(() => process.exit(0)));
  });
}

main();
