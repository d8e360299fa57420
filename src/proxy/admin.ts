/**
 * Health endpoints on their own port, so probes never compete with (or see) proxied traffic.
 * `/readyz` turns false as soon as shutdown begins, before in-flight calls drain.
 */
import http from 'node:http';

export interface Readiness {
  ready(): boolean;
}

export function createAdminServer(readiness: Readiness): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return reply(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const ready = readiness.ready();
      return reply(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
    }
    return reply(res, 404, { status: 'not found', endpoints: ['/healthz', '/readyz'] });
  });
}

function reply(res: http.ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
