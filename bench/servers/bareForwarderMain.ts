/**
 * The floor of what a forwarder costs on Node, as a process of its own: node:http server, undici
 * keep-alive pool (the sidecar's two runtime pieces, same versions, same node flags), and nothing
 * else: no body read, no provider modules, no observer, no telemetry. The sidecar's figures minus
 * this one are what the sidecar's own work costs; this one minus nginx's is what Node costs.
 *
 * Usage: node bareForwarderMain.js <port> <route>=<origin> [<route>=<origin> ...]
 * `/<route>/<rest>` goes to `<origin><rest>`; `/readyz` answers 200 once listening.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Agent, Dispatcher } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection']);

function parseRoutes(specs: readonly string[]): Map<string, URL> {
  const routes = new Map<string, URL>();
  for (const spec of specs) {
    const at = spec.indexOf('=');
    if (at <= 0) throw new Error(`bad route "${spec}": expected <route>=<origin>`);
    routes.set(spec.slice(0, at), new URL(spec.slice(at + 1)));
  }
  return routes;
}

/** Hop-by-hop headers dropped; `host` set to the upstream's on requests (`host` given). */
function forwardedHeaders(headers: IncomingHttpHeaders, host?: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = host === undefined ? {} : { host };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'host' || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function main(): void {
  const [portText, ...routeSpecs] = process.argv.slice(2);
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad port "${portText}"`);
  const routes = parseRoutes(routeSpecs);
  const AgentClass = require('undici/lib/dispatcher/agent.js') as typeof Agent;
  const pool = new AgentClass({ connections: 512, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const url = req.url ?? '/';
    if (url === '/readyz') return void res.writeHead(200).end('ready');
    const slash = url.indexOf('/', 1);
    const target = routes.get(slash === -1 ? url.slice(1) : url.slice(1, slash));
    if (!target || slash === -1) return void res.writeHead(404).end();
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const handler: Dispatcher.DispatchHandler = {
      // Present so undici takes this for its current handler interface.
      onRequestStart: () => undefined,
      onResponseStart: (_controller, status, headers) => {
        res.writeHead(status, forwardedHeaders(headers));
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
        headers: forwardedHeaders(req.headers, target.host),
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
