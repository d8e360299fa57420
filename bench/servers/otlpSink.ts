/**
 * A local OTLP/HTTP metrics receiver that accepts and discards `/v1/metrics`, so the sidecar
 * runs with metrics on and pays its real export cost. Counts exports, to prove they happened.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  url: string;
  exports(): { requests: number; bytes: number };
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/metrics') {
      res.writeHead(404).end();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      requests += 1;
      // An empty body is a valid, empty ExportMetricsServiceResponse in both encodings' terms.
      const json = (req.headers['content-type'] ?? '').includes('json');
      const body = json ? '{}' : '';
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf', 'content-length': body.length });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => ({ requests, bytes }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
