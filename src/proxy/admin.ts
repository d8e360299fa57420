/**
 * Health endpoints and `/metrics` on their own port, so probes and scrapes never compete with (or
 * see) proxied traffic. `/readyz` turns false as soon as shutdown begins, before in-flight calls drain.
 *
 * In Kubernetes this port listens on the pod network for the kubelet's probes, so anything in
 * the cluster can reach it: it holds few connections, gives each a couple of seconds, and
 * answers only GET and HEAD.
 */
import http from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MetricsPage } from '../telemetry/pullEndpoint';

export interface Readiness {
  ready(): boolean;
}

export interface AdminLimits {
  /** Connections held at once; further ones are closed on arrival. */
  maxConnections: number;
}

export interface AdminEndpoints {
  /** `/metrics`; absent when metrics are only pushed. Gets the request's Accept header. */
  metrics?: (accept: string | undefined) => Promise<MetricsPage>;
  /** A scrape that failed (counted by the caller; the scraper gets a 500). */
  onMetricsError?: (error: unknown) => void;
}

/** A probe is one small request answered at once; the kubelet's default probe timeout is 1 s. */
const ADMIN_TIMEOUT_MS = 2_000;
const ALLOWED_METHODS = 'GET, HEAD';

export function createAdminServer(readiness: Readiness, limits: AdminLimits, endpoints: AdminEndpoints = {}): http.Server {
  const known = ['/healthz', '/readyz', ...(endpoints.metrics ? ['/metrics'] : [])];
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
      if (path === '/metrics' && endpoints.metrics) return void serveMetrics(req, res, endpoints.metrics, endpoints.onMetricsError);
      return reply(res, 404, { status: 'not found', endpoints: known });
    },
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/**
 * Writes the page slice by slice, letting the event loop run between slices (so proxied calls
 * are not held up by a large scrape) and waiting whenever the socket's buffer is full.
 */
async function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, page: NonNullable<AdminEndpoints['metrics']>, onError: AdminEndpoints['onMetricsError']): Promise<void> {
  try {
    const { contentType, slices, release } = await page(req.headers.accept);
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') return void res.end();
    for (const slice of slices) {
      if (res.destroyed) return;
      if (!res.write(slice, () => release(slice))) await drainedOrClosed(res);
      await nextTurn();
    }
    res.end();
  } catch (error) {
    onError?.(error);
    if (!res.headersSent) reply(res, 500, { status: 'metrics collection failed' });
    else res.destroy();
  }
}

/** The socket's buffer drained, or the scraper went away mid-page; both listeners removed after. */
function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function reply(res: http.ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extra });
  res.end(text);
}
