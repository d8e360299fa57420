/**
 * Health endpoints on their own port, so probes never compete with (or see) proxied traffic.
 * `/readyz` turns false as soon as shutdown begins, before in-flight calls drain.
 *
 * In Kubernetes this port listens on the pod network for the kubelet's probes, so anything in
 * the cluster can reach it: it holds few connections, gives each a couple of seconds, and
 * answers only GET and HEAD.
 */
import http from 'node:http';

export interface Readiness {
  ready(): boolean;
}

export interface AdminLimits {
  /** Connections held at once; further ones are closed on arrival. */
  maxConnections: number;
}

/** A probe is one small request answered at once; the kubelet's default probe timeout is 1 s. */
const ADMIN_TIMEOUT_MS = 2_000;
const ALLOWED_METHODS = 'GET, HEAD';

export function createAdminServer(readiness: Readiness, limits: AdminLimits): http.Server {
  const server = http.createServer(
    {
      headersTimeout: ADMIN_TIMEOUT_MS,
      requestTimeout: ADMIN_TIMEOUT_MS,
      keepAliveTimeout: ADMIN_TIMEOUT_MS,
      connectionsCheckingInterval: ADMIN_TIMEOUT_MS / 4,
      maxHeaderSize: 8 * 1024,
    },
    (req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        // Nothing here reads a body; closing the connection leaves any body unread.
        return reply(res, 405, { status: 'method not allowed', allow: ['GET', 'HEAD'] }, { allow: ALLOWED_METHODS, connection: 'close' });
      }
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') return reply(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        const ready = readiness.ready();
        return reply(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
      }
      return reply(res, 404, { status: 'not found', endpoints: ['/healthz', '/readyz'] });
    },
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

function reply(res: http.ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extra });
  res.end(text);
}
