/**
 * A loopback stand-in for the npm registry's bulk advisory endpoint
 * (POST /-/npm/v1/security/advisories/bulk), so the real `npm audit` command can be run against
 * known advisories. Every other registry request (npm fetches packuments to compute fixes) gets 404.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

export interface FakeAdvisory {
  package: string;
  severity: 'low' | 'moderate' | 'high' | 'critical';
  title: string;
}

export interface FakeAuditEndpoint {
  /** Registry URL to pass as `--registry`. */
  url: string;
  /** Package names npm asked about (proves the audit looked at the production tree). */
  asked: Set<string>;
  close(): Promise<void>;
}

export async function startFakeAuditEndpoint(advisories: readonly FakeAdvisory[]): Promise<FakeAuditEndpoint> {
  const asked = new Set<string>();
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || !(req.url ?? '').includes('/-/npm/v1/security/advisories/bulk')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{}');
        return;
      }
      const raw = Buffer.concat(parts);
      const body = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw;
      for (const name of Object.keys(JSON.parse(body.toString('utf8')) as Record<string, unknown>)) asked.add(name);
      const answer: Record<string, unknown[]> = {};
      advisories.forEach((advisory, index) => {
        answer[advisory.package] = [
          {
            id: index + 1,
            url: `https://github.com/advisories/GHSA-fake-${index + 1}`,
            title: advisory.title,
            severity: advisory.severity,
            vulnerable_versions: '<999.0.0',
            cwe: [],
            cvss: { score: 0, vectorString: null },
          },
        ];
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    asked,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
