/**
 * A pass-through HTTP hop on 127.0.0.1:0 that counts the request bodies going through it (the
 * OTLP a sidecar sends, the remote write a collector sends) and keeps the last one. Without a
 * target it is a sink that answers 204, as a remote-write receiver that kept everything would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountedBody {
  bytes: number;
  /** Content-Encoding as sent ('' for none). */
  encoding: string;
  body: Buffer;
}

export interface CountingProxy {
  url: string;
  /** Requests and body bytes (as sent, compressed or not) since the start. */
  totals(): { requests: number; bytes: number; failed: number };
  /** The most recent request body, when `keepLast`. */
  last(): CountedBody | undefined;
  /** Requests being relayed now, and milliseconds since the hop last had one. */
  activity(): { inFlight: number; idleMs: number };
  close(): Promise<void>;
}

export async function startCountingProxy(options: { target?: string; keepLast?: boolean }): Promise<CountingProxy> {
  let requests = 0;
  let bytes = 0;
  let failed = 0;
  let last: CountedBody | undefined;
  let inFlight = 0;
  let lastActive = performance.now();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const server = http.createServer((req, res) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
      lastActive = performance.now();
    });
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      requests += 1;
      bytes += body.length;
      if (options.keepLast) last = { bytes: body.length, encoding: String(req.headers['content-encoding'] ?? ''), body };
      if (options.target === undefined) {
        res.writeHead(204).end();
        return;
      }
      const target = new URL(req.url ?? '/', options.target);
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      delete headers.connection;
      const upstream = http.request(target, { method: req.method, headers, agent, timeout: 30_000 }, (answer) => {
        if ((answer.statusCode ?? 500) >= 300) failed += 1;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('timeout', () => upstream.destroy(new Error('upstream timed out')));
      upstream.on('error', () => {
        failed += 1;
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    totals: () => ({ requests, bytes, failed }),
    last: () => last,
    activity: () => ({ inFlight, idleMs: inFlight > 0 ? 0 : performance.now() - lastActive }),
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
